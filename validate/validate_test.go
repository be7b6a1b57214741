package validate

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
)

type echo struct{}

func (echo) Handle(_ context.Context, inv *handler.Invocation) (handler.Output, error) {
	return handler.Output{Result: inv.Payload()}, nil
}

const (
	echoPath   = "example.com/validate-test/echo"
	strictPath = "example.com/validate-test/strict"
	panicPath  = "example.com/validate-test/panics"
)

func init() {
	handler.Register(handler.Factory{ImportPath: echoPath, Verbs: []string{"echo", "ping"},
		New: func(json.RawMessage) (handler.Handler, error) { return echo{}, nil }})
	handler.Register(handler.Factory{ImportPath: strictPath, Verbs: []string{"run"},
		New: func(cfg json.RawMessage) (handler.Handler, error) {
			var c struct {
				Token string `json:"token"`
				Max   int    `json:"max"`
			}
			if err := handler.DecodeStrict(cfg, &c); err != nil {
				return nil, err
			}
			if c.Token != handler.Redacted {
				return nil, errors.New("token must be a secret reference")
			}
			if c.Max < 0 {
				return nil, &diag.ValidationError{RuleID: "CONTRACT-003", Message: "max: must not be negative"}
			}
			return echo{}, nil
		}})
	handler.Register(handler.Factory{ImportPath: panicPath, Verbs: []string{"run"},
		New: func(json.RawMessage) (handler.Handler, error) { panic("boom") }})
}

func desc(name, importPath string, cmds ...handler.Command) *handler.Descriptor {
	return &handler.Descriptor{
		Name: name, Version: "1.0.0", Type: handler.TypeCompute, Category: handler.CategoryCompute,
		Commands: cmds, ImportPath: importPath, SourceType: handler.SourceContract,
		Origin:    "contracts/" + name + "/handler_contract.yaml",
		Locations: map[string]handler.Location{"": {Line: 1, Column: 1}, "import_path": {Line: 12, Column: 16}, "config": {Line: 14, Column: 3}, "commands_accepted[0]": {Line: 8, Column: 20}, "commands_accepted[1]": {Line: 8, Column: 30}},
	}
}

func one(t *testing.T, errs []*diag.ValidationError, rule diag.RuleID) *diag.ValidationError {
	t.Helper()
	if len(errs) != 1 {
		t.Fatalf("got %d errors, want one %s: %v", len(errs), rule, errs)
	}
	e := errs[0]
	if e.RuleID != rule || e.RemediationHint == "" || e.HandlerIdentity == "" || e.SourceType != handler.SourceContract || e.FilePath == "" {
		t.Fatalf("got %+v, want a located %s with a hint", e, rule)
	}
	return e
}

func TestDescriptorClean(t *testing.T) {
	if errs := Descriptor(desc("echo", echoPath, "orders.echo", "billing.ping")); len(errs) != 0 {
		t.Fatal(errs)
	}
}

func TestDescriptorInvariantsFirst(t *testing.T) {
	d := desc("echo", "example.com/nowhere", "orders.echo")
	d.Version = "1"
	errs := Descriptor(d)
	if len(errs) != 1 || errs[0].RuleID != ruleid.DescriptorVersion {
		t.Fatalf("factory checks must wait for a valid descriptor: %v", errs)
	}
}

func TestUnregisteredImportPath(t *testing.T) {
	e := one(t, Descriptor(desc("echo", "example.com/validate-test/ecko", "orders.echo")), "CONTRACT-009")
	if e.Line != 12 || e.Column != 16 {
		t.Errorf("located at %d:%d, want 12:16", e.Line, e.Column)
	}
	if !strings.Contains(e.Message, `did you mean "`+echoPath+`"`) || !strings.Contains(e.Message, strictPath) {
		t.Errorf("message does not suggest the closest and list the registered ones: %s", e.Message)
	}
	if e.Details["closest"] != echoPath {
		t.Errorf("details = %v", e.Details)
	}
}

