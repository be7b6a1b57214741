package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onexhost/onex/diag"
)

type level string

func (l *level) UnmarshalText(b []byte) error {
	if string(b) != "low" && string(b) != "high" {
		return fmt.Errorf("unknown level %q (valid: low, high)", b)
	}
	*l = level(b)
	return nil
}

type runtimeSection struct {
	Level          level         `yaml:"level"`
	Levels         []level       `yaml:"levels"`
	MaxConcurrency int           `yaml:"max_concurrency"`
	DrainTimeout   time.Duration `yaml:"drain_timeout"`
	Limits         struct {
		MaxEnvelopeBytes int `yaml:"max_envelope_bytes"`
	} `yaml:"limits"`
	Topics map[string]struct {
		Name string `yaml:"name"`
	} `yaml:"topics"`
}

func parse(t *testing.T, src string) (*File, []*diag.ValidationError) {
	t.Helper()
	return Parse("onex.yaml", []byte(src))
}

func only(t *testing.T, errs []*diag.ValidationError) *diag.ValidationError {
	t.Helper()
	if len(errs) != 1 {
		t.Fatalf("got %d errors, want 1: %v", len(errs), errs)
	}
	e := errs[0]
	if e.RuleID != "RUNTIME-002" || e.RemediationHint == "" || e.FilePath != "onex.yaml" {
		t.Fatalf("got %+v, want a located RUNTIME-002 with a hint", e)
	}
	return e
}

func TestDecodeSection(t *testing.T) {
	f, errs := parse(t, "runtime:\n  max_concurrency: 8\n  drain_timeout: 3s\n  limits:\n    max_envelope_bytes: 100\n")
	if errs != nil {
		t.Fatal(errs)
	}
	rt := runtimeSection{MaxConcurrency: 1}
	if errs := f.Decode("runtime", &rt); errs != nil {
		t.Fatal(errs)
	}
	if rt.MaxConcurrency != 8 || rt.DrainTimeout != 3*time.Second || rt.Limits.MaxEnvelopeBytes != 100 {
		t.Fatalf("decoded %+v", rt)
	}
	var other runtimeSection
	other.MaxConcurrency = 5
	if errs := f.Decode("bus", &other); errs != nil || other.MaxConcurrency != 5 {
		t.Fatalf("absent section changed dst or failed: %+v %v", other, errs)
	}
	if line, col := f.Position("runtime.limits.max_envelope_bytes"); line != 5 || col != 25 {
		t.Errorf("Position = %d:%d, want 5:25", line, col)
	}
}

func TestUnknownSection(t *testing.T) {
	_, errs := parse(t, "runtime: {}\nenviroment:\n  name: ci\n")
	e := only(t, errs)
	if e.Line != 2 || e.Column != 1 || !strings.Contains(e.Message, `did you mean "environment"`) {
		t.Errorf("got %v at %d:%d", e.Message, e.Line, e.Column)
	}
}

func TestUnknownKeysEveryLevel(t *testing.T) {
	f, errs := parse(t, "runtime:\n  max_concurency: 8\n  limits:\n    max_envelope_byte: 1\n  topics:\n    a: {nme: x}\n")
	if errs != nil {
		t.Fatal(errs)
	}
	errs = f.Decode("runtime", &runtimeSection{})
	if len(errs) != 3 {
		t.Fatalf("got %d errors, want 3: %v", len(errs), errs)
	}
	want := []struct {
		line, col int
		hint      string
	}{{2, 3, `"max_concurrency"`}, {4, 5, `"max_envelope_bytes"`}, {6, 9, `"name"`}}
	for i, w := range want {
		e := errs[i]
		if e.RuleID != "RUNTIME-002" || e.Line != w.line || e.Column != w.col || !strings.Contains(e.Message, w.hint) {
			t.Errorf("error %d = %v at %d:%d, want line %d col %d hint %s", i, e.Message, e.Line, e.Column, w.line, w.col, w.hint)
		}
	}
}

func TestWrongType(t *testing.T) {
	f, errs := parse(t, "runtime:\n  max_concurrency: lots\n")
	if errs != nil {
		t.Fatal(errs)
	}
	e := only(t, f.Decode("runtime", &runtimeSection{}))
	if e.Line != 2 {
		t.Errorf("line = %d, want 2 (%s)", e.Line, e.Message)
	}
}

func TestSyntaxError(t *testing.T) {
	_, errs := parse(t, "runtime:\n  max_concurrency: [1, 2\n")
	e := only(t, errs)
	if e.Line == 0 {
		t.Errorf("syntax error without a line: %v", e)
	}
}

func TestNotAMapping(t *testing.T) {
	only(t, func() []*diag.ValidationError { _, e := parse(t, "- a\n- b\n"); return e }())
}

func TestErrorf(t *testing.T) {
	f, _ := parse(t, "runtime:\n  max_concurrency: -1\n")
	e := f.Errorf("runtime.max_concurrency", "must be at least 1, got %d", -1)
	if e.RuleID != "RUNTIME-002" || e.Line != 2 || e.Column != 20 || e.FilePath != "onex.yaml" || e.Details["key"] != "runtime.max_concurrency" {
		t.Errorf("got %+v", e)
	}
}

