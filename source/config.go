package source

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/suggest"
)

// DefaultContractPath is where the contract source looks when no contract_paths
// are configured, relative to the configuration file's directory.
const DefaultContractPath = "./contracts"

// Config is the handler_source section of onex.yaml, together with the bootstrap
// section (the configuration of the built-in handlers). Build it with
// DefaultConfig or LoadConfig; flags may then override Mode and ContractPaths.
type Config struct {
	// Mode selects the source: contract (the default), bootstrap, hybrid or
	// registry.
	Mode handler.SourceType
	// ContractPaths are the files and directories of the contract source, already
	// resolved against the configuration file's directory.
	ContractPaths []string
	// AllowBootstrapOverride permits a mode that uses bootstrap descriptors in the
	// production environment.
	AllowBootstrapOverride bool
	// BootstrapExpiresAt, when not zero, is the instant after which the host
	// refuses a mode that uses bootstrap descriptors, in every environment.
	BootstrapExpiresAt time.Time
	// Bootstrap configures the built-in handlers, by bootstrap table name.
	Bootstrap Overrides
	// Registry configures the registry source (handler_source.registry).
	Registry RegistryConfig

	file *config.File // locates errors in onex.yaml; nil for defaults
}

// Overrides configure the built-in handlers of the bootstrap table, keyed by
// handler name (db, http, consul, vault).
type Overrides map[string]Override

// Override is the configuration one built-in handler takes from onex.yaml. A nil
// slice leaves the table's default in place; an empty one replaces it.
type Override struct {
	// Config is the handler's config object (secret references kept as-is).
	Config json.RawMessage
	// AllowedDomains replaces the (empty) default allowlist.
	AllowedDomains []string
	// SecretScopes replaces the default secret scopes.
	SecretScopes []string
	// DataClassification replaces the default classification when set.
	DataClassification handler.Classification

	// file and locations place errors about the override in onex.yaml, under
	// descriptor field paths ("config", "security.allowed_domains[0]", …).
	file      string
	locations map[string]handler.Location
}

// DefaultConfig is the configuration of a host started without onex.yaml.
func DefaultConfig() Config {
	return Config{Mode: handler.SourceContract, ContractPaths: []string{DefaultContractPath}, Registry: DefaultRegistryConfig()}
}

// UsesBootstrap reports whether the mode uses bootstrap descriptors.
func (c Config) UsesBootstrap() bool {
	return c.Mode == handler.SourceBootstrap || c.Mode == handler.SourceHybrid
}

// fileSection is the handler_source section as written in onex.yaml.
type fileSection struct {
	Mode                   string         `yaml:"mode"`
	ContractPaths          []string       `yaml:"contract_paths"`
	AllowBootstrapOverride bool           `yaml:"allow_bootstrap_override"`
	BootstrapExpiresAt     string         `yaml:"bootstrap_expires_at"`
	Registry               RegistryConfig `yaml:"registry"`
}

// fileOverride is one entry of the bootstrap section as written in onex.yaml.
type fileOverride struct {
	Config   map[string]any `yaml:"config"`
	Security *struct {
		AllowedDomains     []string `yaml:"allowed_domains"`
		SecretScopes       []string `yaml:"secret_scopes"`
		DataClassification string   `yaml:"data_classification"`
	} `yaml:"security"`
}

// LoadConfig decodes the handler_source and bootstrap sections of f (every key
// optional), resolves relative contract paths against f's directory, and
// validates the result. Every problem is a located RUNTIME-002 naming the key.
func LoadConfig(f *config.File) (Config, []*diag.ValidationError) {
	if f == nil {
		f = config.Empty()
	}
	cfg := DefaultConfig()
	cfg.file = f
	raw := fileSection{Mode: string(handler.SourceContract), ContractPaths: []string{DefaultContractPath}, Registry: DefaultRegistryConfig()}
	errs := f.Decode("handler_source", &raw)
	var overrides map[string]fileOverride
	errs = append(errs, f.Decode("bootstrap", &overrides)...)
	if len(errs) > 0 {
		return cfg, errs
	}

	mode, err := handler.ParseSourceType(raw.Mode)
	if err != nil {
		errs = append(errs, f.Errorf("handler_source.mode", "unknown mode %q (valid: bootstrap, contract, hybrid, registry)%s",
			raw.Mode, suggest.Hint(raw.Mode, sourceTypeNames())))
	}
	cfg.Mode = mode
	cfg.AllowBootstrapOverride = raw.AllowBootstrapOverride
	cfg.ContractPaths = make([]string, 0, len(raw.ContractPaths))
	for _, p := range raw.ContractPaths {
		if p != "" && !filepath.IsAbs(p) && f.Path != "" {
			p = filepath.Join(filepath.Dir(f.Path), p)
		}
		cfg.ContractPaths = append(cfg.ContractPaths, p)
	}
	cfg.Registry = raw.Registry
	if c := cfg.Registry.CacheDir; c != "" && !filepath.IsAbs(c) && f.Path != "" {
		cfg.Registry.CacheDir = filepath.Join(filepath.Dir(f.Path), c)
	}
	if cfg.Registry.CacheDir == "" {
		// Defaulted whatever the mode: a --mode registry flag may select it.
		cfg.Registry.CacheDir = DefaultRegistryCacheDir()
	}
	if raw.BootstrapExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, raw.BootstrapExpiresAt)
		if err != nil {
			e := f.Errorf("handler_source.bootstrap_expires_at", "%q is not an RFC 3339 timestamp with an offset", raw.BootstrapExpiresAt)
			e.RemediationHint = "write bootstrap_expires_at as RFC 3339 with a zone offset, e.g. 2026-12-31T00:00:00Z or 2026-12-31T00:00:00+01:00"
			errs = append(errs, e)
		}
		cfg.BootstrapExpiresAt = t
	}
	var oerrs []*diag.ValidationError
	cfg.Bootstrap, oerrs = decodeOverrides(f, overrides)
	errs = append(errs, oerrs...)
	errs = append(errs, cfg.Validate(f)...)
	return cfg, errs
}

