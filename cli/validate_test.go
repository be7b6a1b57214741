package cli

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/onexhost/onex/contract"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/source"
)

var goldenRoot = filepath.Join("..", "testdata", "contracts")

// golden is a case's expected.json.
type golden struct {
	Paths       []string `json:"paths"`
	Diagnostics []struct {
		RuleID          string `json:"rule_id"`
		File            string `json:"file"`
		Line            int    `json:"line"`
		Column          int    `json:"column"`
		HandlerIdentity string `json:"handler_identity"`
	} `json:"diagnostics"`
}

func (g golden) keys() []string {
	var out []string
	for _, d := range g.Diagnostics {
		out = append(out, fmt.Sprintf("%s %s:%d:%d %s", d.RuleID, d.File, d.Line, d.Column, d.HandlerIdentity))
	}
	slices.Sort(out)
	return out
}

// TestValidateGolden runs `onex validate` on every golden case: exit 1, and
// exactly the expected diagnostics, in JSON and in text.
func TestValidateGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(goldenRoot, "CONTRACT-*"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var want golden
			b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			args := []string{"validate", "--format", "json"}
			for _, p := range want.Paths {
				args = append(args, filepath.Join(dir, p))
			}
			code, out, stderr := run(t, args...)
			if code != ExitFailure {
				t.Fatalf("exit %d, want 1; stderr %s", code, stderr)
			}
			var got diag.JSONReport
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			var have golden
			for _, d := range got.Diagnostics {
				if d.RemediationHint == "" || d.HandlerIdentity == "" || d.SourceType == "" {
					t.Errorf("incomplete diagnostic %+v", d)
				}
				seen[string(d.RuleID)] = true
				rel := relTo(t, dir, d.FilePath)
				id := d.HandlerIdentity
				if strings.HasPrefix(id, "unknown@") {
					id = "unknown@" + relTo(t, dir, strings.TrimPrefix(id, "unknown@"))
				}
				have.Diagnostics = append(have.Diagnostics, struct {
					RuleID          string `json:"rule_id"`
					File            string `json:"file"`
					Line            int    `json:"line"`
					Column          int    `json:"column"`
					HandlerIdentity string `json:"handler_identity"`
				}{string(d.RuleID), rel, d.Line, d.Column, id})
			}
			if !slices.Equal(have.keys(), want.keys()) {
				t.Fatalf("diagnostics\n got %q\nwant %q", have.keys(), want.keys())
			}
			if got.Summary.Errors != len(want.Diagnostics) {
				t.Errorf("summary %+v", got.Summary)
			}

			// The text form names each file:line:col and rule.
			args[2] = "text"
			code, text, _ := run(t, args...)
			if code != ExitFailure {
				t.Fatalf("text: exit %d", code)
			}
			for _, d := range got.Diagnostics {
				loc := d.FilePath
				if d.Line > 0 {
					loc = fmt.Sprintf("%s:%d:%d", d.FilePath, d.Line, d.Column)
				}
				if !strings.Contains(text, loc+": error ["+string(d.RuleID)+"]") {
					t.Errorf("text output lacks %s [%s]:\n%s", loc, d.RuleID, text)
				}
			}
			if !strings.Contains(text, fmt.Sprintf("%d error", len(want.Diagnostics))) {
				t.Errorf("text output lacks the summary:\n%s", text)
			}
		})
	}
	for i := 1; i <= 16; i++ {
		if id := fmt.Sprintf("CONTRACT-%03d", i); !seen[id] {
			t.Errorf("no golden case triggers %s", id)
		}
	}
}

