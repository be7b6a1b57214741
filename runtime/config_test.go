package runtime

import (
	"strings"
	"testing"
	"time"

	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/handler"
)

func TestLoadConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		yaml  string
		keys  []string // keys of the expected RUNTIME-002 errors
		line  int      // line of the first error
		msg   string
		check func(t *testing.T, c Config)
	}{
		{name: "defaults", yaml: "", check: func(t *testing.T, c Config) {
			if c.MaxEnvelopeBytes != 1<<20 || c.DefaultDataClassification != handler.ClassificationInternal || c.RequestTopic != "onex.cmd.requests.v1" || c.InvocationTimeout != 30*time.Second {
				t.Errorf("%+v", c)
			}
		}},
		{name: "values", yaml: "runtime:\n  max_concurrency: 8\n  default_data_classification: public\n  invocation_timeout: 2s\n  handler_timeouts: {db: 1m}\n  optional_handlers: [db]\n", check: func(t *testing.T, c Config) {
			if c.MaxConcurrency != 8 || c.DefaultDataClassification != handler.ClassificationPublic || c.timeout("db") != time.Minute || c.timeout("x") != 2*time.Second {
				t.Errorf("%+v", c)
			}
		}},
		{name: "unknown key", yaml: "runtime:\n  max_concurency: 8\n", keys: []string{"runtime.max_concurency"}, line: 2, msg: `did you mean "max_concurrency"`},
		{name: "wrong type", yaml: "runtime:\n  max_concurrency: many\n", keys: []string{"runtime"}, line: 2},
		{name: "bad classification", yaml: "runtime:\n  default_data_classification: top\n", keys: []string{"runtime.default_data_classification"}, line: 2, msg: "public"},
		{name: "semantic", yaml: "runtime:\n  max_concurrency: 0\n  drain_timeout: -1s\n  max_envelope_bytes: 10\n  response_topic: onex.cmd.requests.v1\n",
			keys: []string{"runtime.drain_timeout", "runtime.max_concurrency", "runtime.max_envelope_bytes", "runtime.response_topic"}, line: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, errs := config.Parse("onex.yaml", []byte(tc.yaml))
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			c, errs := LoadConfig(f)
			if len(errs) != len(tc.keys) {
				t.Fatalf("errors %v, want keys %v", errs, tc.keys)
			}
			for i, e := range errs {
				if e.RuleID != "RUNTIME-002" || e.RemediationHint == "" || e.FilePath != "onex.yaml" || e.Line == 0 {
					t.Errorf("%+v", e)
				}
				if k, _ := e.Details["key"].(string); k != tc.keys[i] {
					t.Errorf("error %d key %q, want %q", i, k, tc.keys[i])
				}
			}
			if len(errs) > 0 && errs[0].Line != tc.line {
				t.Errorf("first error at line %d, want %d", errs[0].Line, tc.line)
			}
			if tc.msg != "" && !strings.Contains(errs[0].Message, tc.msg) {
				t.Errorf("message %q lacks %q", errs[0].Message, tc.msg)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}
