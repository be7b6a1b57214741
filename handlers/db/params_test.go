package db

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/onexhost/onex/handler"
)

// TestParameterText: every JSON parameter becomes the text the server parses
// for the type it described, arrays by that type.
func TestParameterText(t *testing.T) {
	m := pgtype.NewMap()
	const enumOID = 987654 // a type the connection has not loaded
	tests := []struct {
		name    string
		oid     uint32
		raw     string
		want    any    // with wantErr "": the argument
		wantErr string // a substring of the error
	}{
		{"null", pgtype.Int4OID, `null`, nil, ""},
		{"number as written", pgtype.NumericOID, `12345678901234567890.123456789`, "12345678901234567890.123456789", ""},
		{"bool", pgtype.BoolOID, `true`, "true", ""},
		{"string unescaped", pgtype.TextOID, `"a\"b\u00e9"`, `a"bé`, ""},
		{"object as its JSON", pgtype.JSONBOID, `{"a": [1.50]}`, `{"a": [1.50]}`, ""},
		{"array for jsonb: its JSON", pgtype.JSONBOID, `[1.50, 12345678901234567890, {"a":1}]`, `[1.50, 12345678901234567890, {"a":1}]`, ""},
		{"array for json: its JSON", pgtype.JSONOID, `[1]`, `[1]`, ""},
		{"int array literal", pgtype.Int4ArrayOID, `[1, null, 3]`, `{1,NULL,3}`, ""},
		{"numeric array keeps digits", pgtype.NumericArrayOID, `[12345678901234567890.123456789, 1.50]`, `{12345678901234567890.123456789,1.50}`, ""},
		{"text array quoted", pgtype.TextArrayOID, `["a,b", "q\"uote", "back\\slash", "NULL", "", null]`, `{"a,b","q\"uote","back\\slash","NULL","",NULL}`, ""},
		{"two dimensions", pgtype.NumericArrayOID, `[[1.10, -2e3], [3, 4]]`, `{{1.10,-2e3},{3,4}}`, ""},
		{"objects in jsonb[]", pgtype.JSONBArrayOID, `[{"a":1.50}, {"b":null}]`, `{"{\"a\":1.50}","{\"b\":null}"}`, ""},
		{"empty", pgtype.Int4ArrayOID, `[]`, `{}`, ""},
		{"type not loaded: a literal", enumOID, `["a", "c d"]`, `{a,"c d"}`, ""},
		{"array for an integer", pgtype.Int4OID, `[1]`, nil, "a JSON array cannot be sent as int4"},
		{"array for text", pgtype.TextOID, `["a"]`, nil, "a JSON array cannot be sent as text"},
		{"ragged", pgtype.NumericArrayOID, `[[1, 2], [3]]`, nil, "nested arrays must all have the same length"},
		{"ragged, empty first", pgtype.NumericArrayOID, `[[], [3]]`, nil, "nested arrays must all have the same length"},
		{"array after an element", pgtype.Int4ArrayOID, `[1, [2]]`, nil, "nested arrays must all have the same length"},
		{"element after an array", pgtype.Int4ArrayOID, `[[1], 2]`, nil, "nested arrays must all have the same length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parameter(m, tt.oid, json.RawMessage(tt.raw))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parameter(%s) = %v, %v; want an error with %q", tt.raw, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parameter(%s) = %#v, %v; want %#v", tt.raw, got, err, tt.want)
			}
		})
	}
}

// TestParametersNameTheField: a count that differs from the description, or
// a value that cannot be sent, is an invalid payload naming the field.
func TestParametersNameTheField(t *testing.T) {
	m := pgtype.NewMap()
	tests := []struct {
		oids   []uint32
		params string
		prefix string
		field  string
	}{
		{[]uint32{pgtype.Int4OID, pgtype.Int4OID}, `[1]`, "", "parameters"},
		{nil, `[1]`, "statements[3].", "statements[3].parameters"},
		{[]uint32{pgtype.TextOID, pgtype.Int4OID}, `["a", [1]]`, "", "parameters[1]"},
		{[]uint32{pgtype.Int4ArrayOID}, `[[[1], []]]`, "statements[0].", "statements[0].parameters[0]"},
	}
	for _, tt := range tests {
		var params []json.RawMessage
		if err := json.Unmarshal([]byte(tt.params), &params); err != nil {
			t.Fatal(err)
		}
		args, err := parameters(m, tt.oids, params, tt.prefix)
		var he *handler.Error
		if !errors.As(err, &he) || he.Kind != handler.KindInvalidPayload || he.Field != tt.field {
			t.Errorf("parameters(%v, %s) = %v, %v; want an invalid payload naming %s", tt.oids, tt.params, args, err, tt.field)
		}
	}
	args, err := parameters(m, []uint32{pgtype.Int4OID}, []json.RawMessage{json.RawMessage(`7`)}, "")
	if _, ok := args[0].(pgx.QueryResultFormatsByOID); err != nil || !ok || len(args) != 2 || args[1] != "7" {
		t.Fatalf("parameters = %#v, %v; want the result formats, then \"7\"", args, err)
	}
}
