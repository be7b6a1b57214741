package archcheck_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/onexhost/onex/archcheck"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/validate"
)

// Test factories, registered at init like real ones.
const (
	pureFactory    = "example.com/archcheck/pure"
	egressFactory  = "example.com/archcheck/egress"
	secretsFactory = "example.com/archcheck/secrets"
	bothFactory    = "example.com/archcheck/both"
)

type nop struct{}

func (nop) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	return handler.Output{}, nil
}

func init() {
	for path, uses := range map[string]handler.Uses{
		pureFactory:    {},
		egressFactory:  {Egress: true},
		secretsFactory: {Secrets: true},
		bothFactory:    {Egress: true, Secrets: true},
	} {
		handler.Register(handler.Factory{
			ImportPath: path,
			Verbs:      []string{"run"},
			New:        func(json.RawMessage) (handler.Handler, error) { return nop{}, nil },
			Uses:       uses,
		})
	}
}

const contractFile = "contracts/h/handler_contract.yaml"

// desc builds a descriptor as the contract source would, with the positions of
// the fields the rules point at.
func desc(name string, cat handler.Category, importPath string, sec handler.Security, config string) *handler.Descriptor {
	d := &handler.Descriptor{
		Name: name, Version: "1.0.0", Type: handler.TypeCompute, Category: cat,
		Commands:   []handler.Command{handler.Command(name + ".run")},
		ImportPath: importPath, Security: sec,
		SourceType: handler.SourceContract, Origin: contractFile,
		Locations: map[string]handler.Location{
			"":                          {Line: 1, Column: 1},
			"handler_type_category":     {Line: 6, Column: 24},
			"security":                  {Line: 10, Column: 1},
			"security.allowed_domains":  {Line: 11, Column: 20},
			"security.secret_scopes":    {Line: 12, Column: 18},
			"security.secret_scopes[0]": {Line: 12, Column: 19},
			"security.secret_scopes[1]": {Line: 12, Column: 27},
		},
	}
	if config != "" {
		d.Config = json.RawMessage(config)
	}
	return d
}

func TestStartup(t *testing.T) {
	type want struct {
		rule         string
		line, column int
		severity     handler.Severity
	}
	domains := handler.Security{AllowedDomains: []string{"api.example.com"}}
	tests := []struct {
		name string
		d    *handler.Descriptor
		want []want
	}{
		{"compute whose factory needs egress", desc("a", handler.CategoryCompute, egressFactory, handler.Security{}, ""),
			[]want{{"ARCH-005", 6, 24, handler.SeverityError}}},
		{"nondeterministic compute whose factory needs secrets", desc("b", handler.CategoryNondeterministicCompute, secretsFactory, handler.Security{}, ""),
			[]want{{"ARCH-005", 6, 24, handler.SeverityError}}},
		{"compute whose factory needs both", desc("c", handler.CategoryCompute, bothFactory, handler.Security{}, ""),
			[]want{{"ARCH-005", 6, 24, handler.SeverityError}}},
		{"compute on a pure factory", desc("d", handler.CategoryCompute, pureFactory, handler.Security{}, ""), nil},
		{"compute granting domains is SECURITY-306's", desc("e", handler.CategoryCompute, pureFactory, domains, ""), nil},
		{"effect whose factory dials, with domains", desc("f", handler.CategoryEffect, egressFactory, domains, ""), nil},
		{"effect granting domains to a factory that never dials", desc("g", handler.CategoryEffect, pureFactory, domains, ""),
			[]want{{"ARCH-006", 11, 20, handler.SeverityWarning}}},
		{"effect granting scopes to a factory that reads secrets", desc("h", handler.CategoryEffect, secretsFactory,
			handler.Security{SecretScopes: []string{"partner", "other"}}, ""), nil},
		{"scope used by a config secret reference, and one unused", desc("i", handler.CategoryEffect, pureFactory,
			handler.Security{SecretScopes: []string{"partner", "unused"}}, `{"token":{"secret":"partner/token"}}`),
			[]want{{"ARCH-006", 12, 27, handler.SeverityWarning}}},
		{"nondeterministic granting domains to a pure factory", desc("j", handler.CategoryNondeterministicCompute, pureFactory, domains, ""),
			[]want{{"ARCH-006", 11, 20, handler.SeverityWarning}}},
		{"factory not registered is CONTRACT-009's", desc("k", handler.CategoryCompute, "example.com/archcheck/none", handler.Security{}, ""), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := archcheck.Startup().Validate([]*handler.Descriptor{tt.d})
			if len(got) != len(tt.want) {
				t.Fatalf("got %d diagnostics, want %d: %v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				e := got[i]
				if string(e.RuleID) != w.rule || e.Line != w.line || e.Column != w.column || e.Severity != w.severity {
					t.Errorf("got %s (severity %s), want %s at %d:%d (%s)", e, e.Severity, w.rule, w.line, w.column, w.severity)
				}
				if e.FilePath != contractFile || e.HandlerIdentity != tt.d.Name || e.SourceType != handler.SourceContract {
					t.Errorf("located at %q for %q (%s)", e.FilePath, e.HandlerIdentity, e.SourceType)
				}
				if e.ErrorType != handler.ErrArchitectureViolation || e.RemediationHint == "" || e.Details["import_path"] != tt.d.ImportPath {
					t.Errorf("incomplete diagnostic %+v", e)
				}
			}
		})
	}
}

// TestStartupInPipeline runs the rules the way the host does, through
// validate.Set: ARCH-005 blocks, ARCH-006 alone does not.
func TestStartupInPipeline(t *testing.T) {
	tests := []struct {
		name     string
		descs    []*handler.Descriptor
		blocking bool
		summary  string
	}{
		{"pure handler doing I/O blocks", []*handler.Descriptor{
			desc("a", handler.CategoryCompute, egressFactory, handler.Security{}, ""),
		}, true, "1 error, 0 warnings in 1 file"},
		{"unused grant warns", []*handler.Descriptor{
			desc("g", handler.CategoryEffect, pureFactory, handler.Security{AllowedDomains: []string{"api.example.com"}}, ""),
		}, false, "0 errors, 1 warning in 1 file"},
		{"clean set", []*handler.Descriptor{
			desc("d", handler.CategoryCompute, pureFactory, handler.Security{}, ""),
			desc("f", handler.CategoryEffect, bothFactory, handler.Security{AllowedDomains: []string{"db.example.com"}, SecretScopes: []string{"db"}}, ""),
		}, false, "0 errors, 0 warnings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validate.Set(tt.descs, archcheck.Startup())
			if r.Blocking() != tt.blocking || r.Summary().String() != tt.summary {
				t.Errorf("blocking %v, summary %q; want %v, %q", r.Blocking(), r.Summary(), tt.blocking, tt.summary)
			}
			if tt.blocking && r.Err() == nil {
				t.Error("blocking report without an error")
			}
		})
	}
}
