package jsonschema

import (
	"context"
	"encoding/json"
	"errors"
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

// TestPayloadDocument: the payload is read as any JSON value, numbers with
// every digit, an empty payload as null; what is not JSON is an invalid
// payload.
func TestPayloadDocument(t *testing.T) {
	for _, tc := range []struct {
		name, schema, payload string
		valid                 bool
		invalidPayload        string
	}{
		{"large number within", `{"schema":{"maximum":12345678901234567890}}`, `12345678901234567890`, true, ""},
		{"large number just above", `{"schema":{"maximum":12345678901234567890}}`, `12345678901234567891`, false, ""},
		{"empty is null", `{"schema":{"type":"null"}}`, ` `, true, ""},
		{"empty is no object", `{"schema":{"type":"object"}}`, ``, false, ""},
		{"a string", `{"schema":{"type":"string","minLength":2}}`, `"ab"`, true, ""},
		{"not JSON", `{"schema":true}`, `{"a":}`, false, "invalid JSON"},
		{"two values", `{"schema":true}`, `1 2`, false, "unexpected data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := New(json.RawMessage(tc.schema))
			if err != nil {
				t.Fatal(err)
			}
			out, err := h.Handle(context.Background(), handler.NewInvocation(handler.InvocationParams{Payload: json.RawMessage(tc.payload)}))
			if tc.invalidPayload != "" {
				var he *handler.Error
				if !errors.As(err, &he) || he.Kind != handler.KindInvalidPayload || !strings.Contains(he.Message, tc.invalidPayload) {
					t.Fatalf("error %v, want an invalid payload with %q", err, tc.invalidPayload)
				}
				return
			}
			if err != nil || out.Result.(Result).Valid != tc.valid {
				t.Fatalf("result %+v, %v; want valid %v", out.Result, err, tc.valid)
			}
		})
	}
}

// BenchmarkValidate reads and validates a small valid document, the common
// call.
func BenchmarkValidate(b *testing.B) {
	h, err := New(json.RawMessage(personSchema))
	if err != nil {
		b.Fatal(err)
	}
	inv := handler.NewInvocation(handler.InvocationParams{Payload: json.RawMessage(`{"id":"abc","age":3,"email":"a@example.com"}`)})
	b.ReportAllocs()
	for b.Loop() {
		out, err := h.Handle(b.Context(), inv)
		if err != nil || !out.Result.(Result).Valid {
			b.Fatal(err)
		}
	}
}
