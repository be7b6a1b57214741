package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onexhost/onex/handler"
)

const securityTestPath = "example.com/clitest/security"

func init() {
	handler.Register(handler.Factory{ImportPath: securityTestPath, Verbs: []string{"get"},
		New: func(json.RawMessage) (handler.Handler, error) { return securityTestHandler{}, nil }})
}

type securityTestHandler struct{}

func (securityTestHandler) Handle(context.Context, *handler.Invocation) (handler.Output, error) {
	return handler.Output{}, nil
}

// TestValidateRunsSecurityRules: `onex validate` runs the registration rules of
// the environment in onex.yaml, each located at the contract key.
func TestValidateRunsSecurityRules(t *testing.T) {
	dir := t.TempDir()
	contract := `contract_version: "1.0.0"
handler_identity:
  name: partner-ingress
  version: "1.0.0"
handler_type: infra_handler
handler_type_category: effect
is_adapter: true
commands_accepted: [partner.get]
implementation:
  import_path: ` + securityTestPath + `
security:
  secret_scopes: [partner-api]
  allowed_domains: ["*"]
`
	if err := os.WriteFile(filepath.Join(dir, "handler_contract.yaml"), []byte(contract), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "onex.yaml")
	if err := os.WriteFile(cfg, []byte("environment:\n  name: staging\n  permitted_secret_scopes: [db]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "validate", "--config", cfg, "--format", "json", dir)
	if code != ExitFailure {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	var report struct {
		Diagnostics []struct {
			RuleID  string `json:"rule_id"`
			Handler string `json:"handler_identity"`
			File    string `json:"file_path"`
			Line    int    `json:"line"`
			Hint    string `json:"remediation_hint"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := map[string]int{"SECURITY-300": 12, "SECURITY-302": 12, "SECURITY-304": 13, "SECURITY-309": 11}
	got := map[string]int{}
	for _, d := range report.Diagnostics {
		if !strings.HasPrefix(d.RuleID, "SECURITY-") {
			continue
		}
		got[d.RuleID] = d.Line
		if d.Handler != "partner-ingress" || d.Hint == "" || !strings.HasSuffix(d.File, "handler_contract.yaml") {
			t.Errorf("diagnostic %+v", d)
		}
	}
	for rule, line := range want {
		if got[rule] != line {
			t.Errorf("%s at line %d, want %d (all: %v)", rule, got[rule], line, got)
		}
	}
}