func relTo(t *testing.T, dir, path string) string {
	t.Helper()
	if path == "" {
		return ""
	}
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// TestValidateGoodAndBroken is a directory of 50 good contracts and 5 broken
// ones: 50 descriptors, and exactly the 5 expected errors in text and JSON.
func TestValidateGoodAndBroken(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	good := func(i int) string {
		return fmt.Sprintf(`contract_version: "1.0.0"
handler_identity:
  name: reshape-%02d
  version: "1.0.%d"
handler_type: compute_handler
handler_type_category: compute
commands_accepted: [reshape%02d.transform]
implementation:
  import_path: github.com/onexhost/onex/handlers/transform
config:
  filter: ".items[%d]"
security:
  data_classification: internal
`, i, i, i, i)
	}
	for i := range 50 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("good-%02d", i), contract.FileName), good(i))
	}
	broken := map[string]string{
		"broken-1": strings.Replace(good(50), "commands_accepted: [reshape50.transform]", "commands_accepted: [reshape50.transform", 1),
		"broken-2": strings.Replace(good(51), "handler_type: compute_handler", "handler_typ: compute_handler", 1),
		"broken-3": strings.Replace(good(52), "handler_type_category: compute", "handler_type_category: pure", 1),
		"broken-4": strings.Replace(good(53), "handlers/transform", "handlers/transformer", 1),
		"broken-5": strings.Replace(good(54), "reshape54.transform", "reshape54.query", 1),
	}
	for name, doc := range broken {
		writeFile(t, filepath.Join(dir, name, contract.FileName), doc)
	}
	file := func(name string) string { return filepath.Join(dir, name, contract.FileName) }
	want := []string{
		"CONTRACT-001 " + file("broken-1") + ":8:1",
		"CONTRACT-002 " + file("broken-2") + ":1:1",
		"CONTRACT-004 " + file("broken-2") + ":5:1",
		"CONTRACT-003 " + file("broken-3") + ":6:24",
		"CONTRACT-009 " + file("broken-4") + ":9:3",
		"CONTRACT-015 " + file("broken-5") + ":7:21",
	}
	// broken-2 is one broken contract with two errors: the misspelt key is
	// unknown (CONTRACT-004) and handler_type is therefore missing (CONTRACT-002).
	slices.Sort(want)

	descs, _, err := source.NewContract([]string{dir}, source.ContractOptions{}).Discover(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(descs) != 50 {
		t.Fatalf("%d descriptors, want 50", len(descs))
	}

	code, out, _ := run(t, "validate", "--format", "json", dir)
	if code != ExitFailure {
		t.Fatalf("exit %d", code)
	}
	var rep diag.JSONReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var got []string
	files := map[string]bool{}
	for _, d := range rep.Diagnostics {
		got = append(got, fmt.Sprintf("%s %s:%d:%d", d.RuleID, d.FilePath, d.Line, d.Column))
		files[d.FilePath] = true
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("JSON diagnostics\n got %q\nwant %q", got, want)
	}
	if len(files) != 5 || rep.Summary.Files != 5 || rep.Summary.Errors != len(want) {
		t.Errorf("%d files, summary %+v", len(files), rep.Summary)
	}

	code, text, _ := run(t, "validate", dir)
	if code != ExitFailure {
		t.Fatalf("text: exit %d", code)
	}
	var textGot []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		loc, rest, ok := strings.Cut(line, ": error [")
		if !ok {
			continue
		}
		rule, _, _ := strings.Cut(rest, "]")
		textGot = append(textGot, rule+" "+loc)
	}
	slices.Sort(textGot)
	if !slices.Equal(textGot, want) {
		t.Fatalf("text diagnostics\n got %q\nwant %q\n%s", textGot, want, text)
	}
	if !strings.Contains(text, "6 errors, 0 warnings in 5 files") {
		t.Errorf("summary line missing:\n%s", text)
	}
}

func TestValidateClean(t *testing.T) {
	code, out, _ := run(t, "validate", filepath.Join("..", "examples", "quickstart", "contracts"))
	if code != ExitOK || !strings.Contains(out, "0 errors, 0 warnings") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	code, out, _ = run(t, "validate", "--config", filepath.Join("..", "examples", "quickstart", "onex.yaml"), "--format", "json")
	var rep diag.JSONReport
	if code != ExitOK || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Diagnostics) != 0 {
		t.Fatalf("--config: exit %d:\n%s", code, out)
	}
}

