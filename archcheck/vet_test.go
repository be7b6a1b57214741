package archcheck_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/onexhost/onex/archcheck"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sampleModule returns the sample module in testdata and the environment that
// lets the go command resolve its imports of github.com/onexhost/onex to this
// checkout: a go.work using both, and no network.
func sampleModule(t testing.TB) (dir string, env []string) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "vetmod"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "go.work")
	content := fmt.Sprintf("go 1.26.8\n\nuse (\n\t%q\n\t%q\n)\n", dir, root)
	if err := os.WriteFile(work, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, append(os.Environ(), "GOWORK="+work, "GOPROXY=off", "GOFLAGS=-buildvcs=false")
}

// finding is what the tests compare: rule and exact position.
type finding struct {
	Rule         ruleid.ID
	File         string
	Line, Column int
}

func (f finding) String() string { return fmt.Sprintf("%s:%d:%d %s", f.File, f.Line, f.Column, f.Rule) }

// sampleFindings are the violations planted in testdata/vetmod.
var sampleFindings = []finding{
	{"ARCH-002", "greet/greet.go", 9, 2},
	{"ARCH-002", "greet/greet.go", 15, 2},
	{"ARCH-004", "greet/greet.go", 27, 20},
	{"ARCH-004", "mirror/mirror.go", 16, 22},
	{"ARCH-004", "mirror/mirror.go", 20, 20},
	{"ARCH-003", "orders/orders.go", 14, 2},
	{"ARCH-001", "orders/orders.go", 19, 19},
}

// sampleChains are the calls that ARCH-004 names in the messages of the
// findings at those positions: a handler reaching I/O through helper packages.
var sampleChains = map[string]string{
	"greet/greet.go:27:20 ARCH-004":   "handler package makes an unguarded HTTP request with net/http.Get",
	"mirror/mirror.go:16:22 ARCH-004": "handler package makes an unguarded HTTP request through remote.Fetch: (Mirror).Handle → remote.Fetch → net/http.Get (it defines handler type Mirror)",
	"mirror/mirror.go:20:20 ARCH-004": "handler package writes files through archive.Keep: (Mirror).Handle → archive.Keep → spool.Write → os.WriteFile (it defines handler type Mirror)",
}

// checkChains checks the messages, keyed by finding, of the findings in
// sampleChains.
func checkChains(t *testing.T, messages map[string]string) {
	t.Helper()
	for at, want := range sampleChains {
		if msg, ok := messages[at]; ok && !strings.Contains(msg, want) {
			t.Errorf("%s: message %q does not contain %q", at, msg, want)
		}
	}
}

// findingsIn returns the sample findings in the package directory dir.
func findingsIn(dir string) []finding {
	var fs []finding
	for _, f := range sampleFindings {
		if strings.HasPrefix(f.File, dir+"/") {
			fs = append(fs, f)
		}
	}
	return fs
}

func sorted(fs []finding) []finding {
	slices.SortFunc(fs, func(a, b finding) int { return strings.Compare(a.String(), b.String()) })
	return fs
}

func TestVet(t *testing.T) {
	dir, env := sampleModule(t)
	tests := []struct {
		name     string
		patterns []string
		want     []finding
	}{
		{"whole module", []string{"./..."}, sampleFindings},
		{"one package", []string{"./orders"}, findingsIn("orders")},
		{"helpers reaching I/O", []string{"./mirror"}, findingsIn("mirror")},
		{"package named by its files", []string{"./mirror/mirror.go"}, findingsIn("mirror")},
		{"helper using the granted client", []string{"./relay"}, nil},
		{"clean package", []string{"./clean"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := archcheck.Vet(context.Background(), archcheck.VetConfig{Dir: dir, Env: env}, tt.patterns...)
			if err != nil {
				t.Fatal(err)
			}
			var got []finding
			messages := map[string]string{}
			for _, d := range r.Diagnostics {
				f := finding{d.RuleID, d.FilePath, d.Line, d.Column}
				got = append(got, f)
				messages[f.String()] = d.Message
				if d.ErrorType != handler.ErrArchitectureViolation || d.Severity != handler.SeverityError {
					t.Errorf("%s: error type %q severity %q", d.Location(), d.ErrorType, d.Severity)
				}
				if d.RemediationHint == "" || d.Message == "" || bytes.Contains([]byte(d.Message), []byte("Remediation:")) {
					t.Errorf("%s: message %q, hint %q", d.Location(), d.Message, d.RemediationHint)
				}
				if d.Details["package"] == "" {
					t.Errorf("%s: no package in details", d.Location())
				}
			}
			if !slices.Equal(sorted(got), sorted(slices.Clone(tt.want))) {
				t.Errorf("findings:\n got %v\nwant %v", got, tt.want)
			}
			checkChains(t, messages)
		})
	}
}

