package source_test

import (
	"strings"
	"testing"
	"time"

	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/source"
)

func parse(t *testing.T, path, yaml string) *config.File {
	t.Helper()
	f, errs := config.Parse(path, []byte(yaml))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return f
}

func TestLoadConfigDefaults(t *testing.T) {
	for _, f := range []*config.File{nil, config.Empty(), parse(t, "/etc/onex/onex.yaml", "runtime: {}\n")} {
		cfg, errs := source.LoadConfig(f)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		want := source.DefaultContractPath
		if f != nil && f.Path != "" {
			want = "/etc/onex/contracts"
		}
		if cfg.Mode != handler.SourceContract || len(cfg.ContractPaths) != 1 || cfg.ContractPaths[0] != want ||
			cfg.AllowBootstrapOverride || !cfg.BootstrapExpiresAt.IsZero() || cfg.Bootstrap != nil {
			t.Errorf("defaults: %+v", cfg)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	f := parse(t, "/srv/app/onex.yaml", `handler_source:
  mode: hybrid
  contract_paths: [./contracts, /opt/shared/contracts, ../more]
  allow_bootstrap_override: true
  bootstrap_expires_at: "2026-12-31T00:00:00+01:00"
bootstrap:
  db:
    config: {max_rows: 500, dsn: {secret: "db/dsn"}}
    security:
      allowed_domains: [pg.internal.example]
      data_classification: restricted
  http:
    security:
      allowed_domains: [api.partner.example, "*.cdn.partner.example"]
      secret_scopes: [partner]
`)
	cfg, errs := source.LoadConfig(f)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if cfg.Mode != handler.SourceHybrid || !cfg.AllowBootstrapOverride {
		t.Errorf("mode %s override %v", cfg.Mode, cfg.AllowBootstrapOverride)
	}
	if got, want := strings.Join(cfg.ContractPaths, ","), "/srv/app/contracts,/opt/shared/contracts,/srv/more"; got != want {
		t.Errorf("paths %s, want %s", got, want)
	}
	if want := time.Date(2026, 12, 30, 23, 0, 0, 0, time.UTC); !cfg.BootstrapExpiresAt.Equal(want) {
		t.Errorf("expiry %v, want %v", cfg.BootstrapExpiresAt, want)
	}
	db := cfg.Bootstrap["db"]
	if string(db.Config) != `{"dsn":{"secret":"db/dsn"},"max_rows":500}` || db.DataClassification != handler.ClassificationRestricted ||
		strings.Join(db.AllowedDomains, ",") != "pg.internal.example" || db.SecretScopes != nil {
		t.Errorf("db override %+v (config %s)", db, db.Config)
	}
	http := cfg.Bootstrap["http"]
	if http.Config != nil || len(http.AllowedDomains) != 2 || strings.Join(http.SecretScopes, ",") != "partner" {
		t.Errorf("http override %+v", http)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		line, col  int
		inMessage  string
		detailsKey string
	}{
		{"unknown key", "handler_source:\n  contract_path: [x]\n", 2, 3, `did you mean "contract_paths"?`, "handler_source.contract_path"},
		{"unknown mode", "handler_source:\n  mode: hybird\n", 2, 9, `did you mean "hybrid"?`, "handler_source.mode"},
		{"paths not a list", "handler_source:\n  contract_paths: ./contracts\n", 2, 19, "sequence", "handler_source"},
		{"empty path", "handler_source:\n  contract_paths: [\"\"]\n", 2, 20, "contract path is empty", "handler_source.contract_paths[0]"},
		{"no paths", "handler_source:\n  contract_paths: []\n", 2, 19, "no contract paths", "handler_source.contract_paths"},
		{"expiry without offset", "handler_source:\n  bootstrap_expires_at: \"2026-12-31T00:00:00\"\n", 2, 25, "RFC 3339", "handler_source.bootstrap_expires_at"},
		{"expiry as a date", "handler_source:\n  bootstrap_expires_at: 2026-12-31\n", 2, 25, "RFC 3339", "handler_source.bootstrap_expires_at"},
		{"override flag not a bool", "handler_source:\n  allow_bootstrap_override: sometimes\n", 2, 29, "", "handler_source"},
		{"unknown built-in", "bootstrap:\n  dbb: {}\n", 2, 8, `did you mean "db"?`, "bootstrap.dbb"},
		{"unknown override key", "bootstrap:\n  db:\n    configs: {}\n", 3, 5, `did you mean "config"?`, "bootstrap.db.configs"},
		{"unknown security key", "bootstrap:\n  db:\n    security: {observability_level: enhanced}\n", 3, 16, "unknown key", "bootstrap.db.security.observability_level"},
		{"bad classification", "bootstrap:\n  vault:\n    security: {data_classification: topsecret}\n", 3, 37, "data_classification", "bootstrap.vault.security.data_classification"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := source.LoadConfig(parse(t, "onex.yaml", tc.yaml))
			if len(errs) != 1 {
				t.Fatalf("want 1 error, got %v", errs)
			}
			e := errs[0]
			if e.RuleID != "RUNTIME-002" || e.FilePath != "onex.yaml" || e.Line != tc.line || e.Column != tc.col ||
				!strings.Contains(e.Message, tc.inMessage) || e.RemediationHint == "" || e.Details["key"] != tc.detailsKey {
				t.Errorf("got %v (line %d col %d, details %v), want RUNTIME-002 at %d:%d containing %q with key %s",
					e, e.Line, e.Column, e.Details, tc.line, tc.col, tc.inMessage, tc.detailsKey)
			}
		})
	}
}

func TestBootstrapAllowed(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	for _, tc := range []struct {
		name     string
		mode     handler.SourceType
		override bool
		expires  time.Time
		env      handler.Environment
		key      string // "" = allowed
	}{
		{"contract in production", handler.SourceContract, false, past, handler.EnvProduction, ""},
		{"bootstrap in development", handler.SourceBootstrap, false, time.Time{}, handler.EnvDevelopment, ""},
		{"bootstrap, environment unknown", handler.SourceBootstrap, false, time.Time{}, "", ""},
		{"bootstrap in production without override", handler.SourceBootstrap, false, time.Time{}, handler.EnvProduction, "handler_source.mode"},
		{"hybrid in production without override", handler.SourceHybrid, false, future, handler.EnvProduction, "handler_source.mode"},
		{"hybrid in production with override", handler.SourceHybrid, true, future, handler.EnvProduction, ""},
		{"expired in development", handler.SourceHybrid, false, past, handler.EnvDevelopment, "handler_source.bootstrap_expires_at"},
		{"expired in production with override", handler.SourceBootstrap, true, past, handler.EnvProduction, "handler_source.bootstrap_expires_at"},
		{"expiring exactly now", handler.SourceBootstrap, true, now, handler.EnvStaging, "handler_source.bootstrap_expires_at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := "handler_source:\n  mode: " + string(tc.mode) + "\n"
			if tc.override {
				yaml += "  allow_bootstrap_override: true\n"
			}
			if !tc.expires.IsZero() {
				yaml += "  bootstrap_expires_at: " + tc.expires.Format(time.RFC3339) + "\n"
			}
			cfg, errs := source.LoadConfig(parse(t, "onex.yaml", yaml))
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			e := cfg.BootstrapAllowed(tc.env, now)
			if tc.key == "" {
				if e != nil {
					t.Fatalf("refused: %v", e)
				}
				return
			}
			if e == nil {
				t.Fatal("allowed, want RUNTIME-003")
			}
			line, _ := parse(t, "onex.yaml", yaml).Position(tc.key)
			if e.RuleID != "RUNTIME-003" || e.Details["key"] != tc.key || e.FilePath != "onex.yaml" || e.Line != line || e.Line == 0 || e.RemediationHint == "" {
				t.Errorf("got %v (details %v)", e, e.Details)
			}
		})
	}
}

