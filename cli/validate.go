package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/policy"
	"github.com/onexhost/onex/source"
	"github.com/onexhost/onex/validate"
)

func init() { addCommand(newValidateCmd) }

func newValidateCmd(env *Env) *cobra.Command {
	var configPath, mode, format string
	cmd := &cobra.Command{
		Use:   "validate [--config onex.yaml] [--mode M] [--format text|json|sarif|github] [PATH...]",
		Short: "Discover and validate handler contracts without starting anything",
		Long: `Validate discovers the handlers of a mode (contract paths, bootstrap table or
both), validates every contract and descriptor, and runs the registration
checks the host runs at startup. PATHs are contract files or directories; they
replace the contract_paths of onex.yaml. Nothing is written.

Exit status: 0 when nothing blocks, 1 on any blocking error, 2 on usage errors.`,
		RunE: func(cmd *cobra.Command, paths []string) error {
			f, err := diag.ParseFormat(format)
			if err != nil {
				return UsageErrorf("--format: %v", err)
			}
			var modeFlag handler.SourceType
			if mode != "" {
				if modeFlag, err = handler.ParseSourceType(mode); err != nil {
					return UsageErrorf("--mode: %v", err)
				}
			}
			report, err := runValidate(cmd, env, configPath, modeFlag, paths)
			if err != nil {
				return err
			}
			if err := diag.Render(env.Stdout, report, f, diag.Tool{Name: diag.DefaultTool.Name, Version: VersionString(), InformationURI: diag.DefaultTool.InformationURI}); err != nil {
				return err
			}
			if report.Blocking() {
				return Exit(ExitFailure)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "onex.yaml to read handler_source, bootstrap and environment from")
	cmd.Flags().StringVar(&mode, "mode", "", "handler source mode: contract, bootstrap, hybrid or registry (default: the config's, else contract)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json, sarif or github")
	return cmd
}

// runValidate collects every diagnostic: configuration, discovery, per-contract
// and set-level registration checks, and the bootstrap hardening rule.
func runValidate(cmd *cobra.Command, env *Env, configPath string, mode handler.SourceType, paths []string) (*diag.Report, error) {
	report := &diag.Report{}
	f, errs := config.Load(configPath)
	report.Add(errs...)
	if f == nil {
		return report, nil
	}
	cfg, errs := source.LoadConfig(f)
	report.Add(errs...)
	if mode != "" {
		cfg.Mode = mode
	}
	if len(paths) > 0 {
		cfg.ContractPaths = paths
	}
	if len(errs) > 0 {
		return report, nil
	}
	environment, errs := policy.LoadEnvironment(f)
	report.Add(errs...)
	if len(errs) > 0 {
		environment = policy.DefaultEnvironment(handler.EnvDevelopment)
	}
	report.Add(cfg.BootstrapAllowed(environment.Name, time.Now()))

	src, err := source.FromConfig(cfg, env.Logger)
	if err != nil {
		var ve *diag.ValidationError
		if !errors.As(err, &ve) {
			return nil, err
		}
		report.Add(ve)
		return report, nil
	}
	descs, errs, err := src.Discover(cmd.Context())
	if err != nil {
		return nil, fmt.Errorf("discovery stopped: %w", err)
	}
	report.Add(errs...)
	report.Merge(validate.Set(descs, registrationValidators(f, environment, report)...))
	return report, nil
}
