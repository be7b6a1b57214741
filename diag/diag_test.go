package diag

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/onexhost/onex/handler"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// specRuleIDs are the rule ids SPEC §7 names; the catalog must hold every one.
func specRuleIDs() []RuleID {
	var ids []RuleID
	add := func(prefix string, from, to int) {
		for i := from; i <= to; i++ {
			ids = append(ids, RuleID(prefix+"-"+pad(i, prefix)))
		}
	}
	add("CONTRACT", 1, 15)
	add("DESCRIPTOR", 1, 2)
	add("SECURITY", 300, 312)
	add("ARCH", 1, 4)
	add("RUNTIME", 1, 4)
	add("ENVELOPE", 1, 5)
	add("HANDLER", 1, 5)
	return ids
}

func pad(i int, prefix string) string {
	if prefix == "SECURITY" {
		return strconv.Itoa(i)
	}
	return fmt.Sprintf("%03d", i)
}

func TestCatalogHoldsEverySpecRule(t *testing.T) {
	for _, id := range specRuleIDs() {
		r, ok := Lookup(id)
		if !ok {
			t.Errorf("catalog lacks %s", id)
			continue
		}
		if r.Title == "" || r.Remediation == "" || !r.ErrorType.Valid() || !r.Severity.Valid() {
			t.Errorf("%s is incomplete: %+v", id, r)
		}
	}
}

func TestCatalogWellFormed(t *testing.T) {
	rules := Rules()
	if len(rules) != len(catalog) {
		t.Fatal("Rules() lost entries")
	}
	for i, r := range rules {
		if !r.ID.Valid() || r.Title == "" || r.Remediation == "" || !r.ErrorType.Valid() || !r.Severity.Valid() {
			t.Errorf("malformed rule %+v", r)
		}
		if i > 0 && CompareRuleIDs(rules[i-1].ID, r.ID) >= 0 {
			t.Errorf("Rules() not sorted at %s, %s", rules[i-1].ID, r.ID)
		}
	}
	if CompareRuleIDs("CONTRACT-2", "CONTRACT-10") >= 0 || CompareRuleIDs("HANDLER-1", "ARCH-1") <= 0 {
		t.Error("ids not ordered by family, then numerically")
	}
}

func TestNew(t *testing.T) {
	e := New("CONTRACT-004", "unknown field %q", "comands")
	if e.RuleID != "CONTRACT-004" || e.ErrorType != handler.ErrContractValidation || e.Severity != handler.SeverityError ||
		e.RemediationHint == "" || e.Message != `unknown field "comands"` {
		t.Errorf("New = %+v", e)
	}
	if e := New("RUNTIME-001", "%s", "100% literal"); e.Message != "100% literal" {
		t.Errorf("message = %q", e.Message)
	}
	defer func() {
		if recover() == nil {
			t.Error("New with an id outside the catalog must panic")
		}
	}()
	New("NOPE-1", "x")
}

func TestErrorsIsByRule(t *testing.T) {
	cause := New("CONTRACT-001", "bad yaml")
	e := New("CONTRACT-011", "config rejected")
	e.CausedBy = cause
	if !errors.Is(e, &ValidationError{RuleID: "CONTRACT-001"}) || errors.Is(e, &ValidationError{RuleID: "CONTRACT-002"}) {
		t.Error("errors.Is does not match rule ids along the chain")
	}
	av := &ArchitectureViolationError{ValidationError: New("ARCH-002", "publish")}
	var ve *ValidationError
	if !errors.As(error(av), &ve) || ve.RuleID != "ARCH-002" {
		t.Error("ArchitectureViolationError does not unwrap to its ValidationError")
	}
}

// fixture is the report every renderer golden renders.
func fixture() *Report {
	r := &Report{}
	e1 := New("CONTRACT-004", `unknown field "comands_accepted" (did you mean "commands_accepted"?)`)
	e1.HandlerIdentity, e1.SourceType = "partner-api", handler.SourceContract
	e1.FilePath, e1.Line, e1.Column = "contracts/partner/handler_contract.yaml", 12, 3
	e1.Details = map[string]any{"key": "comands_accepted"}

	e2 := New("SECURITY-308", "malformed domain pattern %q", "https://api.partner.example")
	e2.HandlerIdentity, e2.SourceType = "partner-api", handler.SourceContract
	e2.FilePath, e2.Line, e2.Column = "contracts/partner/handler_contract.yaml", 20, 7

	e3 := New("CONTRACT-011", "config rejected by github.com/onexhost/onex/handlers/db: dsn_secret is required")
	e3.HandlerIdentity, e3.SourceType = "orders-db", handler.SourceContract
	e3.FilePath, e3.Line, e3.Column = "contracts/orders, db/handler_contract.yaml", 14, 1
	e3.CausedBy = New("CONTRACT-002", "dsn_secret: required")
	e3.Severity = handler.SeverityWarning

	e4 := New("RUNTIME-001", "no handler could be registered")
	e4.SourceType = handler.SourceHybrid

	r.Add(e4, e3, nil, e2, e1)
	return r
}

