package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/onexhost/onex/handler"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		want  View
		field string // expected SyntaxError.Field when errSub is set
		err   string // substring of the expected error; "" = success
	}{
		{name: "full", in: `{"envelope_id":"e1","correlation_id":"c1","operation":"db.query","handler":"db","payload":{"sql":"select 1","p":[1,"x\"y"]},"data_classification":"internal","metadata":{"traceparent":"00-x"}}`,
			want: View{EnvelopeID: []byte("e1"), CorrelationID: []byte("c1"), Operation: []byte("db.query"), Handler: []byte("db"),
				Payload: []byte(`{"sql":"select 1","p":[1,"x\"y"]}`), DataClassification: []byte("internal"), Metadata: []byte(`{"traceparent":"00-x"}`)}},
		{name: "whitespace", in: " \n{ \"operation\" :\t\"a.b\" , \"payload\" : [ 1 , 2 ] }\r\n",
			want: View{Operation: []byte("a.b"), Payload: []byte("[ 1 , 2 ]")}},
		{name: "scalar payload", in: `{"operation":"a.b","payload":12.5e3}`, want: View{Operation: []byte("a.b"), Payload: []byte("12.5e3")}},
		{name: "string payload", in: `{"operation":"a.b","payload":"x,}"}`, want: View{Operation: []byte("a.b"), Payload: []byte(`"x,}"`)}},
		{name: "nulls are absent", in: `{"operation":"a.b","handler":null,"payload":null,"metadata":null}`, want: View{Operation: []byte("a.b")}},
		{name: "escaped string", in: `{"operation":"db\u002equery","handler":"a\\b"}`, want: View{Operation: []byte("db.query"), Handler: []byte(`a\b`)}},
		{name: "escaped key", in: `{"oper\u0061tion":"a.b"}`, want: View{Operation: []byte("a.b")}},
		{name: "empty object", in: `{}`, want: View{}},
		{name: "empty operation is present", in: `{"operation":""}`, want: View{Operation: []byte{}}},

		{name: "empty input", in: ``, err: "empty input"},
		{name: "not an object", in: `[1]`, err: "found an array"},
		{name: "bare string", in: `"x"`, err: "found a string"},
		{name: "truncated", in: `{"operation":"a.b"`, err: "end of input"},
		{name: "truncated string", in: `{"operation":"a.b`, field: "operation", err: "unterminated"},
		{name: "trailing data", in: `{"operation":"a.b"} x`, err: "after the envelope"},
		{name: "two objects", in: `{"operation":"a.b"}{}`, err: "after the envelope"},
		{name: "missing colon", in: `{"operation" "a.b"}`, field: "operation", err: "expected ':'"},
		{name: "missing comma", in: `{"operation":"a.b" "handler":"x"}`, err: "expected ',' or '}'"},
		{name: "trailing comma", in: `{"operation":"a.b",}`, err: "expected a field name"},
		{name: "unquoted key", in: `{operation:"a.b"}`, err: "expected a field name"},
		{name: "unknown field", in: `{"opertion":"a.b"}`, field: "opertion", err: `did you mean "operation"`},
		{name: "known name as a prefix", in: `{"operations":"a.b"}`, field: "operations", err: `did you mean "operation"`},
		{name: "known name cut short", in: `{"operatio":"a.b"}`, field: "operatio", err: `did you mean "operation"`},
		{name: "truncated key", in: `{"operation`, err: "unterminated"},
		{name: "one-letter key", in: `{"e":1}`, field: "e", err: "unknown field"},
		{name: "duplicate field", in: `{"operation":"a.b","operation":"c.d"}`, field: "operation", err: "more than once"},
		{name: "operation not a string", in: `{"operation":5}`, field: "operation", err: "must be a string, found a number"},
		{name: "handler object", in: `{"handler":{}}`, field: "handler", err: "must be a string, found an object"},
		{name: "classification bool", in: `{"data_classification":true}`, field: "data_classification", err: "found a boolean"},
		{name: "metadata array", in: `{"metadata":["x"]}`, field: "metadata", err: "must be an object"},
		{name: "payload invalid", in: `{"payload":{"a":}}`, field: "payload", err: "not valid JSON"},
		{name: "payload bad literal", in: `{"payload":tru}`, field: "payload", err: "not valid JSON"},
		{name: "payload unbalanced", in: `{"payload":{"a":[1}}`, field: "payload", err: "not valid JSON"},
		{name: "payload unterminated", in: `{"payload":{"a":[1`, field: "payload", err: "end of input"},
		{name: "control char", in: "{\"operation\":\"a\x01b\"}", field: "operation", err: "control character"},
		{name: "bad escape", in: `{"operation":"a\qb"}`, field: "operation", err: "invalid string escape"},
		{name: "nully", in: `{"handler":nul}`, field: "handler", err: "must be a string"},
		{name: "not json at all", in: `not json`, err: `found "not", which is not JSON`},
		{name: "null is named", in: `null`, err: "found null"},
		{name: "number is named", in: `12`, err: "found a number"},
		{name: "not a number", in: `12abc`, err: `found "12abc", which is not JSON`},
		{name: "bad literal value", in: `{"handler":nope}`, field: "handler", err: `found "nope", which is not JSON`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v View
			err := Parse([]byte(tc.in), &v)
			if tc.err == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				assertView(t, &v, &tc.want)
				return
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse = %v, want a *SyntaxError containing %q", err, tc.err)
			}
			if !strings.Contains(se.Error(), tc.err) {
				t.Errorf("error %q does not contain %q", se.Error(), tc.err)
			}
			if se.Field != tc.field {
				t.Errorf("error field %q, want %q", se.Field, tc.field)
			}
		})
	}
}

