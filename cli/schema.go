package cli

import (
	"github.com/spf13/cobra"

	"github.com/onexhost/onex/contract"
)

func init() { addCommand(newSchemaCmd) }

func newSchemaCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of handler_contract.yaml",
		Long: `Schema prints the JSON Schema (draft 2020-12) of handler_contract.yaml. Save it
and point editors at it, e.g. with the modeline
  # yaml-language-server: $schema=./handler_contract.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := env.Stdout.Write(contract.Schema())
			return err
		},
	}
}