func TestArtifactRefNotLoadable(t *testing.T) {
	d := desc("art", "", "orders.echo")
	d.Artifact = &handler.ArtifactRef{URI: "oci://registry.example/h:1", Digest: "sha256:" + strings.Repeat("a", 64)}
	one(t, Descriptor(d), "CONTRACT-016")
}

func TestVerbNotImplemented(t *testing.T) {
	e := one(t, Descriptor(desc("echo", echoPath, "orders.echo", "orders.query")), "CONTRACT-015")
	if e.Line != 8 || e.Column != 30 || !strings.Contains(e.Message, "echo, ping") {
		t.Errorf("got %s at %d:%d", e.Message, e.Line, e.Column)
	}
}

func TestConfigRejected(t *testing.T) {
	for name, tc := range map[string]struct {
		config string
		want   string
		cause  bool
	}{
		"unknown key":         {`{"token":{"secret":"s/k"},"tokn":1}`, "tokn", false},
		"no secret reference": {`{"token":"plain"}`, "secret reference", false},
		"validation error":    {`{"token":{"secret":"s/k"},"max":-1}`, "negative", true},
		"malformed reference": {`{"token":{"secret":"nokey"}}`, "config.token", false},
	} {
		t.Run(name, func(t *testing.T) {
			d := desc("strict", strictPath, "jobs.run")
			d.Config = json.RawMessage(tc.config)
			e := one(t, Descriptor(d), "CONTRACT-011")
			if !strings.Contains(e.Message, tc.want) || e.Line != 14 {
				t.Errorf("got %q at line %d", e.Message, e.Line)
			}
			if (e.CausedBy != nil) != tc.cause {
				t.Errorf("caused by = %v", e.CausedBy)
			}
		})
	}
	d := desc("strict", strictPath, "jobs.run")
	d.Config = json.RawMessage(`{"token":{"secret":"s/k"}}`)
	if errs := Descriptor(d); len(errs) != 0 {
		t.Errorf("secret reference not replaced by the placeholder: %v", errs)
	}
}

func TestFactoryPanicIsARejection(t *testing.T) {
	e := one(t, Descriptor(desc("p", panicPath, "jobs.run")), "CONTRACT-011")
	if !strings.Contains(e.Message, "panicked") {
		t.Errorf("message = %s", e.Message)
	}
}

func TestRouteConflicts(t *testing.T) {
	a := desc("a", echoPath, "orders.echo", "orders.ping")
	b := desc("b", echoPath, "billing.echo", "orders.ping")
	c := desc("c", echoPath, "orders.ping")
	r := Set([]*handler.Descriptor{a, b, c})
	if r.Len() != 2 {
		t.Fatalf("got %v", r.Diagnostics)
	}
	for _, e := range r.Diagnostics {
		if e.RuleID != "CONTRACT-012" || e.RemediationHint == "" || !strings.Contains(e.Message, `"a"`) || e.Details["operation"] != "orders.ping" {
			t.Errorf("got %+v", e)
		}
	}
	if e := r.Diagnostics[0]; e.HandlerIdentity != "b" || e.Line != 8 || e.Column != 30 {
		t.Errorf("first conflict located at %s %d:%d", e.HandlerIdentity, e.Line, e.Column)
	}
}

func TestSetRunsValidators(t *testing.T) {
	calls := 0
	v := Func(func(ds []*handler.Descriptor) []*diag.ValidationError {
		calls++
		return []*diag.ValidationError{At(ds[0], "import_path", diag.New("SECURITY-305", "no security metadata"))}
	})
	r := Set([]*handler.Descriptor{desc("a", echoPath, "orders.echo")}, v, v)
	if calls != 2 || r.Len() != 2 || !r.Blocking() {
		t.Fatalf("calls %d, report %v", calls, r.Diagnostics)
	}
	if e := r.Diagnostics[0]; e.HandlerIdentity != "a" || e.Line != 12 || e.FilePath == "" {
		t.Errorf("At did not locate: %+v", e)
	}
}
