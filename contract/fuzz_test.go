package contract

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
)

// FuzzDecode feeds arbitrary bytes to the decoder: it must never panic, every
// failure must be a complete, located ValidationError of a catalog rule, and
// whatever it accepts must be a descriptor that holds every invariant.
func FuzzDecode(f *testing.F) {
	for _, tc := range decodeCases {
		f.Add([]byte(tc.doc))
	}
	golden, _ := filepath.Glob(filepath.Join("..", "testdata", "contracts", "*", "*.yaml"))
	for _, p := range golden {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, errs := Decode("fuzz.yaml", data)
		if (c == nil) == (len(errs) == 0) {
			t.Fatalf("Decode returned contract=%v with %d errors", c != nil, len(errs))
		}
		for _, e := range errs {
			checkError(t, e)
		}
		if c != nil {
			if verrs := c.Descriptor().Validate(); len(verrs) > 0 {
				t.Fatalf("accepted a contract whose descriptor is invalid: %v", verrs[0])
			}
		}
	})
}

// checkError asserts the invariants of every decoder error.
func checkError(t *testing.T, e *diag.ValidationError) {
	t.Helper()
	if _, ok := diag.Lookup(e.RuleID); !ok {
		t.Fatalf("rule %q is not in the catalog: %v", e.RuleID, e)
	}
	if e.RemediationHint == "" || e.Message == "" || e.HandlerIdentity == "" {
		t.Fatalf("incomplete error: %+v", e)
	}
	if e.SourceType != handler.SourceContract || e.FilePath == "" {
		t.Fatalf("error without provenance: %+v", e)
	}
	if e.Line < 1 || e.Column < 1 {
		t.Fatalf("error without position: %v", e)
	}
	if !e.Blocking() {
		t.Fatalf("decoder error does not block: %v", e)
	}
}
