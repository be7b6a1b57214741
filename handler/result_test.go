package handler

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// TestResultTypesMarshal: json.Marshal writes an Object's members in order
// and Rows as objects keyed by the columns, escaped as encoding/json escapes;
// a row of the wrong length and an unencodable value are errors that say
// where.
func TestResultTypesMarshal(t *testing.T) {
	tests := []struct {
		v       any
		want    string
		wantErr string
	}{
		{Object(nil), `{}`, ""},
		{Object{{Name: "z", Value: 1}, {Name: "a", Value: "x"}}, `{"z":1,"a":"x"}`, ""},
		{Object{{Name: `q"<`, Value: json.RawMessage(`[1, "&"]`)}}, `{"q\"\u003c":[1,"\u0026"]}`, ""},
		{Object{{Name: "n", Value: Object{{Name: "r", Value: Rows{Columns: []string{"c"}, Values: [][]any{{nil}}}}}}}, `{"n":{"r":[{"c":null}]}}`, ""},
		{Object{{Name: "bad", Value: math.NaN()}}, "", `"bad"`},
		{Rows{}, `[]`, ""},
		{Rows{Columns: []string{"z", "a"}, Values: [][]any{{1, "x"}, {2, nil}}}, `[{"z":1,"a":"x"},{"z":2,"a":null}]`, ""},
		{Rows{Values: [][]any{{}, {}}}, `[{},{}]`, ""},
		{Rows{Columns: []string{"a"}, Values: [][]any{{1}, {1, 2}}}, "", "row 1 has 2 values for 1 columns"},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.v)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("json.Marshal(%v) = %s, %v; want an error with %s", tt.v, b, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || string(b) != tt.want):
			t.Errorf("json.Marshal(%v) = %s, %v; want %s", tt.v, b, err, tt.want)
		}
	}
}