func assertView(t *testing.T, got, want *View) {
	t.Helper()
	for _, f := range []struct {
		name      string
		got, want []byte
	}{
		{"envelope_id", got.EnvelopeID, want.EnvelopeID},
		{"correlation_id", got.CorrelationID, want.CorrelationID},
		{"operation", got.Operation, want.Operation},
		{"handler", got.Handler, want.Handler},
		{"data_classification", got.DataClassification, want.DataClassification},
		{"payload", got.Payload, want.Payload},
		{"metadata", got.Metadata, want.Metadata},
	} {
		if (f.got == nil) != (f.want == nil) || !bytes.Equal(f.got, f.want) {
			t.Errorf("%s = %q (nil %v), want %q (nil %v)", f.name, f.got, f.got == nil, f.want, f.want == nil)
		}
	}
}

// Fields read before a fault stay in the view, so the runtime can answer with
// the request's ids.
func TestParseKeepsFieldsBeforeFault(t *testing.T) {
	var v View
	err := Parse([]byte(`{"envelope_id":"e1","correlation_id":"c1","operation":7}`), &v)
	if err == nil {
		t.Fatal("Parse accepted a numeric operation")
	}
	if string(v.EnvelopeID) != "e1" || string(v.CorrelationID) != "c1" {
		t.Errorf("ids before the fault lost: %q %q", v.EnvelopeID, v.CorrelationID)
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	raw := []byte(`{"envelope_id":"7d8f2c1e-3b4a-4c5d-8e9f-0a1b2c3d4e5f","correlation_id":"1d8f2c1e-3b4a-4c5d-8e9f-0a1b2c3d4e5f","operation":"noop.run","payload":{"a":1,"b":"x"},"data_classification":"internal","metadata":{"traceparent":"00-1"}}`)
	var v View
	if n := testing.AllocsPerRun(100, func() {
		if err := Parse(raw, &v); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Parse allocates %.0f times per envelope, want 0", n)
	}
}

func TestDecodeEncodeRoundTrip(t *testing.T) {
	in := &Request{EnvelopeID: "e", CorrelationID: "c", Operation: "a.b", Handler: "h",
		Payload: json.RawMessage(`{"x":[1,2]}`), DataClassification: "public", Metadata: map[string]string{"traceparent": "00-1"}}
	raw, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Encode(out)
	if !bytes.Equal(raw, again) {
		t.Errorf("round trip changed the envelope:\n%s\n%s", raw, again)
	}
	if _, err := Decode([]byte(`{"metadata":{"a":1}}`)); err == nil {
		t.Error("Decode accepted non-string metadata values")
	}
}

func TestAppendResponse(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Response
		want string
	}{
		{name: "success", in: Response{EnvelopeID: "r", CorrelationID: "c", InReplyTo: "e", Operation: "a.b", Handler: "h", Success: true, Result: json.RawMessage(`{"x":1}`), DurationUS: 812},
			want: `{"envelope_id":"r","correlation_id":"c","in_reply_to":"e","operation":"a.b","handler":"h","success":true,"status":"success","result":{"x":1},"duration_us":812}`},
		{name: "success without result", in: Response{EnvelopeID: "r", CorrelationID: "c", InReplyTo: "e", Success: true},
			want: `{"envelope_id":"r","correlation_id":"c","in_reply_to":"e","success":true,"status":"success","result":null,"duration_us":0}`},
		{name: "error", in: Response{EnvelopeID: "r", CorrelationID: "c", Operation: "x\n\"y\"", Error: &Error{RuleID: "ENVELOPE-003", ErrorType: "envelope_error", Message: "unknown <op>", RemediationHint: "fix", Retryable: true, Details: map[string]any{"k": []int{1}}}, DurationUS: 3},
			want: `{"envelope_id":"r","correlation_id":"c","operation":"x\n\"y\"","success":false,"status":"error","error":{"rule_id":"ENVELOPE-003","error_type":"envelope_error","message":"unknown \u003cop\u003e","remediation_hint":"fix","retryable":true,"details":{"k":[1]}},"duration_us":3}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendResponse(nil, &tc.in)
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			back, err := DecodeResponse(got)
			if err != nil {
				t.Fatal(err)
			}
			if back.Success != tc.in.Success || back.Operation != tc.in.Operation || back.DurationUS != tc.in.DurationUS {
				t.Errorf("decoded %+v, want %+v", back, tc.in)
			}
		})
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "ctl\x01", "tab\t", "héllo", "\u2028", "<&>", string([]byte{0xff, 'a'})} {
		got := AppendString([]byte("x"), s)
		want, _ := json.Marshal(s)
		if string(got) != "x"+string(want) {
			t.Errorf("AppendString(%q) = %s, want x%s", s, got, want)
		}
	}
}

func TestAppendUUID(t *testing.T) {
	for _, u := range []uuid.UUID{uuid.Nil, uuid.Max, uuid.New(), uuid.New(), uuid.MustParse("0123456789abcdefFEDCBA9876543210")} {
		if got := string(AppendUUID([]byte("x"), u)); got != "x"+u.String() {
			t.Errorf("AppendUUID = %s, want x%s", got, u)
		}
	}
	u := uuid.New()
	if n := testing.AllocsPerRun(100, func() {
		var buf [64]byte
		_ = AppendUUID(buf[:0], u)
	}); n != 0 {
		t.Errorf("AppendUUID allocates %.0f times", n)
	}
}

// TestAppendSuccess: AppendSuccess writes byte for byte what AppendResponseID
// writes for the same success response.
func TestAppendSuccess(t *testing.T) {
	id, corr, reply := uuid.New(), uuid.NewString(), uuid.NewString()
	for _, tc := range []struct {
		op, handler string
		result      json.RawMessage
		dur         int64
	}{
		{"noop.run", "noop", json.RawMessage(`{"ok":true}`), 12},
		{"noop.run", "noop", nil, 0},
		{"a.b", "h\"<x>\u2028", json.RawMessage(`[1,"\u00e9"]`), -1},
		{"", "", json.RawMessage(`null`), 1 << 40},
	} {
		want := AppendResponseID([]byte("x"), id, &Response{CorrelationID: corr, InReplyTo: reply,
			Operation: tc.op, Handler: tc.handler, Success: true, Result: tc.result, DurationUS: tc.dur})
		got := AppendSuccess([]byte("x"), id, corr, reply, RouteFields(tc.op, tc.handler), tc.result, tc.dur)
		if string(got) != string(want) {
			t.Errorf("AppendSuccess:\n got %s\nwant %s", got, want)
		}
		if !json.Valid(got[1:]) {
			t.Errorf("AppendSuccess wrote invalid JSON: %s", got)
		}
	}
}

func TestAppendResult(t *testing.T) {
	type point struct{ X, Y int }
	for _, tc := range []struct {
		name string
		in   any
		want string
		err  bool
	}{
		{"nil", nil, "null", false},
		{"raw", json.RawMessage(`{"a":1}`), `{"a":1}`, false},
		{"raw multiline is compacted", json.RawMessage("{\n  \"a\": 1\n}"), `{"a":1}`, false},
		{"raw empty", json.RawMessage(""), "null", false},
		{"raw invalid", json.RawMessage(`{"a"`), "", true},
		{"raw padded", json.RawMessage(" [1, \"<b>\"]\t"), `[1, "<b>"]`, false},
		{"raw blank", json.RawMessage(" \n\t"), "null", false},
		{"raw vertical tab", json.RawMessage("\v"), "", true}, // not JSON white space
		{"raw two values", json.RawMessage(`{} {}`), "", true},
		{"raw bad number", json.RawMessage(`[01]`), "", true},
		{"raw control character", json.RawMessage("\"a\u0001b\""), "", true},
		{"struct", point{1, 2}, `{"X":1,"Y":2}`, false},
		{"map", map[string]any{"s": "a\nb"}, `{"s":"a\nb"}`, false},
		{"object", handler.Object{{Name: "z", Value: 1}, {Name: "a", Value: json.RawMessage(`[1, "<"]`)}}, `{"z":1,"a":[1,"\u003c"]}`, false},
		{"rows", handler.Rows{Columns: []string{"id"}, Values: [][]any{{1}, {2}}}, `[{"id":1},{"id":2}]`, false},
		{"nested raw invalid", map[string]any{"r": json.RawMessage(`{`)}, "", true},
		{"unencodable", make(chan int), "", true},
		{"NaN", []any{math.NaN()}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendResult([]byte("p"), tc.in)
			if tc.err {
				if err == nil || string(got) != "p" {
					t.Fatalf("AppendResult = %q, %v; want an error and dst unchanged", got, err)
				}
				return
			}
			if err != nil || string(got) != "p"+tc.want {
				t.Fatalf("AppendResult = %q, %v; want p%s", got, err, tc.want)
			}
		})
	}
}

// FuzzParse checks Parse against encoding/json: whatever Parse accepts is valid
// JSON with the same field values, and whatever encoding/json sees as a well-
// formed envelope Parse accepts.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"envelope_id":"e1","correlation_id":"c1","operation":"db.query","handler":"db","payload":{"sql":"select 1"},"data_classification":"internal","metadata":{"traceparent":"00-x"}}`,
		`{"operation":"a.b","payload":[1,{"x":"y\"}"}],"handler":null}`,
		`{"oper\u0061tion":"db\u002equery"}`,
		`{"operation":"a.b","operation":"a.b"}`,
		`{"payload":"\ud800"}`, `{}`, ` {"payload":-0.5e+3} `, `{"metadata":{}}`, `[]`, `{"payload":{"a":[}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var v View
		err := Parse(raw, &v)
		want, reason := oracle(raw)
		if (err == nil) != (want != nil) {
			t.Fatalf("Parse(%q) = %v; encoding/json says ok=%v (%s)", raw, err, want != nil, reason)
		}
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) returned %T, want *SyntaxError", raw, err)
			}
			return
		}
		for name, got := range map[string][]byte{
			FieldEnvelopeID: v.EnvelopeID, FieldCorrelationID: v.CorrelationID, FieldOperation: v.Operation,
			FieldHandler: v.Handler, FieldDataClassification: v.DataClassification,
		} {
			w, ok := want[name]
			if !ok || string(w) == "null" {
				if got != nil {
					t.Fatalf("%s = %q, absent for encoding/json", name, got)
				}
				continue
			}
			var s string
			if err := json.Unmarshal(w, &s); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if utf8.Valid(got) && s != string(got) {
				t.Fatalf("%s = %q, encoding/json reads %q", name, got, s)
			}
		}
		for name, got := range map[string][]byte{FieldPayload: v.Payload, FieldMetadata: v.Metadata} {
			w, ok := want[name]
			if !ok || string(w) == "null" {
				if got != nil {
					t.Fatalf("%s = %q, absent for encoding/json", name, got)
				}
				continue
			}
			if !bytes.Equal(w, got) {
				t.Fatalf("%s = %q, encoding/json reads %q", name, got, w)
			}
		}
	})
}

// oracle decides with encoding/json whether raw is a well-formed envelope and
// returns its fields, or nil and the reason it is not.
func oracle(raw []byte) (map[string]json.RawMessage, string) {
	if !json.Valid(raw) {
		return nil, "invalid JSON"
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, "not an object"
	}
	fields := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err.Error()
		}
		key := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, err.Error()
		}
		known := false
		for _, f := range RequestFields {
			known = known || f == key
		}
		if !known {
			return nil, "unknown field " + key
		}
		if _, dup := fields[key]; dup {
			return nil, "duplicate " + key
		}
		fields[key] = val
		if string(val) == "null" {
			continue
		}
		switch key {
		case FieldPayload:
		case FieldMetadata:
			if val[0] != '{' {
				return nil, "metadata not an object"
			}
		default:
			if val[0] != '"' {
				return nil, key + " not a string"
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, err.Error()
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, "trailing data"
	}
	return fields, ""
}

func BenchmarkParse(b *testing.B) {
	raw := []byte(`{"envelope_id":"7d8f2c1e-3b4a-4c5d-8e9f-0a1b2c3d4e5f","correlation_id":"1d8f2c1e-3b4a-4c5d-8e9f-0a1b2c3d4e5f","operation":"noop.run","payload":{"a":1,"b":"x"},"data_classification":"internal"}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	var v View
	for b.Loop() {
		if err := Parse(raw, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendResponse(b *testing.B) {
	r := &Response{EnvelopeID: uuid.NewString(), CorrelationID: uuid.NewString(), InReplyTo: uuid.NewString(),
		Operation: "noop.run", Handler: "noop", Success: true, Result: json.RawMessage(`{"ok":true}`), DurationUS: 12}
	b.ReportAllocs()
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = AppendResponse(buf[:0], r)
	}
}

func BenchmarkAppendSuccess(b *testing.B) {
	id, corr, reply := uuid.New(), uuid.NewString(), uuid.NewString()
	route, res := RouteFields("noop.run", "noop"), []byte(`{"ok":true}`)
	b.ReportAllocs()
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = AppendSuccess(buf[:0], id, corr, reply, route, res, 12)
	}
}

// BenchmarkAppendResult is the encoding of a result: a raw result checked,
// and results shaped like the HTTP and database handlers', built from
// handler.Object, Rows and maps and written by AppendResult, against
// json.Marshal of the structs that write the same bytes (encoding/json's
// reflection, the rows through their MarshalJSON).
func BenchmarkAppendResult(b *testing.B) {
	row := `{"id":12,"name":"item 12","price":15.00,"updated":"2024-01-01T12:00:00Z"}`
	raw := json.RawMessage(`{"columns":["id","name","price","updated"],"rows":[` + strings.Repeat(row+",", 9) + row + `],"row_count":10}`)
	cols := []string{"id", "name", "price", "updated"}
	rows := handler.Rows{Columns: cols}
	for i := range 10 {
		rows.Values = append(rows.Values, []any{int32(i), "item " + strconv.Itoa(i), json.Number(strconv.Itoa(i) + ".25"), "2024-01-01T07:00:00Z"})
	}
	db := handler.Object{{Name: "columns", Value: cols}, {Name: "rows", Value: rows}, {Name: "row_count", Value: int64(10)}}
	http := handler.Object{
		{Name: "status_code", Value: 200},
		{Name: "headers", Value: map[string]string{"Content-Type": "application/json", "Content-Length": "40", "Date": "Mon, 24 Nov 2026 16:00:00 GMT"}},
		{Name: "body", Value: json.RawMessage(`{"id":1,"name":"apple","tags":["a","b"]}`)},
		{Name: "body_encoding", Value: "json"},
	}
	type httpStruct struct {
		StatusCode   int               `json:"status_code"`
		Headers      map[string]string `json:"headers"`
		Body         any               `json:"body,omitempty"`
		BodyEncoding string            `json:"body_encoding"`
	}
	type dbStruct struct {
		Columns  []string     `json:"columns"`
		Rows     handler.Rows `json:"rows"`
		RowCount int64        `json:"row_count"`
	}
	httpS := httpStruct{http[0].Value.(int), http[1].Value.(map[string]string), http[2].Value, "json"}
	dbS := dbStruct{cols, rows, 10}
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		buf := make([]byte, 0, 2048)
		for b.Loop() {
			var err error
			if buf, err = AppendResult(buf[:0], raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, tc := range []struct {
		name    string
		v, same any
	}{{"http", http, httpS}, {"db-10-rows", db, dbS}} {
		if a, _ := AppendResult(nil, tc.v); !bytes.Equal(a, must(json.Marshal(tc.same))) {
			b.Fatalf("%s: AppendResult writes %s, json.Marshal of the struct %s", tc.name, a, must(json.Marshal(tc.same)))
		}
		b.Run(tc.name+"/AppendResult", func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 2048)
			for b.Loop() {
				var err error
				if buf, err = AppendResult(buf[:0], tc.v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/json.Marshal", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(tc.same); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