func sourceTypeNames() []string {
	out := make([]string, len(handler.SourceTypes))
	for i, s := range handler.SourceTypes {
		out[i] = string(s)
	}
	return out
}

func decodeOverrides(f *config.File, raw map[string]fileOverride) (Overrides, []*diag.ValidationError) {
	if len(raw) == 0 {
		return nil, nil
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range raw {
			if !yield(k) {
				return
			}
		}
	})
	known := BootstrapNames()
	out := make(Overrides, len(raw))
	var errs []*diag.ValidationError
	for _, name := range names {
		ro := raw[name]
		key := "bootstrap." + name
		if !slices.Contains(known, name) {
			e := f.Errorf(key, "no built-in handler named %q (built-in: %s)%s", name, strings.Join(known, ", "), suggest.Hint(name, known))
			errs = append(errs, e)
			continue
		}
		o := Override{file: f.Path, locations: map[string]handler.Location{}}
		o.locations[""] = position(f, key)
		if ro.Config != nil {
			b, err := json.Marshal(ro.Config)
			if err != nil {
				errs = append(errs, f.Errorf(key+".config", "config cannot be represented as JSON: %v", err))
			} else {
				o.Config = b
				o.locations["config"] = position(f, key+".config")
				locateValue(f, o.locations, "config", key+".config", ro.Config)
			}
		}
		if s := ro.Security; s != nil {
			o.locations["security"] = position(f, key+".security")
			if s.AllowedDomains != nil {
				o.AllowedDomains = slices.Clone(s.AllowedDomains)
				locateList(f, o.locations, "security.allowed_domains", key+".security.allowed_domains", len(s.AllowedDomains))
			}
			if s.SecretScopes != nil {
				o.SecretScopes = slices.Clone(s.SecretScopes)
				locateList(f, o.locations, "security.secret_scopes", key+".security.secret_scopes", len(s.SecretScopes))
			}
			if s.DataClassification != "" {
				c, err := handler.ParseClassification(s.DataClassification)
				if err != nil {
					errs = append(errs, f.Errorf(key+".security.data_classification", "%v%s", err,
						suggest.Hint(s.DataClassification, classificationNames())))
				}
				o.DataClassification = c
				o.locations["security.data_classification"] = position(f, key+".security.data_classification")
			}
		}
		out[name] = o
	}
	return out, errs
}

func classificationNames() []string {
	out := make([]string, len(handler.Classifications))
	for i, c := range handler.Classifications {
		out[i] = c.String()
	}
	return out
}

func position(f *config.File, key string) handler.Location {
	l, c := f.Position(key)
	return handler.Location{Line: l, Column: c}
}

func locateList(f *config.File, locs map[string]handler.Location, path, key string, n int) {
	locs[path] = position(f, key)
	for i := range n {
		locs[fmt.Sprintf("%s[%d]", path, i)] = position(f, fmt.Sprintf("%s[%d]", key, i))
	}
}

// locateValue records the position of every key and item of a decoded config
// value, so factory and policy errors name the onex.yaml line.
func locateValue(f *config.File, locs map[string]handler.Location, path, key string, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if strings.ContainsAny(k, ".[") {
				continue // not addressable as a dotted key path
			}
			locs[path+"."+k] = position(f, key+"."+k)
			locateValue(f, locs, path+"."+k, key+"."+k, x[k])
		}
	case []any:
		for i, e := range x {
			p, k := fmt.Sprintf("%s[%d]", path, i), fmt.Sprintf("%s[%d]", key, i)
			locs[p] = position(f, k)
			locateValue(f, locs, p, k, e)
		}
	}
}

