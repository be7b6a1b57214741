package source_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/source"

	// The real PostgreSQL handler: the bootstrap db descriptor is validated
	// against its factory. The other built-in handlers are not linked into
	// this test binary, so their descriptors honestly fail with CONTRACT-009.
	_ "github.com/onexhost/onex/handlers/db"
	"github.com/onexhost/onex/internal/testkit"
)

func TestBootstrapTable(t *testing.T) {
	want := map[string]struct {
		importPath     string
		commands       []handler.Command
		scopes         []string
		classification handler.Classification
	}{
		"db":     {"github.com/onexhost/onex/handlers/db", []handler.Command{"db.query", "db.execute", "db.transaction"}, []string{"db"}, handler.ClassificationConfidential},
		"http":   {"github.com/onexhost/onex/handlers/httpout", []handler.Command{"http.get", "http.post", "http.put", "http.patch", "http.delete"}, []string{}, handler.ClassificationConfidential},
		"consul": {"github.com/onexhost/onex/handlers/consul", []handler.Command{"consul.kv_get", "consul.kv_put", "consul.kv_delete", "consul.register", "consul.deregister", "consul.services"}, []string{"consul"}, handler.ClassificationConfidential},
		"vault":  {"github.com/onexhost/onex/handlers/vault", []handler.Command{"vault.read_secret", "vault.write_secret", "vault.delete_secret", "vault.list_secrets"}, []string{"vault"}, handler.ClassificationSecret},
	}
	descs := source.BootstrapDescriptors(nil)
	if got := names(descs); !slices.Equal(got, []string{"db", "http", "consul", "vault"}) || !slices.Equal(got, source.BootstrapNames()) {
		t.Fatalf("table %v", got)
	}
	for _, d := range descs {
		w := want[d.Name]
		s := d.Security
		if d.ImportPath != w.importPath || !slices.Equal(d.Commands, w.commands) || d.Version != "1.0.0" ||
			d.Type != handler.TypeInfra || d.Category != handler.CategoryEffect || d.IsAdapter ||
			d.SourceType != handler.SourceBootstrap || d.Origin != handler.OriginBuiltin || d.Locations != nil {
			t.Errorf("%s: %+v", d.Name, d)
		}
		if !slices.Equal(s.SecretScopes, w.scopes) || s.SecretScopes == nil || s.AllowedDomains == nil || len(s.AllowedDomains) != 0 ||
			s.DataClassification != w.classification || s.ObservabilityLevel != handler.ObservabilityStandard {
			t.Errorf("%s security: %+v", d.Name, s)
		}
		if errs := d.Validate(); len(errs) > 0 {
			t.Errorf("%s breaks a descriptor invariant: %v", d.Name, errs)
		}
	}
	// Each call hands out fresh copies.
	descs[0].Commands[0] = "x.y"
	if source.BootstrapDescriptors(nil)[0].Commands[0] != "db.query" {
		t.Error("the table is shared with callers")
	}
}

func TestBootstrapDiscover(t *testing.T) {
	var logs testkit.Logs
	src := source.NewBootstrap(nil, logs.Logger())
	descs, errs, err := src.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := names(descs); !slices.Equal(got, []string{"db"}) {
		t.Errorf("descriptors %v: only db's factory is linked into this test", got)
	}
	want := sortedDiags(
		diagAt{"CONTRACT-009", "", 0, "http"},
		diagAt{"CONTRACT-009", "", 0, "consul"},
		diagAt{"CONTRACT-009", "", 0, "vault"},
	)
	if got := summarize(t, errs); !slices.Equal(got, want) {
		t.Errorf("errors %v, want %v", got, want)
	}
	for _, e := range errs {
		if e.SourceType != handler.SourceBootstrap || !strings.Contains(e.Message, "github.com/onexhost/onex/handlers/db") {
			t.Errorf("CONTRACT-009 should list the registered factories: %v", e)
		}
	}
	if s := src.Stats(); s["bootstrap_handler_count"] != 4 || s["valid_handler_count"] != 1 {
		t.Errorf("stats %v", s)
	}
	if r := logs.First(t, "bootstrap handlers loaded"); r["bootstrap_handler_count"] != 4.0 {
		t.Errorf("log %v", r)
	}
}

func TestBootstrapOverrides(t *testing.T) {
	const yaml = `bootstrap:
  db:
    config:
      max_rows: 10
    security:
      allowed_domains: [pg.internal.example, 10.0.0.5]
      secret_scopes: [orders-db]
      data_classification: restricted
`
	cfg, errs := source.LoadConfig(parse(t, "/etc/onex.yaml", yaml))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	descs, _, err := source.NewBootstrap(cfg.Bootstrap, nil).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(descs) != 1 {
		t.Fatalf("descriptors %v", names(descs))
	}
	d := descs[0]
	if string(d.Config) != `{"max_rows":10}` || strings.Join(d.Security.AllowedDomains, ",") != "pg.internal.example,10.0.0.5" ||
		strings.Join(d.Security.SecretScopes, ",") != "orders-db" || d.Security.DataClassification != handler.ClassificationRestricted {
		t.Errorf("override not applied: %+v %s", d.Security, d.Config)
	}
	// Errors about an overridden built-in point into onex.yaml.
	file, loc := d.Position("security.allowed_domains[1]")
	if file != "/etc/onex.yaml" || loc.Line != 6 || loc.Column != 46 || d.Origin != handler.OriginBuiltin {
		t.Errorf("Position = %s %v (origin %s)", file, loc, d.Origin)
	}

	// A config the factory rejects is CONTRACT-011 at the bootstrap key.
	cfg, errs = source.LoadConfig(parse(t, "/etc/onex.yaml", "bootstrap:\n  db:\n    config: {dsn_secert: db/dsn}\n"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	_, errs, _ = source.NewBootstrap(cfg.Bootstrap, nil).Discover(context.Background())
	var found *diag.ValidationError
	for _, e := range errs {
		if e.HandlerIdentity == "db" {
			found = e
		}
	}
	if found == nil || found.RuleID != "CONTRACT-011" || found.FilePath != "/etc/onex.yaml" || found.Line != 3 || !strings.Contains(found.Message, "dsn_secert") {
		t.Errorf("got %v", found)
	}
}
