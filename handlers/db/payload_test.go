package db

import (
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/onexhost/onex/handler"
)

func TestDecodePayload(t *testing.T) {
	tests := []struct {
		name      string
		verb      string
		payload   string
		want      any
		wantField string // "" with wantMsg: an error not about one field
		wantMsg   string
	}{
		{"statement", "query", ` {"sql":"SELECT $1","parameters":[1, "a", null, {"b": 2}]} `,
			Statement{SQL: "SELECT $1", Parameters: []json.RawMessage{json.RawMessage(`1`), json.RawMessage(`"a"`), json.RawMessage(`null`), json.RawMessage(`{"b": 2}`)}}, "", ""},
		{"keys fold like encoding/json", "query", `{"SQL":"x","Parameters":[]}`, Statement{SQL: "x", Parameters: []json.RawMessage{}}, "", ""},
		{"escaped key and value", "query", `{"\u0073ql":"a\u00e9\n"}`, Statement{SQL: "aé\n"}, "", ""},
		{"null fields", "query", `{"sql":null,"parameters":null}`, Statement{}, "", ""},
		{"unknown null field", "query", `{"sql":"x","read_only":null}`, nil, "read_only", "unknown field"},
		{"last duplicate wins", "query", `{"sql":"a","sql":"b"}`, Statement{SQL: "b"}, "", ""},
		{"empty payload", "query", "  ", Statement{}, "", ""},
		{"null payload", "query", "null", Statement{}, "", ""},
		{"unknown field", "query", `{"sql":"x","params":[]}`, nil, "params", "unknown field"},
		{"sql not a string", "query", `{"sql":1}`, nil, "sql", "expected string, got JSON number"},
		{"parameters not an array", "query", `{"sql":"x","parameters":{"a":1}}`, nil, "parameters", "expected array, got JSON object"},
		{"not an object", "query", `[1]`, nil, "", "expected object, got JSON array"},
		{"syntax error located", "query", `{"sql":"x",}`, nil, "", "invalid JSON at offset 12"},
		{"trailing data", "query", `{"sql":"x"} {}`, nil, "", "unexpected data after the JSON value"},
		{"transaction", "transaction", `{"statements":[{"sql":"a"},{"sql":"b","parameters":[true]}],"isolation":"serializable","read_only":true}`,
			TransactionPayload{Statements: []Statement{{SQL: "a"}, {SQL: "b", Parameters: []json.RawMessage{json.RawMessage(`true`)}}}, Isolation: "serializable", ReadOnly: true}, "", ""},
		{"statement not an object", "transaction", `{"statements":[{"sql":"a"},"b"]}`, nil, "statements[1]", "expected object, got JSON string"},
		{"nested wrong type", "transaction", `{"statements":[{"sql":"a"},{"sql":false}]}`, nil, "statements[1].sql", "expected string, got JSON bool"},
		{"nested unknown field", "transaction", `{"statements":[{"sql":"a","x":1}]}`, nil, "x", "unknown field"},
		{"read_only not a bool", "transaction", `{"read_only":"yes"}`, nil, "read_only", "expected bool, got JSON string"},
		{"isolation not a string", "transaction", `{"isolation":1}`, nil, "isolation", "expected string, got JSON number"},
		{"statements not an array", "transaction", `{"statements":{}}`, nil, "statements", "expected array, got JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got any
			var err error
			if tt.verb == "query" {
				got, err = decodeStatement([]byte(tt.payload))
			} else {
				got, err = decodeTransaction([]byte(tt.payload))
			}
			if tt.want != nil {
				if err != nil || !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("decode(%s) = %#v, %v; want %#v", tt.payload, got, err, tt.want)
				}
				return
			}
			var he *handler.Error
			if !errors.As(err, &he) || he.Kind != handler.KindInvalidPayload || he.Field != tt.wantField || !strings.Contains(he.Message, tt.wantMsg) {
				t.Fatalf("decode(%s) error = %#v, want an invalid payload naming %q with %q", tt.payload, err, tt.wantField, tt.wantMsg)
			}
		})
	}
}

// indexes drops the element index of a statement's field path: encoding/json
// names statements[1].sql statements.sql.
var indexes = regexp.MustCompile(`^statements\[\d+\]`)

// FuzzDecodePayload checks the payload readers against handler.DecodeStrict:
// the same payloads accepted with the same values, the same rejected naming
// the same field.
func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{`{"sql":"SELECT 1","parameters":[1,"a",null,[2],{"b":3}]}`, `{"Sql":null}`, `{"sql":1}`, `[]`, ``, `null`,
		`{"statements":[{"sql":"a"},{"SQL":"b","parameters":[]}],"isolation":"x","read_only":true}`, `{"statements":[null,1]}`,
		`{"statements":[{"sql":"a","parameters":[1]}],"statements":[{"sql":"b"}]}`, `{"read_only":null,"x":1}`, `{"sql":"\ud800\u00e9"}`, `{"[0]":[0]}0`, "\v", " \u00a0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		var st Statement
		stErr := handler.DecodeStrict([]byte(payload), &st)
		gotSt, err := decodeStatement([]byte(payload))
		compare(t, payload, st, stErr, gotSt, err)
		var tx TransactionPayload
		txErr := handler.DecodeStrict([]byte(payload), &tx)
		gotTx, err := decodeTransaction([]byte(payload))
		compare(t, payload, tx, txErr, gotTx, err)
	})
}

func compare(t *testing.T, payload string, want any, wantErr error, got any, err error) {
	t.Helper()
	if (wantErr == nil) != (err == nil) {
		t.Fatalf("%q: DecodeStrict error %v, reader error %v", payload, wantErr, err)
	}
	if wantErr == nil {
		if !reflect.DeepEqual(normalize(want), normalize(got)) {
			t.Fatalf("%q: DecodeStrict %#v, reader %#v", payload, want, got)
		}
		return
	}
	var we, ge *handler.Error
	if !errors.As(wantErr, &we) || !errors.As(err, &ge) || ge.Kind != handler.KindInvalidPayload {
		t.Fatalf("%q: errors %#v and %#v", payload, wantErr, err)
	}
	if !strings.Contains(we.Field, `\`) && we.Field != indexes.ReplaceAllString(ge.Field, "statements") {
		t.Fatalf("%q: DecodeStrict names %q, reader %q", payload, we.Field, ge.Field)
	}
}

// normalize makes empty and nil parameter lists compare equal where
// encoding/json leaves a nil slice the reader sees as empty, and the other way.
func normalize(v any) any {
	b, _ := json.Marshal(v)
	return string(b)
}