// Validate checks the semantic rules of the configuration (after LoadConfig, and
// again after flags changed it): a known mode and non-empty contract paths where
// the mode reads contracts. Errors are RUNTIME-002 located in f when f is given.
func (c Config) Validate(f *config.File) []*diag.ValidationError {
	var errs []*diag.ValidationError
	if c.Mode != "" && !c.Mode.Valid() {
		errs = append(errs, f.Errorf("handler_source.mode", "unknown mode %q (valid: bootstrap, contract, hybrid, registry)%s",
			c.Mode, suggest.Hint(string(c.Mode), sourceTypeNames())))
	}
	if c.Mode == handler.SourceContract || c.Mode == handler.SourceHybrid {
		if len(c.ContractPaths) == 0 {
			errs = append(errs, f.Errorf("handler_source.contract_paths", "no contract paths: mode %s reads contracts from at least one path", c.Mode))
		}
		for i, p := range c.ContractPaths {
			if strings.TrimSpace(p) == "" {
				errs = append(errs, f.Errorf(fmt.Sprintf("handler_source.contract_paths[%d]", i), "contract path is empty"))
			}
		}
	}
	if c.Mode == handler.SourceRegistry {
		if c.Registry.URL == "" {
			e := f.Errorf("handler_source.registry.url", "no registry URL: mode registry reads its contracts from an index URL")
			e.RemediationHint = "set handler_source.registry.url to the registry index (http or https), or pass --registry URL"
			errs = append(errs, e)
		} else if _, err := parseHTTPURL(c.Registry.URL); err != nil {
			errs = append(errs, f.Errorf("handler_source.registry.url", "%v", err))
		}
	}
	if c.Registry.Timeout <= 0 {
		errs = append(errs, f.Errorf("handler_source.registry.timeout", "must be positive, got %s", c.Registry.Timeout))
	}
	if c.Registry.PollInterval < 0 {
		errs = append(errs, f.Errorf("handler_source.registry.poll_interval", "must not be negative (0 turns polling off), got %s", c.Registry.PollInterval))
	}
	return errs
}

// BootstrapAllowed applies the production hardening of bootstrap descriptors for
// a host in environment env at time now. It returns a RUNTIME-003 when the mode
// uses bootstrap descriptors and either bootstrap_expires_at has passed (in every
// environment) or env is production without allow_bootstrap_override; nil
// otherwise. An empty env skips the production check (the environment is not
// known).
func (c Config) BootstrapAllowed(env handler.Environment, now time.Time) *diag.ValidationError {
	if !c.UsesBootstrap() {
		return nil
	}
	if !c.BootstrapExpiresAt.IsZero() && !now.Before(c.BootstrapExpiresAt) {
		e := c.runtime003("handler_source.bootstrap_expires_at",
			"mode %s uses bootstrap descriptors, whose override expired at %s", c.Mode, c.BootstrapExpiresAt.Format(time.RFC3339))
		e.Details["bootstrap_expires_at"] = c.BootstrapExpiresAt.Format(time.RFC3339)
		e.RemediationHint = "move the remaining built-in handlers to contracts and set mode: contract, or renew handler_source.bootstrap_expires_at deliberately"
		return e
	}
	if env == handler.EnvProduction && !c.AllowBootstrapOverride {
		e := c.runtime003("handler_source.mode",
			"mode %s uses bootstrap descriptors, which production allows only with allow_bootstrap_override: true", c.Mode)
		e.RemediationHint = "use mode: contract in production, or set handler_source.allow_bootstrap_override: true (with a bootstrap_expires_at) deliberately"
		return e
	}
	return nil
}

func (c Config) runtime003(key, format string, args ...any) *diag.ValidationError {
	e := diag.New(ruleid.RuntimeBootstrapOverride, format, args...)
	e.SourceType = c.Mode
	e.Details = map[string]any{"key": key, "mode": string(c.Mode)}
	if c.file != nil && c.file.Path != "" {
		e.FilePath = c.file.Path
		e.Line, e.Column = c.file.Position(key)
	}
	return e
}

// FromConfig builds the handler source of cfg.Mode: the one constructor the
// host and `onex validate` use, so neither branches on the concrete source.
func FromConfig(cfg Config, logger *slog.Logger) (HandlerSource, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	switch cfg.Mode {
	case handler.SourceContract:
		return NewContract(cfg.ContractPaths, ContractOptions{Logger: logger}), nil
	case handler.SourceBootstrap:
		return NewBootstrap(cfg.Bootstrap, logger), nil
	case handler.SourceHybrid:
		return NewHybrid(NewContract(cfg.ContractPaths, ContractOptions{Logger: logger}), NewBootstrap(cfg.Bootstrap, logger), logger), nil
	case handler.SourceRegistry:
		r, err := NewRegistry(cfg.Registry.URL, RegistryOptions{Logger: logger, CacheDir: cfg.Registry.CacheDir, Timeout: cfg.Registry.Timeout})
		if err != nil {
			return nil, cfg.file.Errorf("handler_source.registry.url", "%v", err)
		}
		return r, nil
	}
	return nil, cfg.file.Errorf("handler_source.mode", "unknown mode %q (valid: bootstrap, contract, hybrid, registry)%s",
		cfg.Mode, suggest.Hint(string(cfg.Mode), sourceTypeNames()))
}
