package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/onexhost/onex/diag"
)

// vetSample points the go command at the sample module of archcheck's testdata,
// whose imports of github.com/onexhost/onex resolve to this checkout through a
// go.work, and returns the module's directory.
func vetSample(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "archcheck", "testdata", "vetmod"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "go.work")
	if err := os.WriteFile(work, fmt.Appendf(nil, "go 1.26.8\n\nuse (\n\t%q\n\t%q\n)\n", dir, root), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOWORK", work)
	t.Setenv("GOPROXY", "off")
	return dir
}

func TestVetOutput(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := vetSample(t)
	tests := []struct {
		format string
		check  func(t *testing.T, out string)
	}{
		{"text", func(t *testing.T, out string) {
			for _, want := range []string{
				"greet/greet.go\n",
				"  greet/greet.go:27:20: error [ARCH-004] handler package makes an unguarded HTTP request with net/http.Get",
				"      remediation: use the egress-guarded HTTP client of the invocation",
				"  mirror/mirror.go:16:22: error [ARCH-004] handler package makes an unguarded HTTP request through remote.Fetch: (Mirror).Handle → remote.Fetch → net/http.Get",
				"  mirror/mirror.go:20:20: error [ARCH-004] handler package writes files through archive.Keep: (Mirror).Handle → archive.Keep → spool.Write → os.WriteFile",
				"  orders/orders.go:19:19: error [ARCH-001] direct call of Handle",
				"7 errors, 0 warnings in 3 files\n",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("text output lacks %q:\n%s", want, out)
				}
			}
		}},
		{"json", func(t *testing.T, out string) {
			var r diag.JSONReport
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			if r.Summary.Errors != 7 || r.Summary.Files != 3 || len(r.Diagnostics) != 7 {
				t.Fatalf("summary %+v, %d diagnostics", r.Summary, len(r.Diagnostics))
			}
			rules := map[string]bool{}
			for _, d := range r.Diagnostics {
				rules[string(d.RuleID)] = true
				if d.ErrorType != "architecture_violation" || d.RemediationHint == "" || d.FilePath == "" || d.Line == 0 || d.Column == 0 {
					t.Errorf("incomplete diagnostic %+v", d)
				}
			}
			for _, id := range []string{"ARCH-001", "ARCH-002", "ARCH-003", "ARCH-004"} {
				if !rules[id] {
					t.Errorf("no %s in %s", id, out)
				}
			}
		}},
		{"sarif", func(t *testing.T, out string) {
			var log struct {
				Version string `json:"version"`
				Runs    []struct {
					Results []struct {
						RuleID    string `json:"ruleId"`
						Locations []struct {
							PhysicalLocation struct {
								ArtifactLocation struct{ URI string }    `json:"artifactLocation"`
								Region           struct{ StartLine int } `json:"region"`
							} `json:"physicalLocation"`
						} `json:"locations"`
					} `json:"results"`
				} `json:"runs"`
			}
			if err := json.Unmarshal([]byte(out), &log); err != nil {
				t.Fatal(err)
			}
			if log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) != 7 {
				t.Fatalf("unexpected SARIF: %s", out)
			}
			first := log.Runs[0].Results[0]
			if first.RuleID != "ARCH-002" || first.Locations[0].PhysicalLocation.ArtifactLocation.URI != "greet/greet.go" ||
				first.Locations[0].PhysicalLocation.Region.StartLine != 9 {
				t.Errorf("first result %+v", first)
			}
		}},
		{"github", func(t *testing.T, out string) {
			want := "::error file=greet/greet.go,line=27,col=20,title=ARCH-004::[ARCH-004] handler package makes an unguarded HTTP request"
			if !strings.Contains(out, want) || !strings.Contains(out, ". Remediation: use the egress-guarded HTTP client") {
				t.Errorf("github output lacks %q:\n%s", want, out)
			}
			if n := strings.Count(out, "::error "); n != 7 {
				t.Errorf("%d annotations, want 7:\n%s", n, out)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			code, out, stderr := run(t, "vet", "-C", dir, "--format", tt.format, "./...")
			if code != ExitFailure {
				t.Fatalf("exit %d, want 1 on findings; stderr:\n%s", code, stderr)
			}
			tt.check(t, out)
		})
	}
}

func TestVetExitCodes(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := vetSample(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"clean package", []string{"vet", "-C", dir, "./clean"}, ExitOK, "0 errors, 0 warnings\n", ""},
		{"one package", []string{"vet", "--dir", dir, "./orders"}, ExitFailure, "2 errors, 0 warnings in 1 file\n", ""},
		{"unknown format", []string{"vet", "-C", dir, "--format", "xml"}, ExitUsage, "", "--format"},
		{"missing dir", []string{"vet", "-C", filepath.Join(dir, "nowhere")}, ExitUsage, "", "not a directory"},
		{"unknown flag", []string{"vet", "--nope"}, ExitUsage, "", "unknown flag"},
		{"unloadable package", []string{"vet", "-C", dir, "./nosuchpkg"}, ExitFailure, "", "nosuchpkg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := run(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, stderr)
			}
			if !strings.HasSuffix(out, tt.stdout) {
				t.Errorf("stdout does not end in %q:\n%s", tt.stdout, out)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr)
			}
		})
	}
}
