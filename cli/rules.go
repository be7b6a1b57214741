package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex/diag"
)

func init() { addCommand(newRulesCmd) }

func newRulesCmd(env *Env) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Print the rule catalog: id, error type, severity, title, remediation",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			rules := diag.Rules()
			switch format {
			case "json":
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Rules []diag.Rule `json:"rules"`
				}{rules})
			case "table":
				tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tTYPE\tSEVERITY\tTITLE\tREMEDIATION")
				for _, r := range rules {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.ErrorType, r.Severity, r.Title, r.Remediation)
				}
				return tw.Flush()
			}
			return UsageErrorf("--format: unknown format %q (valid: table, json)", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}
