package policy

import (
	"testing"

	"github.com/onexhost/onex/contract"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
)

// TestRegistrationOnARealContract runs the rules on a descriptor decoded from a
// handler_contract.yaml, so every error is located at the contract key that
// caused it.
func TestRegistrationOnARealContract(t *testing.T) {
	const src = `contract_version: "1.0.0"
handler_identity:
  name: partner-ingress
  version: "1.0.0"
handler_type: infra_handler
handler_type_category: effect
is_adapter: true
commands_accepted: [partner.get]
implementation:
  import_path: github.com/onexhost/onex/handlers/httpout
config:
  base_url: https://api.partner.example
  headers:
    Authorization: {secret: "partner-api/bearer"}
security:
  secret_scopes: [partner-api, " "]
  allowed_domains: ["https://api.partner.example/", "*"]
  data_classification: secret
  observability_level: standard
`
	c, errs := contract.Decode("contracts/ingress/handler_contract.yaml", []byte(src))
	if errs != nil {
		t.Fatalf("decode: %v", errs)
	}
	env := DefaultEnvironment(handler.EnvStaging)
	env.PermittedSecretScopes = []string{"payments"}
	env.MaxDataClassification = handler.ClassificationRestricted
	got := env.Check(c.Descriptor())
	want := []struct {
		rule      handler.RuleID
		line, col int
	}{
		{ruleid.SecurityScopeNotPermitted, 16, 19},    // partner-api
		{ruleid.SecurityMalformedScope, 16, 32},       // " "
		{ruleid.SecurityClassificationTooHigh, 18, 3}, // secret > restricted
		{ruleid.SecurityAdapterSecrets, 16, 3},        // adapter with scopes
		{ruleid.SecurityAdapterObservability, 19, 3},  // standard
		{ruleid.SecurityDomainAllowlist, 17, 53},      // "*"
		{ruleid.SecurityMalformedDomain, 17, 21},      // URL
	}
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(got), len(want), render(got))
	}
	for i, w := range want {
		e := got[i]
		if e.RuleID != w.rule || e.Line != w.line || e.Column != w.col || e.FilePath != "contracts/ingress/handler_contract.yaml" ||
			e.HandlerIdentity != "partner-ingress" || e.RemediationHint == "" {
			t.Errorf("error %d = %v (%d:%d), want %s at %d:%d", i, e, e.Line, e.Column, w.rule, w.line, w.col)
		}
	}
}
