package handler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// referenceResolve is what ResolveSecretRefs did by decoding the config into
// maps and slices, walking them in key order and marshalling the result: the
// reference its results are checked against.
func referenceResolve(config []byte, resolve func(string, SecretRef) (string, error)) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(config))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return referenceWalk(v, "config", resolve)
}

func referenceWalk(v any, path string, resolve func(string, SecretRef) (string, error)) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if raw, ok := x["secret"]; ok && len(x) == 1 {
			s, isString := raw.(string)
			if !isString {
				return nil, fmt.Errorf("%s: secret reference must be a \"scope/key\" string", path)
			}
			ref, err := ParseSecretRef(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return resolve(path, ref)
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			r, err := referenceWalk(x[k], path+"."+k, resolve)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
	case []any:
		for i, e := range x {
			r, err := referenceWalk(e, fmt.Sprintf("%s[%d]", path, i), resolve)
			if err != nil {
				return nil, err
			}
			x[i] = r
		}
	}
	return v, nil
}

// decodeAny decodes JSON with numbers as written.
func decodeAny(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

func TestRedactSecretRefs(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{"the whole config", `{"secret":"a/b"}`, `"[redacted]"`, ""},
		{"a header", `{"base_url":"https://api.example","timeout":"10s","headers":{"Authorization":{"secret":"partner/bearer"}}}`,
			`{"base_url":"https://api.example","timeout":"10s","headers":{"Authorization":"[redacted]"}}`, ""},
		{"kept as written", ` { "b" : { "secret" : "x/y" } , "n" : 1.50 , "c" : { } } `, ` { "b" : "[redacted]" , "n" : 1.50 , "c" : { } } `, ""},
		{"in arrays", `{"k":[[[[{"secret":"a/b"}]]]],"j":"v"}`, `{"k":[[[["[redacted]"]]]],"j":"v"}`, ""},
		{"not alone", `[{"secret":"a/b"},{"secret":"c/d","other":1}]`, `["[redacted]",{"secret":"c/d","other":1}]`, ""},
		{"not first", `{"other":1,"secret":"c/d"}`, `{"other":1,"secret":"c/d"}`, ""},
		{"inside a member named secret", `{"secret":{"x":{"secret":"a/b"}},"y":2}`, `{"secret":{"x":"[redacted]"},"y":2}`, ""},
		{"escapes and non-ASCII kept", `{"a":"<html> & \u00e9","s":{"secret":"a/b"},"c":"café"}`, `{"a":"<html> & \u00e9","s":"[redacted]","c":"café"}`, ""},
		{"without references", `{"secret_scope":"x","b":[1]}`, `{"secret_scope":"x","b":[1]}`, ""},
		{"a string that says secret", `"secret"`, `"secret"`, ""},
		{"not a string", `{"a":{"secret":5}}`, "", `config.a: secret reference must be a "scope/key" string`},
		{"a reference in a reference", `{"a":{"secret":{"secret":"a/b"}}}`, "", `config.a: secret reference must be a "scope/key" string`},
		{"no key", `{"a":{"secret":"nokey"}}`, "", `config.a: secret reference "nokey" is not scope/key`},
		{"blank scope", `{"s":{"secret":" /b"}}`, "", "config.s: secret reference"},
		{"blank key", `{"s":[{"secret":"a/ "}]}`, "", "config.s[0]: secret reference"},
		{"trailing data", `{"s":{"secret":"a/b"}} trailing`, "", "config: "},
		{"a second value", `{"s":{"secret":"a/b"}}{"x":1}`, "", "config: unexpected data"},
		{"a trailing comma", `{"s":{"secret":"a/b"},}`, "", "config: "},
		{"truncated", `{"secret":"a/b"`, "", "config: "},
		{"an escaped name", `{"a":{"secr\u0065t":"a/b"},"b":{"secret":"c/d"}}`, `{"a":"[redacted]","b":"[redacted]"}`, ""},
		{"secret twice is no reference", `{"secret":"a/b","secret":"c/d"}`, `{"secret":"a/b","secret":"c/d"}`, ""},
		{"a name twice beside a reference", `{"b":1,"a":{"secret":"a/b"},"b":3}`, `{"b":1,"a":"[redacted]","b":3}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RedactSecretRefs(json.RawMessage(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("RedactSecretRefs(%s) = %s, %v; want an error with %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("RedactSecretRefs(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestResolveSecretRefsAsReference: resolved values are quoted as JSON, and
// the result means what decoding, walking and marshalling gave.
func TestResolveSecretRefsAsReference(t *testing.T) {
	resolve := func(path string, ref SecretRef) (string, error) {
		return "v\"<" + path + ">\u2028\\" + ref.String(), nil
	}
	for _, in := range []string{
		`{"z":1,"a":[1,2.5,-3e10,0,{"secret":"s/k"}],"m":{"y":true,"x":false,"w":null}}`,
		`{"":[[[[{"secret":"0/0"}]]]]," ":""}`,
		`{"ab":1,"a":{"secret":"s/k"}}`,
		`[{"secret":"a/b/c"},{"q":{"secret":"x/y"}},"secret"]`,
	} {
		got, err := ResolveSecretRefs(json.RawMessage(in), resolve)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		want, _ := referenceResolve([]byte(in), resolve)
		if v, err := decodeAny(got); err != nil || !reflect.DeepEqual(v, want) {
			t.Errorf("ResolveSecretRefs(%s) = %s (%v), want the value %v", in, got, err, want)
		}
	}
}

func FuzzRedactSecretRefs(f *testing.F) {
	for _, c := range []string{
		`{"secret":"a/b"}`, `{"z":1,"a":[1,2.5,{"secret":"s/k"}],"m":{"y":true}}`, ` { "b" : { "secret" : "x/y" } } `,
		`[{"secret":"a/b"},{"secret":"c/d","other":1}]`, `{"secret":"a/b","secret":"c/d"}`, `{"a":{"secret":5}}`,
		`{"a":{"secret":{"secret":"a/b"}}}`, `{"a":"caf\u00e9","s":{"secret":"a/b"}}`, `{"a":01,"s":{"secret":"a/b"}}`,
		`{"s":{"secret":"a/b"}} x`, `{"s":{"secret":"a/b/c"}}`, `"secret"`, `{"secret":"a/b"`, `{"m":{"secret":"x","n":{"secret":"s/k"}}}`,
	} {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := RedactSecretRefs(in)
		if !bytes.Contains(in, []byte(`"secret"`)) {
			if err != nil || !bytes.Equal(got, in) {
				t.Fatalf("%q has no reference but gives %q, %v", in, got, err)
			}
			return
		}
		doc := jsontext.Value(bytes.Trim(in, " \t\r\n"))
		if !doc.IsValid(jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true)) {
			if err == nil && len(doc) > 0 && string(doc) != "null" {
				t.Fatalf("%q is not one JSON value, yet gives %q", in, got)
			}
			return
		}
		if !doc.IsValid(jsontext.AllowInvalidUTF8(true)) {
			return // a name given twice: the reference, decoded into maps, keeps the last
		}
		want, wantErr := referenceResolve(in, func(string, SecretRef) (string, error) { return Redacted, nil })
		if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
			t.Fatalf("%q: error %v, the reference gives %v", in, err, wantErr)
		}
		if err != nil {
			return
		}
		if v, derr := decodeAny(got); derr != nil || !reflect.DeepEqual(v, want) {
			t.Fatalf("%q gives %q (%v), the reference means %v", in, got, derr, want)
		}
	})
}

// BenchmarkRedactSecretRefs redacts a contract's config, as validation does
// for every contract of a discovery.
func BenchmarkRedactSecretRefs(b *testing.B) {
	config := json.RawMessage(`{"base_url":"https://api.partner.example","timeout":"10s","headers":{"Authorization":{"secret":"partner-00001/bearer"}}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RedactSecretRefs(config); err != nil {
			b.Fatal(err)
		}
	}
}
