package source_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/onexhost/onex/contract"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/testkit"
	"github.com/onexhost/onex/source"
)

// staticSource is a bootstrap stand-in with a fixed result.
type staticSource struct {
	descs []*handler.Descriptor
	errs  []*diag.ValidationError
	err   error
	stats source.Stats
}

func (s staticSource) SourceType() handler.SourceType { return handler.SourceBootstrap }

func (s staticSource) Discover(context.Context) ([]*handler.Descriptor, []*diag.ValidationError, error) {
	return s.descs, s.errs, s.err
}

func (s staticSource) Stats() source.Stats { return s.stats }

func builtin(name string) *handler.Descriptor {
	return &handler.Descriptor{
		Name: name, Version: "1.0.0", Type: handler.TypeInfra, Category: handler.CategoryEffect,
		Commands: []handler.Command{handler.Command(name + ".echo")}, ImportPath: echoImportPath,
		SourceType: handler.SourceBootstrap, Origin: handler.OriginBuiltin,
	}
}

func TestHybridResolution(t *testing.T) {
	root := t.TempDir()
	// db: a valid contract overrides the built-in.
	write(t, filepath.Join(root, "db", contract.FileName), contractYAML("db", "orders.query"))
	// http: a broken contract (unknown field) must not fall back to the built-in.
	httpPath := filepath.Join(root, "http", contract.FileName)
	write(t, httpPath, contractYAML("http", "partner.get")+"colour: blue\n")
	// payments: a contract-only handler.
	write(t, filepath.Join(root, "payments", contract.FileName), contractYAML("payments"))
	// An unparsable contract claims no identity.
	broken := filepath.Join(root, "zz", contract.FileName)
	write(t, broken, "handler_identity: [\n")

	vaultErr := diag.New("CONTRACT-009", "import_path not registered")
	vaultErr.HandlerIdentity, vaultErr.SourceType = "vault", handler.SourceBootstrap
	httpErr := diag.New("CONTRACT-009", "import_path not registered")
	httpErr.HandlerIdentity, httpErr.SourceType = "http", handler.SourceBootstrap
	boot := staticSource{
		descs: []*handler.Descriptor{builtin("db"), builtin("consul")},
		errs:  []*diag.ValidationError{httpErr, vaultErr},
		stats: source.Stats{"bootstrap_handler_count": 4},
	}
	var logs testkit.Logs
	h := source.NewHybrid(source.NewContract([]string{root}, source.ContractOptions{}), boot, logs.Logger())
	if h.SourceType() != handler.SourceHybrid {
		t.Fatal(h.SourceType())
	}
	descs, errs, err := h.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := names(descs); !slices.Equal(got, []string{"consul", "db", "payments"}) {
		t.Fatalf("descriptors %v", got)
	}
	for _, d := range descs {
		want := handler.SourceContract
		if d.Name == "consul" {
			want = handler.SourceBootstrap
		}
		if d.SourceType != want {
			t.Errorf("%s comes from %s, want %s", d.Name, d.SourceType, want)
		}
	}
	want := sortedDiags(
		diagAt{"CONTRACT-004", httpPath, 11, "http"},
		diagAt{"CONTRACT-001", broken, 1, "unknown@" + broken},
		diagAt{"CONTRACT-009", "", 0, "vault"},
	)
	if got := summarize(t, errs); !slices.Equal(got, want) {
		t.Errorf("errors\n got %v\nwant %v", got, want)
	}
	stats := h.Stats()
	if stats["contract_handler_count"] != 2 || stats["bootstrap_handler_count"] != 4 || stats["fallback_handler_count"] != 1 {
		t.Errorf("stats %v", stats)
	}
	r := logs.First(t, "hybrid handlers resolved")
	if r["contract_handler_count"] != 2.0 || r["bootstrap_handler_count"] != 4.0 || r["fallback_handler_count"] != 1.0 {
		t.Errorf("log record %v", r)
	}
}

func TestHybridWithRealBootstrap(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "http", contract.FileName), contractYAML("http", "http.get"))
	h := source.NewHybrid(source.NewContract([]string{root}, source.ContractOptions{}), source.NewBootstrap(nil, nil), nil)
	descs, errs, err := h.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// db is linked: fallback. http: the contract. consul, vault: not linked.
	if got := names(descs); !slices.Equal(got, []string{"db", "http"}) {
		t.Errorf("descriptors %v", got)
	}
	want := sortedDiags(diagAt{"CONTRACT-009", "", 0, "consul"}, diagAt{"CONTRACT-009", "", 0, "vault"})
	if got := summarize(t, errs); !slices.Equal(got, want) {
		t.Errorf("errors %v", got)
	}
	if s := h.Stats(); s["contract_handler_count"] != 1 || s["bootstrap_handler_count"] != 4 || s["fallback_handler_count"] != 1 {
		t.Errorf("stats %v", s)
	}
}

func TestHybridSourceFailure(t *testing.T) {
	boom := errors.New("boom")
	h := source.NewHybrid(source.NewContract(nil, source.ContractOptions{}), staticSource{err: boom}, nil)
	if _, _, err := h.Discover(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
}
