package contract_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/onexhost/onex/contract"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/policy"
	"github.com/onexhost/onex/validate"

	// The factories the templates name: generated contracts are validated
	// against the real handlers.
	_ "github.com/onexhost/onex/handlers/httpout"
	_ "github.com/onexhost/onex/handlers/transform"
)

type nopHandler struct{}

func (nopHandler) Handle(_ context.Context, _ *handler.Invocation) (handler.Output, error) {
	return handler.Output{}, nil
}

// strictFactory is a test factory that implements verbs and accepts exactly the
// config keys given.
func strictFactory(importPath string, verbs []string, keys ...string) handler.Factory {
	return handler.Factory{
		ImportPath: importPath,
		Verbs:      verbs,
		New: func(cfg json.RawMessage) (handler.Handler, error) {
			var m map[string]any
			if len(cfg) > 0 {
				if err := json.Unmarshal(cfg, &m); err != nil {
					return nil, err
				}
			}
			for k := range m {
				if !slices.Contains(keys, k) {
					return nil, fmt.Errorf("unknown config key %q", k)
				}
			}
			return nopHandler{}, nil
		},
	}
}

func init() {
	handler.Register(strictFactory("example.com/test/greeter", []string{"hello", "bye"}))
}

// TestTemplatesValidateClean generates every template and runs it through the
// whole registration path: decoder, descriptor and factory checks, and the
// security registration rules of a development and a production environment.
func TestTemplatesValidateClean(t *testing.T) {
	for _, name := range contract.Templates {
		t.Run(name, func(t *testing.T) {
			data, err := contract.Template(name, contract.TemplateOptions{Name: "partner-api"})
			if err != nil {
				t.Fatal(err)
			}
			c, errs := contract.Decode("handler_contract.yaml", data)
			if len(errs) > 0 {
				t.Fatalf("decode: %v\n%s", errs, data)
			}
			d := c.Descriptor()
			if errs := validate.Descriptor(d); len(errs) > 0 {
				t.Fatalf("validate: %v", errs)
			}
			for _, env := range []handler.Environment{handler.EnvDevelopment, handler.EnvProduction} {
				if errs := policy.DefaultEnvironment(env).Check(d); len(errs) > 0 {
					t.Errorf("%s policy: %v", env, errs)
				}
			}
			for _, cmd := range d.Commands {
				if cmd.Namespace() != "partner_api" {
					t.Errorf("command %s is not in the handler's namespace", cmd)
				}
			}
			switch name {
			case contract.TemplateCompute:
				if d.Category != handler.CategoryCompute || d.Security.SecretScopes != nil || d.Security.AllowedDomains != nil {
					t.Errorf("compute template: %+v", d)
				}
			case contract.TemplateEffect:
				if d.Category != handler.CategoryEffect || d.IsAdapter || len(d.Security.AllowedDomains) == 0 {
					t.Errorf("effect template: %+v", d)
				}
			case contract.TemplateEffectAdapter:
				s := d.Security
				if d.Category != handler.CategoryEffect || !d.IsAdapter || s.SecretScopes == nil || len(s.SecretScopes) != 0 ||
					len(s.AllowedDomains) == 0 || slices.Contains(s.AllowedDomains, "*") || s.ObservabilityLevel != handler.ObservabilityEnhanced {
					t.Errorf("effect-adapter template breaks the adapter policy: %+v", s)
				}
			}
		})
	}
}

func TestTemplateOptions(t *testing.T) {
	// A registered factory's verbs replace the template's when it lacks them.
	data, err := contract.Template(contract.TemplateEffect, contract.TemplateOptions{Name: "greeter", ImportPath: "example.com/test/greeter"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "commands_accepted: [greeter.hello]") || !strings.Contains(string(data), "import_path: example.com/test/greeter") {
		t.Errorf("template with a custom import path:\n%s", data)
	}
	for _, tc := range []struct {
		template string
		opts     contract.TemplateOptions
		inError  string
	}{
		{"workflow", contract.TemplateOptions{Name: "x"}, `unknown template "workflow"`},
		{"compute", contract.TemplateOptions{Name: "Bad Name"}, "does not match"},
		{"compute", contract.TemplateOptions{Name: ""}, "does not match"},
		{"compute", contract.TemplateOptions{Name: "x", ImportPath: "not a path"}, "not a Go import path"},
	} {
		if _, err := contract.Template(tc.template, tc.opts); err == nil || !strings.Contains(err.Error(), tc.inError) {
			t.Errorf("%s %+v: error %v, want %q", tc.template, tc.opts, err, tc.inError)
		}
	}
}

func TestNamespace(t *testing.T) {
	for name, want := range map[string]string{"orders": "orders", "partner-api": "partner_api", "acme.billing-v2": "acme_billing_v2", "a1.2b": "a1_2b"} {
		if got := contract.Namespace(name); got != want {
			t.Errorf("Namespace(%q) = %q, want %q", name, got, want)
		}
		if _, err := handler.ParseCommand(contract.Namespace(name) + ".verb"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
