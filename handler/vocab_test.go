package handler

import (
	"encoding"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// vocab describes one closed vocabulary for the table tests.
type vocab struct {
	kind   string
	values []string
	parse  func(string) (encoding.TextMarshaler, error)
	fresh  func() encoding.TextUnmarshaler
}

func enumVocab[T ~string](kind string, values []T, parse func(string) (T, error)) vocab {
	vs := make([]string, len(values))
	for i, v := range values {
		vs[i] = string(v)
	}
	return vocab{
		kind:   kind,
		values: vs,
		parse: func(s string) (encoding.TextMarshaler, error) {
			v, err := parse(s)
			if err != nil {
				return nil, err
			}
			return any(v).(encoding.TextMarshaler), nil
		},
		fresh: func() encoding.TextUnmarshaler { return any(new(T)).(encoding.TextUnmarshaler) },
	}
}

func vocabularies() []vocab {
	caps := enumVocab("capability", KnownCapabilities, ParseCapability)
	caps.values = append(caps.values, "x.acme.fast-path", "x.vendor2.my_cap")
	cls := vocab{
		kind:   "data_classification",
		values: []string{"public", "internal", "confidential", "restricted", "secret"},
		parse: func(s string) (encoding.TextMarshaler, error) {
			v, err := ParseClassification(s)
			if err != nil {
				return nil, err
			}
			return v, nil
		},
		fresh: func() encoding.TextUnmarshaler { return new(Classification) },
	}
	cmds := enumVocab("command", []Command{"db.query", "orders.v2.query", "a.b", "x_1.y_2"}, ParseCommand)
	return []vocab{
		enumVocab("source type", SourceTypes, ParseSourceType),
		enumVocab("handler_type", HandlerTypes, ParseHandlerType),
		enumVocab("handler_type_category", Categories, ParseCategory),
		caps,
		cmds,
		cls,
		enumVocab("observability_level", ObservabilityLevels, ParseObservabilityLevel),
		enumVocab("environment", Environments, ParseEnvironment),
		enumVocab("error_type", ErrorTypes, ParseErrorType),
		enumVocab("severity", Severities, ParseSeverity),
	}
}

func TestVocabularyRoundTrip(t *testing.T) {
	for _, v := range vocabularies() {
		for _, s := range v.values {
			t.Run(v.kind+"/"+s, func(t *testing.T) {
				parsed, err := v.parse(s)
				if err != nil {
					t.Fatalf("parse(%q): %v", s, err)
				}
				if str := parsed.(interface{ String() string }).String(); str != s {
					t.Errorf("String() = %q, want %q", str, s)
				}
				text, err := parsed.MarshalText()
				if err != nil || string(text) != s {
					t.Fatalf("MarshalText = %q, %v", text, err)
				}
				dst := v.fresh()
				if err := dst.UnmarshalText(text); err != nil {
					t.Fatalf("UnmarshalText(%q): %v", text, err)
				}
				if again, _ := dst.(encoding.TextMarshaler).MarshalText(); string(again) != s {
					t.Errorf("round trip gave %q", again)
				}
				// Through JSON too, as on the wire.
				j, err := json.Marshal(parsed)
				if err != nil || string(j) != `"`+s+`"` {
					t.Errorf("json = %s, %v", j, err)
				}
			})
		}
	}
}

func TestVocabularyRejects(t *testing.T) {
	bad := map[string][]string{
		"capability": {"", " ", "Transform", "x.acme", "x..b", "y.acme.c", "x.Acme.c"},
		"command":    {"", "db", "DB.query", "db.", ".query", "db..query", "db.query-all", "1db.query", "db. query"},
	}
	for _, v := range vocabularies() {
		cases := append([]string{"", " ", "bogus", strings.ToUpper(v.values[0]), v.values[0] + " "}, bad[v.kind]...)
		for _, s := range cases {
			t.Run(v.kind+"/"+s, func(t *testing.T) {
				_, err := v.parse(s)
				var ve *VocabularyError
				if !errors.As(err, &ve) {
					t.Fatalf("parse(%q) = %v, want a *VocabularyError", s, err)
				}
				if ve.Kind != v.kind || ve.Value != s {
					t.Errorf("error %+v does not name the vocabulary and value", ve)
				}
				msg := err.Error()
				if !strings.Contains(msg, v.kind) || !strings.Contains(msg, "valid:") {
					t.Errorf("error %q does not name the vocabulary and the valid values", msg)
				}
				if v.kind != "command" && v.kind != "capability" {
					for _, valid := range v.values {
						if !strings.Contains(msg, valid) {
							t.Errorf("error %q does not list %q", msg, valid)
						}
					}
				}
				if err := v.fresh().UnmarshalText([]byte(s)); err == nil {
					t.Errorf("UnmarshalText(%q) accepted", s)
				}
			})
		}
	}
}

func TestInvalidValuesDoNotMarshal(t *testing.T) {
	for _, m := range []encoding.TextMarshaler{
		SourceType("x"), HandlerType(""), Category("adapter"), Capability("X"), Command("nope"),
		Classification(0), Classification(9), ObservabilityLevel("max"), Environment("prod"),
		ErrorType("oops"), Severity("fatal"),
	} {
		if b, err := m.MarshalText(); err == nil {
			t.Errorf("%T(%v) marshalled to %q", m, m, b)
		}
	}
}

func TestClassificationOrder(t *testing.T) {
	for i := 1; i < len(Classifications); i++ {
		lo, hi := Classifications[i-1], Classifications[i]
		if !(lo < hi) || !hi.Exceeds(lo) || lo.Exceeds(hi) || hi.Exceeds(hi) {
			t.Errorf("order broken between %v and %v", lo, hi)
		}
	}
	if ClassificationUnset.OrDefault() != ClassificationInternal {
		t.Error("unset classification does not default to internal")
	}
	if !ClassificationConfidential.Exceeds(ClassificationUnset) || ClassificationInternal.Exceeds(ClassificationUnset) {
		t.Error("Exceeds does not apply the default")
	}
}

func TestCommandParts(t *testing.T) {
	for _, tc := range []struct{ cmd, ns, verb string }{
		{"db.query", "db", "query"},
		{"orders.v2.query", "orders.v2", "query"},
	} {
		c := Command(tc.cmd)
		if c.Namespace() != tc.ns || c.Verb() != tc.verb {
			t.Errorf("%s: namespace %q verb %q", tc.cmd, c.Namespace(), c.Verb())
		}
	}
	if !Capability("x.acme.fast").IsExtension() || CapRetry.IsExtension() {
		t.Error("IsExtension wrong")
	}
}

func TestSeverityBlocking(t *testing.T) {
	if !SeverityError.Blocking() || SeverityWarning.Blocking() || SeverityInfo.Blocking() {
		t.Error("only error blocks")
	}
}