func TestSummary(t *testing.T) {
	for _, tc := range []struct {
		s    Summary
		want string
	}{
		{Summary{Errors: 3, Warnings: 1, Files: 2}, "3 errors, 1 warning in 2 files"},
		{Summary{Errors: 1, Files: 1}, "1 error, 0 warnings in 1 file"},
		{Summary{}, "0 errors, 0 warnings"},
		{Summary{Errors: 2, Infos: 1}, "2 errors, 0 warnings, 1 info"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("%+v = %q, want %q", tc.s, got, tc.want)
		}
	}
	r := fixture()
	if s := r.Summary(); s.Errors != 3 || s.Warnings != 1 || s.Files != 2 || !r.Blocking() || r.Len() != 4 {
		t.Errorf("fixture summary %+v", s)
	}
	var re *ReportError
	if err := r.Err(); !errors.As(err, &re) || !strings.Contains(err.Error(), "3 errors, 1 warning in 2 files") {
		t.Errorf("Err = %v", err)
	}
	warn := &Report{}
	warn.Add(fixture().Diagnostics[1])
	if warn.Blocking() || warn.Err() != nil {
		t.Error("a warning alone must not block")
	}
}

func TestRenderGolden(t *testing.T) {
	tool := Tool{Name: "onex", Version: "1.0.0-test", InformationURI: "https://github.com/onexhost/onex"}
	for _, f := range Formats {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, fixture(), f, tool); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", "report."+string(f))
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./diag -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s output differs from %s:\n%s", f, golden, buf.String())
			}
		})
	}
}

func TestRenderEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, &Report{}, FormatJSON, DefaultTool); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"diagnostics": []`) {
		t.Errorf("empty JSON report must have an empty list: %s", buf.String())
	}
	buf.Reset()
	if err := Render(&buf, &Report{}, FormatText, DefaultTool); err != nil || buf.String() != "0 errors, 0 warnings\n" {
		t.Errorf("empty text report = %q, %v", buf.String(), err)
	}
	if err := Render(&buf, &Report{}, "xml", DefaultTool); err == nil {
		t.Error("unknown format accepted")
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("ParseFormat accepted xml")
	}
}

func TestJSONShape(t *testing.T) {
	var buf bytes.Buffer
	if err := RenderJSON(&buf, fixture()); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Diagnostics []map[string]any `json:"diagnostics"`
		Summary     map[string]any   `json:"summary"`
	}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	required := []string{"rule_id", "error_type", "severity", "message", "remediation_hint"}
	for _, d := range out.Diagnostics {
		for _, k := range required {
			if _, ok := d[k]; !ok {
				t.Errorf("diagnostic lacks %s: %v", k, d)
			}
		}
		for k, v := range d {
			if v == nil || v == "" || v == float64(0) {
				t.Errorf("optional %s present but empty in %v", k, d)
			}
		}
	}
	if out.Summary["errors"] != float64(3) || out.Summary["warnings"] != float64(1) || out.Summary["files"] != float64(2) {
		t.Errorf("summary = %v", out.Summary)
	}
}

func TestSARIFValidatesAgainstSchema(t *testing.T) {
	var buf bytes.Buffer
	if err := RenderSARIF(&buf, fixture(), DefaultTool); err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	schema, err := c.Compile("testdata/sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(doc); err != nil {
		t.Fatalf("SARIF output does not validate: %v", err)
	}
	// The schema must be able to fail: a log without runs is invalid.
	bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"version":"2.1.0"}`))
	if schema.Validate(bad) == nil {
		t.Fatal("schema accepted a log without runs; the validation proves nothing")
	}
}

func TestGitHubEscaping(t *testing.T) {
	e := New("CONTRACT-001", "%s", "line one\nline two: 100%")
	e.FilePath, e.Line = "a,b:c.yaml", 2
	var buf bytes.Buffer
	if err := RenderGitHub(&buf, &Report{Diagnostics: []*ValidationError{e}}); err != nil {
		t.Fatal(err)
	}
	want := "::error file=a%2Cb%3Ac.yaml,line=2,title=CONTRACT-001::[CONTRACT-001] line one%0Aline two: 100%25. Remediation: " + e.RemediationHint + "\n"
	if buf.String() != want {
		t.Errorf("got  %q\nwant %q", buf.String(), want)
	}
}

func TestFileURI(t *testing.T) {
	for in, want := range map[string]string{
		"contracts/a/handler_contract.yaml": "contracts/a/handler_contract.yaml",
		"/abs/x y.yaml":                     "file:///abs/x%20y.yaml",
		"https://registry.example/c.yaml":   "https://registry.example/c.yaml",
	} {
		if got := fileURI(in); got != want {
			t.Errorf("fileURI(%q) = %q, want %q", in, got, want)
		}
	}
}
