package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex/contract"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/validate"
)

func init() { addCommand(newContractCmd) }

func newContractCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "contract",
		Short: "Work with handler contracts",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newContractInitCmd(env))
	return cmd
}

func newContractInitCmd(env *Env) *cobra.Command {
	var tmpl, name, importPath string
	cmd := &cobra.Command{
		Use:   "init --template compute|effect|effect-adapter --name NAME [DIR]",
		Short: "Write a new handler_contract.yaml from a template",
		Long: `Init writes DIR/handler_contract.yaml (DIR defaults to the current directory,
and is created when missing) from a template:

  compute         a pure, deterministic handler (no I/O, no secrets)
  effect          a side-effecting handler with an explicit domain allowlist
  effect-adapter  an effect handler at the edge, with the adapter policy

It never overwrites an existing file. The generated contract is validated
against the handler factories of this binary and any problem is printed.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if tmpl == "" || name == "" {
				return UsageErrorf("--template and --name are required (templates: %s)", strings.Join(contract.Templates, ", "))
			}
			data, err := contract.Template(tmpl, contract.TemplateOptions{Name: name, ImportPath: importPath})
			if err != nil {
				return UsageErrorf("%v", err)
			}
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			path := filepath.Join(dir, contract.FileName)
			if err := writeNew(dir, path, data); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "wrote %s\n", path)
			report := checkGenerated(path, data)
			if report.Len() > 0 {
				fmt.Fprintln(env.Stderr, "the contract does not validate in this binary yet:")
				return diag.RenderText(env.Stderr, report)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&tmpl, "template", "", "template: "+strings.Join(contract.Templates, ", "))
	cmd.Flags().StringVar(&name, "name", "", "handler name (handler_identity.name), e.g. partner-api")
	cmd.Flags().StringVar(&importPath, "import-path", "", "factory import path to use instead of the template's")
	return cmd
}

// writeNew creates path exclusively: an existing contract is never overwritten.
func writeNew(dir, path string, data []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: not overwriting it", path)
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// checkGenerated decodes and validates a generated contract as discovery would.
func checkGenerated(path string, data []byte) *diag.Report {
	r := &diag.Report{}
	c, errs := contract.Decode(path, data)
	r.Add(errs...)
	if c != nil {
		r.Add(validate.Descriptor(c.Descriptor())...)
	}
	r.Sort()
	return r
}
