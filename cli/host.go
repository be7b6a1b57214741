package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/policy"
	"github.com/onexhost/onex/runtime"
	"github.com/onexhost/onex/source"
	"github.com/onexhost/onex/validate"
)

// hostFlags are the flags of the commands that resolve a host's handlers.
type hostFlags struct {
	config    string
	mode      string
	contracts []string
	registry  string // --registry: mode registry with this index URL
}

func (f *hostFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.config, "config", "", "onex.yaml to read (default: built-in defaults)")
	cmd.Flags().StringVar(&f.mode, "mode", "", "handler source mode: contract, bootstrap, hybrid or registry (default: the config's, else contract)")
	cmd.Flags().StringArrayVar(&f.contracts, "contracts", nil, "contract file or directory (repeatable; replaces handler_source.contract_paths)")
	f.registerRegistry(cmd)
}

func (f *hostFlags) registerRegistry(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.registry, "registry", "", "registry index URL (implies --mode registry; replaces handler_source.registry.url)")
}

// hostSetup is a host's configuration resolved from onex.yaml and the flags:
// the shared wiring of config → source → policy → bus → host.
type hostSetup struct {
	file       *config.File
	source     source.Config
	runtime    runtime.Config
	bus        busSection
	policy     policy.Config
	validators []validate.Validator
	observe    observability    // admin, ingress and tracing sections
	tel        *telemetrySetup  // set by startTelemetry (onex run)
	enforcer   *policy.Enforcer // set by newHost; closed by closePolicy
}

// loadSetup reads and checks every section a host needs. A usage error (a bad
// flag value) is returned as error; configuration problems are in the report.
func loadSetup(flags *hostFlags) (*hostSetup, *diag.Report, error) {
	var mode handler.SourceType
	if flags.mode != "" {
		m, err := handler.ParseSourceType(flags.mode)
		if err != nil {
			return nil, nil, UsageErrorf("--mode: %v", err)
		}
		mode = m
	}
	if flags.registry != "" {
		if mode != "" && mode != handler.SourceRegistry {
			return nil, nil, UsageErrorf("--registry reads the handlers from a registry: it cannot be combined with --mode %s", mode)
		}
		if len(flags.contracts) > 0 {
			return nil, nil, UsageErrorf("--registry reads the handlers from a registry: it cannot be combined with contract paths")
		}
		mode = handler.SourceRegistry
	}
	report := &diag.Report{}
	f, errs := config.Load(flags.config)
	report.Add(errs...)
	if f == nil {
		return nil, report, nil
	}
	s := &hostSetup{file: f}
	s.source, errs = source.LoadConfig(f)
	report.Add(errs...)
	if mode != "" {
		s.source.Mode = mode
	}
	if len(flags.contracts) > 0 {
		s.source.ContractPaths = flags.contracts
	}
	if flags.registry != "" {
		s.source.Registry.URL = flags.registry
	}
	if mode != "" || len(flags.contracts) > 0 {
		report.Add(s.source.Validate(nil)...)
	}
	s.runtime, errs = runtime.LoadConfig(f)
	report.Add(errs...)
	s.bus, errs = loadBusSection(f, &s.runtime)
	report.Add(errs...)
	s.policy, errs = policy.LoadConfig(f)
	report.Add(errs...)
	if len(errs) > 0 {
		s.policy.Environment = policy.DefaultEnvironment(handler.EnvDevelopment)
	}
	s.validators = registrationValidators(f, s.policy.Environment, report)
	s.loadObservability(f, report)
	return s, report, nil
}

// handlerSource builds the configured source.
func (s *hostSetup) handlerSource(env *Env) (source.HandlerSource, *diag.ValidationError) {
	src, err := source.FromConfig(s.source, env.Logger)
	if err != nil {
		var ve *diag.ValidationError
		if errors.As(err, &ve) {
			return nil, ve
		}
		return nil, diag.New(ruleid.RuntimeConfig, "%v", err)
	}
	return src, nil
}

// newHost builds the host: source, policy enforcer, bus. Once it succeeded,
// closePolicy must run after the host stopped (or failed to start).
func (s *hostSetup) newHost(env *Env) (*runtime.Host, *diag.ValidationError) {
	src, verr := s.handlerSource(env)
	if verr != nil {
		return nil, verr
	}
	b, err := s.bus.open(env.Logger)
	if err != nil {
		return nil, diag.New(ruleid.RuntimeConfig, "%v", err)
	}
	if s.tel != nil {
		s.tel.bus = b
	}
	enforcer := policy.New(policy.Options{Environment: s.policy.Environment, Secrets: s.policy.Secrets, Logger: env.Logger, OnDenial: s.tel.onDenial()})
	s.enforcer = enforcer
	return runtime.New(src, s.validators, enforcer, b, env.Logger, runtime.Options{
		Config:      s.runtime,
		Environment: s.policy.Environment.Name,
		Source:      s.source,
		Guard:       runtime.Breakers(s.runtime.CircuitBreaker),
		Observer:    s.tel.observer(),
		OnReload:    s.tel.onReload(),
	}), nil
}

// closePolicy releases what the policy enforcer holds (the granted HTTP
// clients' idle connections, secret providers such as a Vault client) once
// the host's handlers are closed: the host no longer uses them.
func (s *hostSetup) closePolicy(env *Env) {
	if s.enforcer == nil {
		return
	}
	if err := s.enforcer.Close(); err != nil {
		env.Logger.Warn("closing the policy enforcer", "error", err.Error())
	}
	s.enforcer = nil
}

// printReport renders a blocking report as text, then its one-line summary.
func printReport(w io.Writer, r *diag.Report) {
	if err := diag.Render(w, r, diag.FormatText, diag.DefaultTool); err != nil {
		fmt.Fprintf(w, "onex: %v\n", err)
	}
}
