package handler

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/onexhost/onex/internal/jsonref"
)

// decodeTarget has a field of every shape DecodeStrict words errors for.
type decodeTarget struct {
	Name       string            `json:"name"`
	Count      int               `json:"count"`
	Small      uint8             `json:"small"`
	Ratio      float64           `json:"ratio"`
	On         bool              `json:"on"`
	Headers    map[string]string `json:"headers"`
	Items      []decodeItem      `json:"items"`
	Any        any               `json:"any"`
	Num        json.Number       `json:"num"`
	Raw        json.RawMessage   `json:"raw"`
	Bytes      []byte            `json:"bytes"`
	At         time.Time         `json:"at"`
	Ptr        *decodeItem       `json:"ptr"`
	Duplicated string            `json:"duplicated"`
}

type decodeItem struct {
	SQL string `json:"sql"`
}

// TestDecodeStrictErrors: every fault is an invalid payload naming the field
// as encoding/json names it (keys joined by dots, array indices left out) and
// worded in JSON's terms.
func TestDecodeStrictErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, field, msg string
	}{
		{"unknown top-level field", `{"nme":"x"}`, "nme", "unknown field"},
		{"unknown nested field by its key", `{"items":[{"sql":"a"},{"sql":"b","x":1}]}`, "x", "unknown field"},
		{"unknown field in a pointer", `{"ptr":{"sq":"a"}}`, "sq", "unknown field"},
		{"string for an integer", `{"count":"ten"}`, "count", "expected integer, got JSON string"},
		{"fraction for an integer", `{"count":1.5}`, "count", "expected integer, got JSON number 1.5"},
		{"out of range", `{"small":300}`, "small", "expected integer, got JSON number 300 (out of range)"},
		{"bool for a number", `{"ratio":true}`, "ratio", "expected number, got JSON bool"},
		{"number for a bool", `{"on":1}`, "on", "expected bool, got JSON number"},
		{"array for an object", `{"headers":[]}`, "headers", "expected object, got JSON array"},
		{"map value by its key", `{"headers":{"X-A":1}}`, "headers.X-A", "expected string, got JSON number"},
		{"array element without its index", `{"items":[{"sql":"a"},{"sql":false}]}`, "items.sql", "expected string, got JSON bool"},
		{"object for an array", `{"items":{}}`, "items", "expected array, got JSON object"},
		{"number for base64 bytes", `{"bytes":1}`, "bytes", "expected string, got JSON number"},
		{"string for a json.Number", `{"num":"1x"}`, "num", "as json.Number: the string does not hold a JSON number"},
		{"a type's own parser", `{"at":"yesterday"}`, "at", "cannot read JSON string as time.Time"},
		{"not an object", `[1]`, "", "expected object, got JSON array"},
		{"syntax", `{"name":}`, "", "invalid JSON at offset 8"},
		{"syntax before meaning", `{"nme":"x",}`, "", "invalid JSON at offset"},
		{"meaning before trailing data", `{"nme":"x"} {}`, "nme", "unknown field"},
		{"trailing data", `{"name":"x"} {"name":"y"}`, "", "unexpected data after the JSON value"},
		{"truncated", `{"name":`, "", "invalid JSON at offset 8"},
		{"vertical tab after", "{}\v", "", "unexpected data after the JSON value"},
		{"form feed before", "\f{}", "", "invalid JSON at offset 0"},
		{"no-break space after", "{}\u00a0", "", "unexpected data after the JSON value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v decodeTarget
			err := DecodeStrict([]byte(tc.in), &v)
			var he *Error
			if !errors.As(err, &he) || he.Kind != KindInvalidPayload {
				t.Fatalf("DecodeStrict(%s) = %v, want an invalid-payload *Error", tc.in, err)
			}
			if he.Field != tc.field || !strings.Contains(he.Message, tc.msg) {
				t.Fatalf("DecodeStrict(%s): field %q message %q; want field %q message containing %q", tc.in, he.Field, he.Message, tc.field, tc.msg)
			}
		})
	}
}

