package handler

import (
	"bytes"
	"encoding/json"
	"testing"
)

// redactGeneral is RedactSecretRefs by the general path only: decode, walk,
// marshal.
func redactGeneral(config json.RawMessage) (json.RawMessage, error) {
	return walkSecretRefs(config, func(string, SecretRef) (string, error) { return Redacted, nil })
}

var redactCorpus = []string{
	`{"secret":"a/b"}`,
	`{"base_url":"https://api.example","timeout":"10s","headers":{"Authorization":{"secret":"partner/bearer"}}}`,
	`{"z":1,"a":[1,2.5,-3e10,0,{"secret":"s/k"}],"m":{"y":true,"x":false,"w":null}}`,
	` { "b" : { "secret" : "x/y" } , "a" : [ ] , "c" : { } } `,
	`[{"secret":"a/b"},{"secret":"c/d","other":1}]`,
	`{"secret":"a/b","secret":"c/d"}`,
	`{"b":1,"a":2,"b":3}`,
	`{"a":{"secret":"nokey"}}`,
	`{"a":{"secret":5}}`,
	`{"a":{"secret":{"secret":"a/b"}}}`,
	`{"a":"<html> & \u00e9","s":{"secret":"a/b"}}`,
	`{"a":"caf\u00e9","s":{"secret":"a/b"}}`,
	"{\"a\":\"café\",\"s\":{\"secret\":\"a/b\"}}",
	`{"a":01,"s":{"secret":"a/b"}}`,
	`{"a":1.,"s":{"secret":"a/b"}}`,
	`{"a":-0.5E+3,"s":{"secret":"a/b"}}`,
	`{"s":{"secret":"a/b"}} trailing`,
	`{"s":{"secret":"a/b"}}{"x":1}`,
	`{"s":{"secret":"a/b"},}`,
	`{"s":{"secret":" /b"}}`,
	`{"s":{"secret":"a/ "}}`,
	`{"s":{"secret":"a/b/c"}}`,
	`"secret"`,
	`{"secret":"a/b"`,
	`{"k":[[[[{"secret":"a/b"}]]]],"j":"v"}`,
	// Keys sort by their text: "" before " ", "a" before "ab".
	`{"":[[[[{"secret":"0/0"}]]]]," ":""}`, `{"ab":1,"a":{"secret":"s/k"}}`,
}

// TestRedactPlainMatchesGeneral: the fast path writes exactly what the
// general path does, or leaves the config to it.
func TestRedactPlainMatchesGeneral(t *testing.T) {
	for _, c := range redactCorpus {
		checkRedact(t, []byte(c))
	}
}

// TestRedactPlainTaken: the fast path takes the common shapes itself (so the
// comparison above is not vacuous) and leaves the odd ones to the general path.
func TestRedactPlainTaken(t *testing.T) {
	for in, want := range map[string]string{
		`{"b":1.50,"a":{"secret":"s/k"},"c":[true,null,{"z":"x","y":-2e3}]}`: `{"a":"[redacted]","b":1.50,"c":[true,null,{"y":-2e3,"z":"x"}]}`,
		` {"headers":{"Authorization":{"secret":"partner/bearer"}}} `:        `{"headers":{"Authorization":"[redacted]"}}`,
		`{"a":"<b>","s":{"secret":"s/k"}}`:                                   "", // HTML characters are escaped by json.Marshal
		`{"a":1,"a":2,"s":{"secret":"s/k"}}`:                                 "", // a key set twice
		`{"secret":1}`:                                                       "", // a malformed reference
		`{"s":{"secret":"s/k"}} x`:                                           "", // trailing data
		`{"s":{"secret":"s/k"},"\u0041":1}`:                                  "", // an escape
	} {
		got, ok := redactPlain(bytes.TrimSpace([]byte(in)))
		if ok != (want != "") || string(got) != want {
			t.Errorf("redactPlain(%s) = %s, %v; want %q", in, got, ok, want)
		}
	}
}

func checkRedact(t *testing.T, in []byte) {
	t.Helper()
	want, wantErr := redactGeneral(in)
	got, err := RedactSecretRefs(in)
	if (err == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
		t.Errorf("RedactSecretRefs(%q) = %q, %v; the general path gives %q, %v", in, got, err, want, wantErr)
	}
	// The general path gives a config without "secret" back as it is, and
	// the fast path is taken only for the others.
	if trimmed := bytes.TrimSpace(in); bytes.Contains(trimmed, []byte(`"secret"`)) {
		if fast, ok := redactPlain(trimmed); ok && (wantErr != nil || !bytes.Equal(fast, want)) {
			t.Errorf("redactPlain(%q) = %q; the general path gives %q, %v", in, fast, want, wantErr)
		}
	}
}

func FuzzRedactSecretRefs(f *testing.F) {
	for _, c := range redactCorpus {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkRedact(t, in) })
}
