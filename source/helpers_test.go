package source_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echoImportPath is a factory registered by these tests only.
const echoImportPath = "example.com/test/echo"

type nopHandler struct{}

func (nopHandler) Handle(context.Context, *handler.Invocation) (handler.Output, error) {
	return handler.Output{}, nil
}

func init() {
	handler.Register(handler.Factory{
		ImportPath: echoImportPath,
		Verbs:      []string{"query", "get", "post", "echo"},
		New: func(cfg json.RawMessage) (handler.Handler, error) {
			var c struct {
				Reject bool `json:"reject"`
			}
			if len(cfg) > 0 {
				if err := json.Unmarshal(cfg, &c); err != nil {
					return nil, err
				}
			}
			if c.Reject {
				return nil, errors.New("reject: the test factory was asked to refuse this config")
			}
			return nopHandler{}, nil
		},
	})
}

// contractYAML is a valid contract for the echo factory. Line 3 holds the name
// (column 9), line 7 the commands.
func contractYAML(name string, commands ...string) string {
	if len(commands) == 0 {
		commands = []string{strings.ReplaceAll(strings.ReplaceAll(name, "-", "_"), ".", "_") + ".query"}
	}
	return fmt.Sprintf(`contract_version: "1.0.0"
handler_identity:
  name: %s
  version: "1.0.0"
handler_type: infra_handler
handler_type_category: effect
commands_accepted: [%s]
implementation:
  import_path: %s
security: {allowed_domains: [db.example], data_classification: internal}
`, name, strings.Join(commands, ", "), echoImportPath)
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t testing.TB, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// diagAt is a diagnostic as the tests compare it.
type diagAt struct {
	rule     diag.RuleID
	file     string
	line     int
	identity string
}

func (d diagAt) String() string {
	return fmt.Sprintf("%s %s:%d (%s)", d.rule, d.file, d.line, d.identity)
}

// summarize checks the invariants of every error and returns them sorted.
func summarize(t *testing.T, errs []*diag.ValidationError) []diagAt {
	t.Helper()
	out := make([]diagAt, 0, len(errs))
	for _, e := range errs {
		if e.RemediationHint == "" || e.HandlerIdentity == "" || !e.SourceType.Valid() || e.Message == "" {
			t.Errorf("incomplete error: %+v", e)
		}
		if _, ok := diag.Lookup(e.RuleID); !ok {
			t.Errorf("rule %s not in the catalog", e.RuleID)
		}
		out = append(out, diagAt{e.RuleID, e.FilePath, e.Line, e.HandlerIdentity})
	}
	slices.SortFunc(out, func(a, b diagAt) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func sortedDiags(ds ...diagAt) []diagAt {
	slices.SortFunc(ds, func(a, b diagAt) int { return strings.Compare(a.String(), b.String()) })
	return ds
}

func names(descs []*handler.Descriptor) []string {
	out := make([]string, len(descs))
	for i, d := range descs {
		out[i] = d.Name
	}
	return out
}
