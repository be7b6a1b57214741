package jsonschema

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/onexhost/onex/handler"
)

const personSchema = `{"schema":{"type":"object","required":["id"],"properties":{"id":{"type":"string","minLength":3},"age":{"type":"integer","minimum":0},"email":{"type":"string","format":"email"}},"additionalProperties":false},"assert_format":true}`

func TestValidate(t *testing.T) {
	h, err := New(json.RawMessage(personSchema))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, payload string
		valid         bool
		locations     []string
	}{
		{"valid", `{"id":"abc","age":3,"email":"a@example.com"}`, true, nil},
		{"missing id", `{"age":3}`, false, []string{""}},
		{"several", `{"id":"a","age":-1,"extra":1}`, false, []string{"", "/age", "/id"}},
		{"format asserted", `{"id":"abc","email":"nope"}`, false, []string{"/email"}},
		{"not an object", `[1]`, false, []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := h.Handle(context.Background(), handler.NewInvocation(handler.InvocationParams{Payload: json.RawMessage(tc.payload)}))
			if err != nil {
				t.Fatal(err)
			}
			res := out.Result.(Result)
			if res.Valid != tc.valid {
				t.Fatalf("valid = %v: %+v", res.Valid, res.Errors)
			}
			seen := map[string]bool{}
			for _, p := range res.Errors {
				if p.Message == "" || p.KeywordLocation == "" {
					t.Errorf("problem without message or keyword: %+v", p)
				}
				seen[p.InstanceLocation] = true
			}
			for _, l := range tc.locations {
				if !seen[l] {
					t.Errorf("no problem at %q in %+v", l, res.Errors)
				}
			}
		})
	}
}

func TestConfigRejected(t *testing.T) {
	for _, tc := range []struct{ cfg, want string }{
		{`{}`, "config.schema: a JSON Schema is required"},
		{`{"schema":{"type":"strin"}}`, "config.schema"},
		{`{"schema":{"$ref":"https://example.com/s.json"}}`, "schemas may only reference themselves"},
		{`{"schema":{"$ref":"file:///etc/passwd"}}`, "schemas may only reference themselves"},
		{`{"schema":{},"extra":1}`, "unknown field"},
	} {
		if _, err := New(json.RawMessage(tc.cfg)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%s) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestInternalReferences(t *testing.T) {
	h, err := New(json.RawMessage(`{"schema":{"$defs":{"id":{"type":"string"}},"properties":{"id":{"$ref":"#/$defs/id"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Handle(context.Background(), handler.NewInvocation(handler.InvocationParams{Payload: json.RawMessage(`{"id":5}`)}))
	if err != nil || out.Result.(Result).Valid {
		t.Fatalf("%+v %v", out, err)
	}
}