// TestDecodeStrictReadsAsEncodingJSON: what DecodeStrict accepts, it reads as
// encoding/json's Decoder (UseNumber, DisallowUnknownFields) does.
func TestDecodeStrictReadsAsEncodingJSON(t *testing.T) {
	for _, in := range []string{
		``,
		` {"name":"a"} `,
		`{"NAME":"folded","Count":2}`,
		`{"name":"first","name":"last"}`,
		`{"name":"kept","name":null,"headers":{"a":"1"},"headers":{"b":"2"}}`,
		`{"headers":{"a":null},"items":[{"sql":"a"}],"items":null}`,
		`{"any":{"n":12345678901234567890,"l":[1.50,-0,"s",true,null]},"num":-1.5E+3}`,
		`{"raw":{"a" : [1, 2]},"bytes":"AAEC","at":"2026-12-07T10:00:00Z","ptr":{"sql":"p"}}`,
		`{"raw":null,"any":null,"ptr":null,"num":"-2.5e1"}`,
		`{"name":"caf\u00e9 \ud83d\ude00","headers":{"\u0041":"x"}}`,
		"{\"name\":\"bad utf-8 \xff\"}",
	} {
		var got, want decodeTarget
		if err := DecodeStrict([]byte(in), &got); err != nil {
			t.Errorf("DecodeStrict(%q): %v", in, err)
			continue
		}
		if err := jsonref.DecodeStrict([]byte(in), &want); err != nil {
			t.Fatalf("encoding/json rejects %q: %v", in, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeStrict(%q) = %+v; encoding/json reads %+v", in, got, want)
		}
	}
}

// FuzzDecodeStrict: DecodeStrict accepts what encoding/json's strict Decoder
// accepts, reads it alike, and names a field where encoding/json names one
// for an unknown field.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"name":"a","headers":{"a":"1","A":null}}`, `{"items":[{"sql":"a"},{"SQL":"b"}],"any":[1,{"x":2.5e3}]}`,
		`{"num":1,"num":"x"}`, `{"count":1e2}`, `{"small":-1}`, `{"raw":[1,2]}`, `{"x":null}`, `[]`, `null`, ` `, `{"name":"a"}x`, `{"bytes":"eA=="}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var got, want decodeTarget
		err := DecodeStrict([]byte(in), &got)
		wantErr := jsonref.DecodeStrict([]byte(in), &want)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: DecodeStrict %v, encoding/json %v", in, err, wantErr)
		}
		if err == nil {
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: DecodeStrict %+v, encoding/json %+v", in, got, want)
			}
			return
		}
		var he *Error
		if !errors.As(err, &he) || he.Kind != KindInvalidPayload || he.Message == "" {
			t.Fatalf("%q: %#v is not a worded invalid payload", in, err)
		}
		if u, ok := strings.CutPrefix(wantErr.Error(), "json: unknown field "); ok && he.Message == "unknown field" && strings.Trim(u, `"`) != he.Field && !strings.Contains(u, `\`) {
			t.Fatalf("%q: DecodeStrict names %q, encoding/json %s", in, he.Field, u)
		}
	})
}

// BenchmarkDecodeStrict reads a small payload into a struct with a map, the
// way a handler reads its payload on every call.
func BenchmarkDecodeStrict(b *testing.B) {
	type payload struct {
		URL     string            `json:"url"`
		Path    string            `json:"path"`
		Headers map[string]string `json:"headers"`
		Query   map[string]any    `json:"query"`
		Body    json.RawMessage   `json:"body"`
	}
	in := []byte(`{"path":"/items/1","query":{"v":"1"}}`)
	b.ReportAllocs()
	for b.Loop() {
		var p payload
		if err := DecodeStrict(in, &p); err != nil {
			b.Fatal(err)
		}
	}
}
