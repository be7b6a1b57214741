package archcheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestForbiddenTableCovered keeps the ARCH-004 tables and the analysistest
// expectations in step: every entry must be expected somewhere in
// testdata/src/capio, so a new entry comes with its test.
func TestForbiddenTableCovered(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "src", "capio", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no capio testdata: %v", err)
	}
	var want strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if _, w, ok := strings.Cut(line, "// want "); ok {
				want.WriteString(w + "\n")
			}
		}
	}
	expectations := want.String()
	var keys []string
	for k := range forbidden {
		keys = append(keys, k)
	}
	for k := range openFileFuncs {
		keys = append(keys, k)
	}
	for k := range forbiddenTypes {
		keys = append(keys, k[strings.LastIndex(k, "/")+1:]) // rendered as http.Client
	}
	for _, k := range keys {
		if !strings.Contains(expectations, regexp.QuoteMeta(k)) && !strings.Contains(expectations, k) {
			t.Errorf("ARCH-004 entry %s has no expectation in testdata/src/capio", k)
		}
	}
}

// TestKeyPkg checks the package path taken from each form of table key, which
// the filter in forbiddenUse relies on (TestAnalyzers checks every entry is
// still reported through it).
func TestKeyPkg(t *testing.T) {
	tests := []struct{ key, pkg string }{
		{"net.Dial", "net"},
		{"net/http.Get", "net/http"},
		{"(*net.Dialer).DialContext", "net"},
		{"(*crypto/tls.Dialer).Dial", "crypto/tls"},
		{"net/rpc/jsonrpc.Dial", "net/rpc/jsonrpc"},
		{"(*os.Root).OpenFile", "os"},
	}
	for _, tt := range tests {
		if got := keyPkg(tt.key); got != tt.pkg {
			t.Errorf("keyPkg(%q) = %q, want %q", tt.key, got, tt.pkg)
		}
	}
}