func TestFromConfig(t *testing.T) {
	for _, mode := range handler.SourceTypes {
		cfg := source.DefaultConfig()
		cfg.Mode = mode
		cfg.Registry.URL = "https://registry.example/index.json"
		src, err := source.FromConfig(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if src.SourceType() != mode {
			t.Errorf("mode %s built a %s source", mode, src.SourceType())
		}
		if _, ok := src.(source.StatsReporter); !ok {
			t.Errorf("%s source reports no stats", mode)
		}
	}
	// Mode registry needs its index URL.
	cfg, errs := source.LoadConfig(parse(t, "onex.yaml", "handler_source:\n  mode: registry\n"))
	if len(errs) != 1 || errs[0].RuleID != "RUNTIME-002" || errs[0].Details["key"] != "handler_source.registry.url" || errs[0].RemediationHint == "" {
		t.Errorf("registry without url: %v", errs)
	}
	var ve *diag.ValidationError
	cfg.Mode = "nonsense"
	if _, err := source.FromConfig(cfg, nil); !asValidationError(err, &ve) || ve.RuleID != "RUNTIME-002" {
		t.Errorf("unknown mode: %v", err)
	}
}

func TestConfigValidateAfterFlags(t *testing.T) {
	cfg := source.DefaultConfig()
	cfg.Mode = "hybird"
	errs := cfg.Validate(nil)
	if len(errs) != 1 || !strings.Contains(errs[0].Message, `did you mean "hybrid"?`) {
		t.Errorf("got %v", errs)
	}
	cfg = source.DefaultConfig()
	cfg.Mode = handler.SourceBootstrap
	cfg.ContractPaths = nil
	if errs := cfg.Validate(nil); len(errs) > 0 {
		t.Errorf("bootstrap needs no contract paths: %v", errs)
	}
	if !cfg.UsesBootstrap() || source.DefaultConfig().UsesBootstrap() {
		t.Error("UsesBootstrap")
	}
}

func asValidationError(err error, target **diag.ValidationError) bool {
	ve, ok := err.(*diag.ValidationError)
	if ok {
		*target = ve
	}
	return ok
}