func TestValidateFormatsAndUsage(t *testing.T) {
	dir := filepath.Join(goldenRoot, "CONTRACT-004")
	code, out, _ := run(t, "validate", "--format", "sarif", dir)
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []json.RawMessage `json:"results"`
		} `json:"runs"`
	}
	if code != ExitFailure || json.Unmarshal([]byte(out), &sarif) != nil || sarif.Version != "2.1.0" || len(sarif.Runs) != 1 || len(sarif.Runs[0].Results) != 2 {
		t.Errorf("sarif: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, "validate", "--format", "github", dir)
	if code != ExitFailure || strings.Count(out, "::error file=") != 2 || !strings.Contains(out, "line=5,col=1") {
		t.Errorf("github: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"validate", "--format", "xml", dir},
		{"validate", "--mode", "hybird", dir},
		{"validate", "--frmat", "json"},
	} {
		if code, _, stderr := run(t, args...); code != ExitUsage || !strings.Contains(stderr, "onex:") {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
}

func TestValidateConfigAndModes(t *testing.T) {
	dir := t.TempDir()
	contracts := filepath.Join(dir, "contracts")
	writeFile(t, filepath.Join(contracts, "x", contract.FileName), strings.ReplaceAll(`contract_version: "1.0.0"
handler_identity: {name: reshape, version: "1.0.0"}
handler_type: compute_handler
handler_type_category: compute
commands_accepted: [reshape.transform]
implementation: {import_path: github.com/onexhost/onex/handlers/transform}
config: {filter: "."}
`, "\t", ""))
	for _, tc := range []struct {
		name, yaml string
		args       []string
		code       int
		rules      []string
	}{
		{"contract paths from the config", "handler_source: {contract_paths: [./contracts]}\n", nil, ExitOK, nil},
		{"bad config key", "handler_source: {contract_path: [./contracts]}\n", nil, ExitFailure, []string{"RUNTIME-002"}},
		{"registry without url", "handler_source: {mode: registry}\n", nil, ExitFailure, []string{"RUNTIME-002"}},
		{"expired bootstrap", "handler_source: {mode: hybrid, contract_paths: [./contracts], bootstrap_expires_at: \"2020-01-01T00:00:00Z\"}\n", nil, ExitFailure, []string{"RUNTIME-003"}},
		{"hybrid in production without override", "environment: {name: production}\nhandler_source: {mode: hybrid, contract_paths: [./contracts]}\n", nil, ExitFailure, []string{"RUNTIME-003"}},
		{"--mode overrides the config", "handler_source: {mode: hybrid, bootstrap_expires_at: \"2020-01-01T00:00:00Z\"}\n", []string{"--mode", "contract", contracts}, ExitOK, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(dir, "onex.yaml")
			writeFile(t, cfg, tc.yaml)
			args := append([]string{"validate", "--format", "json", "--config", cfg}, tc.args...)
			code, out, stderr := run(t, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, out, stderr)
			}
			var rep diag.JSONReport
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			// Configuration rules, located in onex.yaml; the built-in
			// descriptors of production bring their own security errors.
			var rules []string
			for _, d := range rep.Diagnostics {
				if !strings.HasPrefix(string(d.RuleID), "RUNTIME-") {
					continue
				}
				rules = append(rules, string(d.RuleID))
				if d.FilePath != cfg || d.Line == 0 {
					t.Errorf("configuration error not located in %s: %+v", cfg, d)
				}
			}
			if !slices.Equal(rules, tc.rules) {
				t.Errorf("rules %v, want %v", rules, tc.rules)
			}
		})
	}
}

// TestValidateWritesNothing checks that validation leaves the tree untouched.
func TestValidateWritesNothing(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a", contract.FileName), "handler_identity: [\n")
	writeFile(t, filepath.Join(dir, "b", contract.FileName), "contract_version: \"1.0.0\"\n")
	before := snapshot(t, dir)
	for _, f := range []string{"text", "json", "sarif", "github"} {
		if code, _, _ := run(t, "validate", "--format", f, dir); code != ExitFailure {
			t.Fatalf("%s: exit %d", f, code)
		}
	}
	if after := snapshot(t, dir); after != before {
		t.Fatalf("validate changed the tree:\n%s\n%s", before, after)
	}
}

func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := de.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %s %d\n", p, info.Size(), info.Mode(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestValidateNothingFound: validate cannot pass on nothing. An empty
// directory, a tree without contracts (by arguments or by onex.yaml) and a path
// that does not exist each fail with a rule id at the path searched and a
// hint, in text and in JSON.
func TestValidateNothingFound(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(dir, "tree")
	writeFile(t, filepath.Join(tree, "svc", "contract.yml"), "not a contract\n")
	missing := filepath.Join(dir, "no-such-dir")
	writeFile(t, filepath.Join(dir, "onex.yaml"), "handler_source: {mode: contract, contract_paths: [./tree]}\n")
	for _, tc := range []struct {
		name string
		args []string
		rule diag.RuleID
		path string
		hint string // the start of the remediation
	}{
		{"empty directory", []string{empty}, "CONTRACT-020", empty, "point the path"},
		{"tree without contracts", []string{tree}, "CONTRACT-020", tree, "point the path"},
		{"tree from onex.yaml", []string{"--config", filepath.Join(dir, "onex.yaml")}, "CONTRACT-020", tree, "point the path"},
		{"wrong path", []string{missing}, "CONTRACT-007", missing, "check the path"},
	} {
		t.Run(tc.name+"/json", func(t *testing.T) {
			code, out, stderr := run(t, append([]string{"validate", "--format", "json"}, tc.args...)...)
			if code != ExitFailure {
				t.Fatalf("exit %d, want 1\n%s%s", code, out, stderr)
			}
			var got diag.JSONReport
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if len(got.Diagnostics) != 1 {
				t.Fatalf("want one diagnostic, got %+v", got.Diagnostics)
			}
			d := got.Diagnostics[0]
			if d.RuleID != tc.rule || d.FilePath != tc.path || !strings.Contains(d.Message, tc.path) || !strings.HasPrefix(d.RemediationHint, tc.hint) {
				t.Errorf("diagnostic %+v, want %s at %s with a hint", d, tc.rule, tc.path)
			}
		})
		t.Run(tc.name+"/text", func(t *testing.T) {
			code, out, stderr := run(t, append([]string{"validate"}, tc.args...)...)
			if code != ExitFailure {
				t.Fatalf("exit %d, want 1\n%s%s", code, out, stderr)
			}
			for _, w := range []string{"[" + string(tc.rule) + "]", tc.path, "remediation: " + tc.hint, "1 error"} {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