func TestVetErrors(t *testing.T) {
	dir, env := sampleModule(t)
	broken := t.TempDir()
	files := map[string]string{
		"go.mod":    "module example.com/broken\n\ngo 1.26\n",
		"bad/x.go":  "package bad\n\nfunc f() int { return \"not an int\" }\n",
		"good/x.go": "package good\n",
		"uses/x.go": "package uses\n\nimport _ \"example.com/broken/bad\"\n",
	}
	for name, content := range files {
		p := filepath.Join(broken, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		cfg     archcheck.VetConfig
		pattern string
		want    string
	}{
		{"missing package", archcheck.VetConfig{Dir: dir, Env: env}, "./nosuchpkg", `nosuchpkg`},
		{"type errors", archcheck.VetConfig{Dir: broken, Env: append(slices.Clip(env), "GOWORK=off")}, "./...", `bad/x.go:3:\d+: cannot use "not an int"`},
		{"type errors in a dependency", archcheck.VetConfig{Dir: broken, Env: append(slices.Clip(env), "GOWORK=off")}, "./uses", `bad/x.go:3:\d+: cannot use "not an int"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := archcheck.Vet(context.Background(), tt.cfg, tt.pattern)
			if err == nil {
				t.Fatalf("no error; report %v", r)
			}
			if !regexp.MustCompile(tt.want).MatchString(err.Error()) {
				t.Errorf("error %q does not match %s", err, tt.want)
			}
			t.Log(err)
		})
	}
}

// TestGoVetTool builds cmd/onex-vet and runs it as `go vet -vettool` on the
// sample module.
func TestGoVetTool(t *testing.T) {
	dir, env := sampleModule(t)
	bin := filepath.Join(t.TempDir(), "onex-vet")
	build := exec.Command("go", "build", "-o", bin, "../cmd/onex-vet")
	build.Env = env
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build onex-vet: %v\n%s", err, out)
	}

	vet := exec.Command("go", "vet", "-vettool="+bin, "./...")
	vet.Dir = dir
	vet.Env = env
	var stderr bytes.Buffer
	vet.Stderr = &stderr
	err := vet.Run()
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("go vet: want a non-zero exit for findings, got %v\n%s", err, stderr.String())
	}
	line := regexp.MustCompile(`(?m)^(\S+\.go):(\d+):(\d+): (\[ARCH-\d+\] .+\. Remediation: .+)$`)
	var got []finding
	messages := map[string]string{}
	for _, m := range line.FindAllStringSubmatch(stderr.String(), -1) {
		var f finding
		msg, ok := archcheck.ParseMessage(m[4])
		if !ok {
			t.Errorf("not a finding: %q", m[0])
			continue
		}
		f.File, f.Rule = filepath.ToSlash(m[1]), msg.Rule
		fmt.Sscan(m[2], &f.Line)
		fmt.Sscan(m[3], &f.Column)
		got = append(got, f)
		messages[f.String()] = msg.Message
	}
	if !slices.Equal(sorted(got), sorted(slices.Clone(sampleFindings))) {
		t.Errorf("go vet findings:\n got %v\nwant %v\noutput:\n%s", got, sampleFindings, stderr.String())
	}
	checkChains(t, messages)

	// A clean package passes go vet, and so does one whose helper uses the
	// granted client.
	clean := exec.Command("go", "vet", "-vettool="+bin, "./clean", "./relay")
	clean.Dir = dir
	clean.Env = env
	if out, err := clean.CombinedOutput(); err != nil {
		t.Errorf("go vet ./clean ./relay: %v\n%s", err, out)
	}
}
