package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/validate"
)

func init() { addCommand(newValidateCmd) }

func newValidateCmd(env *Env) *cobra.Command {
	var (
		flags  hostFlags
		format string
	)
	cmd := &cobra.Command{
		Use:   "validate [--config onex.yaml] [--mode M] [--format text|json|sarif|github] [--registry URL | PATH...]",
		Short: "Discover and validate handler contracts without starting anything",
		Long: `Validate discovers the handlers of a mode (contract paths, bootstrap table or
both), validates every contract and descriptor, and runs the registration
checks the host runs at startup (security and architecture rules, bootstrap
hardening). PATHs are contract files or directories; they replace the
contract_paths of onex.yaml. With --registry URL the contracts come from that
registry index instead: every document is fetched, checked against its pinned
sha256 digest and validated like a file (the disk cache is not used). Nothing
is written.

Exit status: 0 when nothing blocks, 1 on any blocking error, 2 on usage errors.`,
		RunE: func(cmd *cobra.Command, paths []string) error {
			f, err := diag.ParseFormat(format)
			if err != nil {
				return UsageErrorf("--format: %v", err)
			}
			flags.contracts = paths
			report, err := runValidate(cmd, env, &flags)
			if err != nil {
				return err
			}
			tool := diag.DefaultTool
			tool.Version = VersionString()
			if err := diag.Render(env.Stdout, report, f, tool); err != nil {
				return err
			}
			if report.Blocking() {
				return Exit(ExitFailure)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&flags.config, "config", "", "onex.yaml to read (default: built-in defaults)")
	cmd.Flags().StringVar(&flags.mode, "mode", "", "handler source mode: contract, bootstrap, hybrid or registry (default: the config's, else contract)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json, sarif or github")
	flags.registerRegistry(cmd)
	return cmd
}

// runValidate collects every diagnostic the host would report before starting:
// configuration, discovery, per-contract checks, the bootstrap hardening rule
// and the set-level registration checks. A usage error is returned as error.
func runValidate(cmd *cobra.Command, env *Env, flags *hostFlags) (*diag.Report, error) {
	setup, report, err := loadSetup(flags)
	if err != nil {
		return nil, err
	}
	if setup == nil || report.Blocking() {
		return report, nil
	}
	// Validation reports what the registry serves now and writes nothing: no
	// disk cache to fall back on or to fill.
	setup.source.Registry.CacheDir = ""
	report.Add(setup.source.BootstrapAllowed(setup.policy.Environment.Name, time.Now()))
	src, verr := setup.handlerSource(env)
	if verr != nil {
		report.Add(verr)
		return report, nil
	}
	descs, errs, err := src.Discover(cmd.Context())
	if err != nil {
		return nil, fmt.Errorf("discovery stopped: %w", err)
	}
	report.Add(errs...)
	report.Merge(validate.Set(descs, setup.validators...))
	return report, nil
}