func TestLoad(t *testing.T) {
	if f, errs := Load(""); errs != nil || f.Has("runtime") {
		t.Fatalf("Load(\"\") = %v, %v", f, errs)
	}
	_, errs := Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if e := errs[0]; len(errs) != 1 || e.RuleID != "RUNTIME-002" || e.RemediationHint == "" {
		t.Fatalf("missing file: %v", errs)
	}
	p := filepath.Join(t.TempDir(), "onex.yaml")
	if err := os.WriteFile(p, []byte("runtime:\n  max_concurrency: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, errs := Load(p)
	if errs != nil || !f.Has("runtime") || f.Path != p {
		t.Fatalf("Load = %+v, %v", f, errs)
	}
	if _, errs := Load(t.TempDir()); len(errs) != 1 {
		t.Fatalf("directory: %v", errs)
	}
}

func TestTextUnmarshalerErrorsAreLocated(t *testing.T) {
	f, errs := parse(t, "runtime:\n  level: medium\n  levels: [low, extreme]\n")
	if errs != nil {
		t.Fatal(errs)
	}
	errs = f.Decode("runtime", &runtimeSection{})
	if len(errs) != 2 {
		t.Fatalf("got %v", errs)
	}
	for i, want := range []struct {
		line, col int
		key       string
	}{{2, 10, "runtime.level"}, {3, 17, "runtime.levels[1]"}} {
		e := errs[i]
		if e.RuleID != "RUNTIME-002" || e.Line != want.line || e.Column != want.col || e.Details["key"] != want.key || !strings.Contains(e.Message, "valid: low, high") {
			t.Errorf("error %d: %v at %d:%d (%v)", i, e.Message, e.Line, e.Column, e.Details)
		}
	}
	var ok runtimeSection
	f, _ = parse(t, "runtime:\n  level: high\n  levels: [low]\n")
	if errs := f.Decode("runtime", &ok); errs != nil || ok.Level != "high" || len(ok.Levels) != 1 {
		t.Fatalf("valid values: %+v %v", ok, errs)
	}
}

// TestQuotedKeys: a quoted key is the same key as a plain one, as in a
// contract.
func TestQuotedKeys(t *testing.T) {
	f, errs := parse(t, "\"runtime\":\n  \"max_concurrency\": 4\n  'drain_timeout': 3s\n  limits: {\"max_envelope_bytes\": 9}\n")
	if errs != nil {
		t.Fatal(errs)
	}
	var rt runtimeSection
	if errs := f.Decode("runtime", &rt); errs != nil {
		t.Fatal(errs)
	}
	if rt.MaxConcurrency != 4 || rt.DrainTimeout != 3*time.Second || rt.Limits.MaxEnvelopeBytes != 9 {
		t.Fatalf("decoded %+v", rt)
	}
	if line, col := f.Position("runtime.max_concurrency"); line != 2 || col != 22 {
		t.Errorf("Position = %d:%d, want 2:22", line, col)
	}
	f, _ = parse(t, "runtime:\n  \"max_concurency\": 4\n")
	e := only(t, f.Decode("runtime", &runtimeSection{}))
	if e.Line != 2 || e.Column != 3 || !strings.Contains(e.Message, `unknown key "max_concurency" (did you mean "max_concurrency"?)`) {
		t.Errorf("got %v at %d:%d", e.Message, e.Line, e.Column)
	}
}

// TestWrongShape: a value of the wrong shape is reported at the value, with
// its key path, in YAML's words.
func TestWrongShape(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		line, col  int
		inMessage  string
	}{
		{"scalar for a list", "runtime:\n  levels: low\n", 2, 11, "runtime.levels: string was used where sequence is expected"},
		{"scalar for a mapping", "runtime:\n  limits: 5\n", 2, 11, "runtime.limits: number was used where mapping is expected"},
		{"list for a mapping", "runtime:\n  topics: [a]\n", 2, 11, "runtime.topics: sequence was used where mapping is expected"},
		{"mapping for a number", "runtime:\n  max_concurrency: {a: 1}\n", 2, 20, "runtime.max_concurrency: mapping was used where number is expected"},
		{"list for a duration", "runtime:\n  drain_timeout: [1s]\n", 2, 18, "runtime.drain_timeout: sequence was used where duration is expected"},
		{"section not a mapping", "runtime: [a]\n", 1, 10, "runtime: sequence was used where mapping is expected"},
		{"yes is not a boolean", "runtime:\n  strict: yes\n", 2, 11, `runtime.strict: "yes" is not a boolean`},
		{"a number is not a boolean", "runtime:\n  strict: 1\n", 2, 11, `runtime.strict: "1" is not a boolean`},
		{"a word is not a number", "runtime:\n  max_concurrency: lots\n", 2, 20, "lots"},
		{"a fraction is not an integer", "runtime:\n  max_concurrency: 1.5\n", 2, 20, "1.5"},
		{"not a duration", "runtime:\n  drain_timeout: 5x\n", 2, 18, "5x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, errs := parse(t, tc.yaml)
			if errs != nil {
				t.Fatal(errs)
			}
			var dst struct {
				runtimeSection `yaml:",inline"`
				Strict         bool `yaml:"strict"`
			}
			e := only(t, f.Decode("runtime", &dst))
			if e.Line != tc.line || e.Column != tc.col || !strings.Contains(e.Message, tc.inMessage) || e.Details["key"] != "runtime" {
				t.Errorf("got %q at %d:%d (%v), want %q at %d:%d", e.Message, e.Line, e.Column, e.Details, tc.inMessage, tc.line, tc.col)
			}
		})
	}
}

