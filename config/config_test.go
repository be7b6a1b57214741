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
