package archcheck_test

import (
	"testing"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/onexhost/onex/archcheck"
	"github.com/onexhost/onex/diag/ruleid"
)

// TestAnalyzers runs each rule over its testdata packages: every `// want`
// comment must be matched by a diagnostic and every diagnostic by a comment.
func TestAnalyzers(t *testing.T) {
	tests := []struct {
		name     string
		analyzer *analysis.Analyzer
		rule     ruleid.ID
		pkgs     []string
	}{
		{"ARCH-001", archcheck.DirectDispatch, ruleid.ArchDirectDispatch, []string{"dispatch", "greettest", "faketest", "github.com/onexhost/onex/runtime"}},
		{"ARCH-002", archcheck.HandlerPublish, ruleid.ArchHandlerPublish, []string{"publish", "publishok", "bususer", "github.com/onexhost/onex/runtime"}},
		{"ARCH-003", archcheck.OrchestratorFSM, ruleid.ArchOrchestratorFSM, []string{"workflow"}},
		{"ARCH-004", archcheck.CapabilityIO, ruleid.ArchCapabilityIO, []string{"capio", "capiook", "registered", "capreach", "example.com/remote", "example.com/spool", "example.com/archive", "github.com/onexhost/onex/runtime"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results := analysistest.Run(t, analysistest.TestData(), tt.analyzer, tt.pkgs...)
			n := 0
			for _, r := range results {
				for _, d := range r.Diagnostics {
					n++
					f, ok := archcheck.ParseMessage(d.Message)
					if !ok {
						t.Errorf("%s: message not in the rule format: %q", r.Action.Package.Fset.Position(d.Pos), d.Message)
						continue
					}
					if f.Rule != tt.rule || d.Category != string(tt.rule) {
						t.Errorf("%s: rule %q, category %q, want %s", r.Action.Package.Fset.Position(d.Pos), f.Rule, d.Category, tt.rule)
					}
					if f.Hint == "" || f.Message == "" {
						t.Errorf("%s: empty message or remediation hint: %q", r.Action.Package.Fset.Position(d.Pos), d.Message)
					}
				}
			}
			if n == 0 {
				t.Errorf("%s reported nothing on its testdata", tt.name)
			}
		})
	}
}
