package db

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/validate"
)

// TestRejectedConfigIsCONTRACT011 runs a descriptor with a bad db config
// through the validation pipeline: the factory's error, naming the key,
// becomes CONTRACT-011 located at the descriptor's config.
func TestRejectedConfigIsCONTRACT011(t *testing.T) {
	d := &handler.Descriptor{
		Name: "orders", Version: "1.0.0", Type: handler.TypeInfra, Category: handler.CategoryEffect,
		Commands: []handler.Command{"orders.query"}, ImportPath: ImportPath,
		Config:     json.RawMessage(`{"dsn":{"secret":"orders/dsn"},"max_rows":-5}`),
		Security:   handler.Security{SecretScopes: []string{"orders"}, AllowedDomains: []string{"db.internal"}},
		SourceType: handler.SourceContract, Origin: "contracts/orders/handler_contract.yaml",
		Locations: map[string]handler.Location{"config": {Line: 12, Column: 3}},
	}
	errs := validate.Descriptor(d)
	if len(errs) != 1 {
		t.Fatalf("errors = %v, want one CONTRACT-011", errs)
	}
	e := errs[0]
	if e.RuleID != "CONTRACT-011" || e.HandlerIdentity != "orders" || e.Line != 12 || e.FilePath != d.Origin ||
		e.RemediationHint == "" || !strings.Contains(e.Message, "max_rows: must be positive") {
		t.Fatalf("error = %+v", e)
	}
	// The secret reference was validated as a placeholder, never read.
	d.Config = json.RawMessage(`{"dsn":{"secret":"orders/dsn"}}`)
	if errs := validate.Descriptor(d); len(errs) != 0 {
		t.Fatalf("a valid config with a secret reference: %v", errs)
	}
}
