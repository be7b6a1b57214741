package source

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/validate"
)

// builtin is one row of the bootstrap table.
type builtin struct {
	name, importPath, summary string
	commands                  []handler.Command
	secretScopes              []string
	classification            handler.Classification
}

// bootstrapTable is the one place that names the built-in handlers. Their
// factories live in the handler packages, registered under these import paths;
// nothing else in onex instantiates them. Every entry is an infra_handler/effect,
// not an adapter, with an empty allowlist: an effect handler reaches nothing until
// the bootstrap section of onex.yaml lists its hosts.
var bootstrapTable = []builtin{
	{
		name: "db", importPath: "github.com/onexhost/onex/handlers/db", summary: "PostgreSQL queries, statements and transactions",
		commands:     []handler.Command{"db.query", "db.execute", "db.transaction"},
		secretScopes: []string{"db"}, classification: handler.ClassificationConfidential,
	},
	{
		name: "http", importPath: "github.com/onexhost/onex/handlers/httpout", summary: "outbound HTTP requests",
		commands:     []handler.Command{"http.get", "http.post", "http.put", "http.patch", "http.delete"},
		secretScopes: []string{}, classification: handler.ClassificationConfidential,
	},
	{
		name: "consul", importPath: "github.com/onexhost/onex/handlers/consul", summary: "Consul KV and service catalog",
		commands:     []handler.Command{"consul.kv_get", "consul.kv_put", "consul.kv_delete", "consul.register", "consul.deregister", "consul.services"},
		secretScopes: []string{"consul"}, classification: handler.ClassificationConfidential,
	},
	{
		name: "vault", importPath: "github.com/onexhost/onex/handlers/vault", summary: "Vault KV v2 secrets",
		commands:     []handler.Command{"vault.read_secret", "vault.write_secret", "vault.delete_secret", "vault.list_secrets"},
		secretScopes: []string{"vault"}, classification: handler.ClassificationSecret,
	},
}

// BootstrapNames lists the names of the built-in handlers, in table order.
func BootstrapNames() []string {
	out := make([]string, len(bootstrapTable))
	for i, b := range bootstrapTable {
		out[i] = b.name
	}
	return out
}

// BootstrapDescriptors returns the bootstrap table as descriptors, with the
// overrides of onex.yaml applied, before any validation. Each call returns fresh
// copies.
func BootstrapDescriptors(overrides Overrides) []*handler.Descriptor {
	out := make([]*handler.Descriptor, 0, len(bootstrapTable))
	for _, b := range bootstrapTable {
		d := &handler.Descriptor{
			Name:        b.name,
			Version:     "1.0.0",
			Description: b.summary,
			Type:        handler.TypeInfra,
			Category:    handler.CategoryEffect,
			Commands:    slices.Clone(b.commands),
			ImportPath:  b.importPath,
			Security: handler.Security{
				SecretScopes:       slices.Clone(b.secretScopes),
				AllowedDomains:     []string{},
				DataClassification: b.classification,
				ObservabilityLevel: handler.ObservabilityStandard,
			},
			SourceType: handler.SourceBootstrap,
			Origin:     handler.OriginBuiltin,
		}
		if o, ok := overrides[b.name]; ok {
			o.apply(d)
		}
		out = append(out, d)
	}
	return out
}

func (o Override) apply(d *handler.Descriptor) {
	if o.Config != nil {
		d.Config = slices.Clone(o.Config)
	}
	if o.AllowedDomains != nil {
		d.Security.AllowedDomains = slices.Clone(o.AllowedDomains)
	}
	if o.SecretScopes != nil {
		d.Security.SecretScopes = slices.Clone(o.SecretScopes)
	}
	if o.DataClassification != handler.ClassificationUnset {
		d.Security.DataClassification = o.DataClassification
	}
	if len(o.locations) > 0 && o.file != "" {
		d.Locations = make(map[string]handler.Location, len(o.locations))
		for k, v := range o.locations {
			d.Locations[k] = v
		}
		d.LocationsFile = o.file
	}
}

// Bootstrap is the source of the built-in handlers.
type Bootstrap struct {
	overrides Overrides
	logger    *slog.Logger

	mu    sync.Mutex
	stats Stats
}

var (
	_ HandlerSource = (*Bootstrap)(nil)
	_ StatsReporter = (*Bootstrap)(nil)
)

// NewBootstrap returns the bootstrap source, with the configuration of the
// built-in handlers from onex.yaml's bootstrap section.
func NewBootstrap(overrides Overrides, logger *slog.Logger) *Bootstrap {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Bootstrap{overrides: overrides, logger: logger}
}

// SourceType is bootstrap.
func (b *Bootstrap) SourceType() handler.SourceType { return handler.SourceBootstrap }

// Discover validates every built-in descriptor (descriptor invariants, factory
// registered, verbs, config) and returns the clean ones and every error. A
// built-in handler whose package is not linked into the binary is a CONTRACT-009.
func (b *Bootstrap) Discover(ctx context.Context) ([]*handler.Descriptor, []*diag.ValidationError, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var (
		descs []*handler.Descriptor
		errs  []*diag.ValidationError
	)
	all := BootstrapDescriptors(b.overrides)
	for _, d := range all {
		if verrs := validate.Descriptor(d); len(verrs) > 0 {
			errs = append(errs, verrs...)
			continue
		}
		descs = append(descs, d)
	}
	b.mu.Lock()
	b.stats = Stats{"bootstrap_handler_count": len(all), "valid_handler_count": len(descs), "validation_failure_count": len(all) - len(descs)}
	b.mu.Unlock()
	b.logger.LogAttrs(ctx, slog.LevelInfo, "bootstrap handlers loaded",
		slog.Int("bootstrap_handler_count", len(all)),
		slog.Int("valid_handler_count", len(descs)),
		slog.Int("validation_failure_count", len(all)-len(descs)))
	return descs, errs, nil
}

// Stats reports bootstrap_handler_count (the size of the table),
// valid_handler_count and validation_failure_count of the last Discover.
func (b *Bootstrap) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return cloneStats(b.stats)
}

func cloneStats(s Stats) Stats {
	out := make(Stats, len(s))
	for k, v := range s {
		out[k] = v
	}
	return out
}