func TestBooleans(t *testing.T) {
	for doc, want := range map[string]bool{"strict: true": true, "strict: False": false, "strict: TRUE": true, "strict: ~": true} {
		f, errs := parse(t, "runtime:\n  "+doc+"\n")
		if errs != nil {
			t.Fatal(errs)
		}
		dst := struct {
			Strict bool `yaml:"strict"`
		}{Strict: true}
		if errs := f.Decode("runtime", &dst); errs != nil || dst.Strict != want {
			t.Errorf("%s: got %v %v, want %v", doc, dst.Strict, errs, want)
		}
	}
}

func TestDuplicateKey(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		line, col  int
	}{
		{"section", "runtime: {}\nbus: {}\nruntime: {}\n", 3, 1},
		{"nested", "runtime:\n  limits:\n    max_envelope_bytes: 1\n    max_envelope_bytes: 2\n", 4, 5},
		{"quoted and plain", "runtime:\n  max_concurrency: 1\n  \"max_concurrency\": 2\n", 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := parse(t, tc.yaml)
			e := only(t, errs)
			if e.Line != tc.line || e.Column != tc.col || !strings.Contains(e.Message, "appears twice") {
				t.Errorf("got %q at %d:%d, want %d:%d", e.Message, e.Line, e.Column, tc.line, tc.col)
			}
		})
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	f, errs := parse(t, "runtime:\n  <<: &base {max_concurrency: 3, drain_timeout: 2s}\n  drain_timeout: 5s\n  limits: {<<: [{max_envelope_bytes: 7}]}\n  topics: {a: &t {name: x}, b: *t}\n")
	if errs != nil {
		t.Fatal(errs)
	}
	var rt runtimeSection
	if errs := f.Decode("runtime", &rt); errs != nil {
		t.Fatal(errs)
	}
	if rt.MaxConcurrency != 3 || rt.DrainTimeout != 5*time.Second || rt.Limits.MaxEnvelopeBytes != 7 || rt.Topics["b"].Name != "x" {
		t.Fatalf("decoded %+v", rt)
	}
	f, _ = parse(t, "runtime:\n  <<: {max_concurency: 3}\n")
	e := only(t, f.Decode("runtime", &runtimeSection{}))
	if e.Line != 2 || e.Column != 8 || !strings.Contains(e.Message, `did you mean "max_concurrency"`) {
		t.Errorf("merged unknown key: got %q at %d:%d", e.Message, e.Line, e.Column)
	}
}

func TestPositions(t *testing.T) {
	f, errs := parse(t, "runtime:\n  limits:\n  topics:\n    a: {name: x}\n  levels:\n    - low\n    - high\nbus:\n")
	if errs != nil {
		t.Fatal(errs)
	}
	for path, want := range map[string][2]int{
		"runtime":                           {2, 3}, // a mapping: its first key
		"runtime.limits":                    {2, 3}, // no value: the key
		"runtime.limits.max_envelope_bytes": {2, 3}, // absent: the nearest ancestor
		"runtime.topics.a":                  {4, 8},
		"runtime.topics.a.name":             {4, 15},
		"runtime.levels[1]":                 {7, 7},
		"runtime.levels[9]":                 {6, 5},
		"bus":                               {8, 1},
		"admin":                             {0, 0},
	} {
		if line, col := f.Position(path); line != want[0] || col != want[1] {
			t.Errorf("Position(%s) = %d:%d, want %d:%d", path, line, col, want[0], want[1])
		}
	}
}

// TestSyntaxErrorPositions: a file that is not YAML is reported where
// yaml-language-server shows the mistake.
func TestSyntaxErrorPositions(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		line, col  int
	}{
		{"unclosed flow sequence", "runtime:\n  max_concurrency: [1, 2\nbus: {}\n", 3, 1},
		{"tab indentation", "runtime:\n\tmax_concurrency: 2\n", 2, 1},
		{"compact nested mapping", "runtime:\n  max_concurrency: 2: 3\n", 2, 20},
		{"key without colon", "runtime:\n  max_concurrency\n  drain_timeout: 1s\n", 2, 3},
		{"second document", "runtime: {}\n---\nbus: {}\n", 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := parse(t, tc.yaml)
			e := only(t, errs)
			if e.Line != tc.line || e.Column != tc.col {
				t.Errorf("got %q at %d:%d, want %d:%d", e.Message, e.Line, e.Column, tc.line, tc.col)
			}
		})
	}
}
