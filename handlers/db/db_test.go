package db

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// secrets is a SecretReader over a map, for tests.
type secrets map[string]string

func (s secrets) ReadSecret(_ context.Context, ref handler.SecretRef) (handler.Secret, error) {
	v, ok := s[ref.String()]
	if !ok {
		return handler.Secret{}, fmt.Errorf("secret %s not found", ref)
	}
	return handler.NewSecret(v), nil
}

// plainDialer stands in for the runtime's guarded dialer in tests.
var plainDialer = &net.Dialer{}

// open makes an initialised handler on a fresh schema; extra config keys are
// merged over the DSN.
func open(t *testing.T, extra map[string]any) *DB {
	t.Helper()
	dsn, _ := testkit.PostgresSchema(t)
	cfg := map[string]any{"dsn_secret": "db/dsn"}
	for k, v := range extra {
		cfg[k] = v
	}
	raw, _ := json.Marshal(cfg)
	h, err := New(raw)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	env := handler.NewInitEnv(handler.InitParams{
		HandlerName:  "db",
		Config:       raw,
		Capabilities: handler.Capabilities{Dialer: plainDialer, Secrets: secrets{"db/dsn": dsn}},
	})
	if err := h.(*DB).Init(context.Background(), env); err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(func() { _ = h.(*DB).Close(context.Background()) })
	return h.(*DB)
}

// call runs a verb; a json.RawMessage payload is sent as it is (it may be
// invalid JSON).
func call(t *testing.T, h *DB, verb string, payload any) (any, error) {
	t.Helper()
	raw, ok := payload.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(payload); err != nil {
			t.Fatal(err)
		}
	}
	inv := handler.NewInvocation(handler.InvocationParams{
		HandlerName: "db", Operation: handler.Command("db." + verb), Payload: raw,
	})
	out, err := h.Handle(context.Background(), inv)
	if err != nil {
		return nil, err
	}
	// Encoded as the runtime encodes it, which is what json.Marshal writes.
	res, err := envelope.AppendResult(nil, out.Result)
	if err != nil || bytes.ContainsAny(res, "\n\r") {
		t.Fatalf("%s result %#v does not encode as one line of JSON: %s, %v", verb, out.Result, res, err)
	}
	if m, err := json.Marshal(out.Result); err != nil || !bytes.Equal(m, res) {
		t.Fatalf("%s result: the runtime writes %s, json.Marshal %s, %v", verb, res, m, err)
	}
	return json.RawMessage(res), nil
}

// queryResult is a query result decoded for tests, values kept as their JSON.
type queryResult struct {
	Columns   []string                     `json:"columns"`
	Rows      []map[string]json.RawMessage `json:"rows"`
	RowCount  int                          `json:"row_count"`
	Truncated bool                         `json:"truncated"`
}

func decodeQuery(t *testing.T, res any) queryResult {
	t.Helper()
	var q queryResult
	dec := json.NewDecoder(bytes.NewReader(res.(json.RawMessage)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		t.Fatalf("query result %s: %v", res, err)
	}
	return q
}

// mustCall runs a verb and returns its result as generic JSON.
func mustCall(t *testing.T, h *DB, verb string, payload any) map[string]any {
	t.Helper()
	res, err := call(t, h, verb, payload)
	if err != nil {
		t.Fatalf("%s %v: %v", verb, payload, err)
	}
	return asJSON(t, res)
}

func asJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal result: %v", err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode result %s: %v", b, err)
	}
	return m
}

func TestFactoryRegistered(t *testing.T) {
	f, ok := handler.Lookup(ImportPath)
	if !ok {
		t.Fatalf("%s not registered", ImportPath)
	}
	for _, v := range []string{"query", "execute", "transaction"} {
		if !f.Implements(v) {
			t.Errorf("verb %s missing", v)
		}
	}
	if !f.Uses.Egress || !f.Uses.Secrets {
		t.Errorf("Uses = %+v, want egress and secrets", f.Uses)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		wantErr string // substring naming the key; "" = valid
	}{
		{"secret name", `{"dsn_secret":"db/dsn"}`, ""},
		{"resolved reference placeholder", `{"dsn":"[redacted]"}`, ""},
		{"literal url", `{"dsn":"postgres://u@h/db"}`, ""},
		{"keyword form", `{"dsn":"host=h dbname=d","max_rows":5,"statement_timeout":"2s","connect_timeout":"1s","max_conns":2,"max_statements":3,"statement_cache":false}`, ""},
		{"no dsn: db/dsn by default", `{}`, ""},
		{"both", `{"dsn":"postgres://h/d","dsn_secret":"db/dsn"}`, "dsn, dsn_secret"},
		{"bad secret name", `{"dsn_secret":"nodash"}`, "dsn_secret:"},
		{"not a dsn", `{"dsn":"hello"}`, "dsn: not a connection string"},
		{"unknown key", `{"dsn_secret":"db/dsn","max_row":3}`, "max_row: unknown field"},
		{"wrong type", `{"dsn_secret":"db/dsn","max_rows":"many"}`, "max_rows"},
		{"negative rows", `{"dsn_secret":"db/dsn","max_rows":-1}`, "max_rows: must be positive"},
		{"bad duration", `{"dsn_secret":"db/dsn","statement_timeout":"soon"}`, "statement_timeout:"},
		{"zero connect timeout", `{"dsn_secret":"db/dsn","connect_timeout":"0s"}`, "connect_timeout: must be positive"},
		{"too many conns", `{"dsn_secret":"db/dsn","max_conns":5000}`, "max_conns:"},
		{"not an object", `[1]`, "expected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(json.RawMessage(tt.config))
			if tt.wantErr == "" {
				if err != nil || h == nil {
					t.Fatalf("New(%s) = %v, want a handler", tt.config, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New(%s) error = %v, want it to contain %q", tt.config, err, tt.wantErr)
			}
		})
	}
}

// TestOneStatementPerSQL: the server, which prepares every sql, refuses one
// holding several statements, whatever hides a semicolon from a reader of
// the text; the handler answers an invalid payload naming the sql, and
// nothing of it ran.
func TestOneStatementPerSQL(t *testing.T) {
	h := open(t, nil)
	mustCall(t, h, "execute", map[string]any{"sql": "CREATE TABLE kept (id int)"})
	tests := []struct {
		name   string
		verb   string
		sql    string
		params []any
		one    bool
	}{
		{"plain", "query", "SELECT 1 AS v", nil, true},
		{"trailing semicolon and comment", "query", "SELECT 1 AS v;  -- done\n", nil, true},
		{"empty statements after it", "query", "SELECT 1 AS v;;", nil, true},
		{"semicolons in strings and identifiers", "query", `SELECT 'a;b' AS "x;y", E'c\';d' AS v`, nil, true},
		{"dollar quoting", "query", "SELECT $$ ; $1 $$ AS a, $tag$ ; $tag$ AS v", nil, true},
		{"nested comments", "query", "SELECT 1 AS v /* ; /* nested ; */ still ; */", nil, true},
		{"placeholder after a comment", "query", "-- ; $9\nSELECT $1::int AS v", []any{1}, true},
		{"two selects", "query", "SELECT 1; SELECT 2", nil, false},
		{"execute without parameters", "execute", "INSERT INTO kept VALUES (1); DROP TABLE kept", nil, false},
		{"execute with parameters", "execute", "INSERT INTO kept VALUES ($1); DROP TABLE kept", []any{1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := map[string]any{"sql": tt.sql}
			if tt.params != nil {
				p["parameters"] = tt.params
			}
			_, err := call(t, h, tt.verb, p)
			if tt.one {
				if err != nil {
					t.Fatalf("%q: %v", tt.sql, err)
				}
				return
			}
			he := testkit.HandlerError(t, err)
			if he.Kind != handler.KindInvalidPayload || he.Field != "sql" || he.Hint == "" ||
				he.Details["sqlstate"] != "42601" || !strings.Contains(he.Message, "more than one statement") {
				t.Fatalf("%q: error %+v, want an invalid payload naming sql, with SQLSTATE 42601 and a hint", tt.sql, he)
			}
		})
	}
	got := mustCall(t, h, "query", map[string]any{"sql": "SELECT count(*) AS n FROM kept"})
	if b, _ := json.Marshal(got["rows"]); string(b) != `[{"n":0}]` {
		t.Fatalf("after the refused statements: %s, want the table kept and empty", b)
	}
}

// TestEmptySQL: an sql without a statement (blank, or only comments and
// semicolons, which the server answers with its empty query response) is an
// invalid payload naming it.
func TestEmptySQL(t *testing.T) {
	h := open(t, nil)
	tests := []struct {
		verb    string
		payload string
		field   string
	}{
		{"query", `{"sql":""}`, "sql"},
		{"execute", `{"sql":" \n "}`, "sql"},
		{"query", `{"sql":"-- nothing\n;"}`, "sql"},
		{"execute", `{"sql":"/* nothing */"}`, "sql"},
		{"transaction", `{"statements":[{"sql":"SELECT 1"},{"sql":""}]}`, "statements[1].sql"},
		{"transaction", `{"statements":[{"sql":"SELECT 1"},{"sql":";"}]}`, "statements[1].sql"},
	}
	for _, tt := range tests {
		t.Run(tt.payload, func(t *testing.T) {
			_, err := call(t, h, tt.verb, json.RawMessage(tt.payload))
			he := testkit.HandlerError(t, err)
			if he.Kind != handler.KindInvalidPayload || he.Field != tt.field || !strings.Contains(he.Message, "sql is empty") {
				t.Fatalf("error %+v, want an invalid payload naming %s", he, tt.field)
			}
		})
	}
}

func TestQueryAndExecute(t *testing.T) {
	h := open(t, nil)
	mustCall(t, h, "execute", map[string]any{"sql": "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric)"})
	got := mustCall(t, h, "execute", map[string]any{
		"sql":        "INSERT INTO items VALUES ($1, $2, $3), ($4, $5, $6)",
		"parameters": []any{1, "apple", "0.10", 2, "pear", 1.25},
	})
	if got["row_count"] != json.Number("2") {
		t.Fatalf("execute row_count = %v, want 2", got["row_count"])
	}
	got = mustCall(t, h, "query", map[string]any{"sql": "SELECT name, id, price FROM items WHERE id >= $1 ORDER BY id", "parameters": []any{1}})
	b, _ := json.Marshal(got["rows"])
	if want := `[{"id":1,"name":"apple","price":0.10},{"id":2,"name":"pear","price":1.25}]`; string(b) != want {
		t.Errorf("rows = %s, want %s", b, want)
	}
	if got["row_count"] != json.Number("2") || got["truncated"] != nil {
		t.Errorf("row_count = %v truncated = %v", got["row_count"], got["truncated"])
	}
	// Column order is the query's, not alphabetical.
	res, err := call(t, h, "query", map[string]any{"sql": "SELECT name, id FROM items WHERE id = 1"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(res)
	if want := `{"columns":["name","id"],"rows":[{"name":"apple","id":1}],"row_count":1}`; string(raw) != want {
		t.Errorf("result = %s, want %s", raw, want)
	}
	if err := h.Health(context.Background()); err != nil {
		t.Errorf("Health: %v", err)
	}
}

// countingDialer counts the writes on the connections it opens: pgx sends
// the messages of one round trip in one write.
type countingDialer struct {
	net.Dialer
	writes atomic.Int64
}

func (d *countingDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.Dialer.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: c, writes: &d.writes}, nil
}

type countedConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countedConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// TestSteadyStateRoundTrips: once a statement has been described and
// prepared, running it again costs what it costs with pgx alone: one round
// trip with the statement cache, two without it (pgx then describes every
// statement itself); the handler's own description is not asked again.
func TestSteadyStateRoundTrips(t *testing.T) {
	dsn, _ := testkit.PostgresSchema(t)
	tests := []struct {
		name     string
		cache    bool
		perQuery int64
	}{
		{"statement cache", true, 1},
		{"no statement cache", false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &countingDialer{}
			raw, _ := json.Marshal(map[string]any{"dsn": dsn, "max_conns": 1, "statement_cache": tt.cache})
			hh, err := New(raw)
			if err != nil {
				t.Fatal(err)
			}
			h := hh.(*DB)
			if err := h.Init(context.Background(), handler.NewInitEnv(handler.InitParams{Config: raw, Capabilities: handler.Capabilities{Dialer: d}})); err != nil {
				t.Fatal(err)
			}
			defer h.Close(context.Background())
			payloads := []struct {
				verb string
				p    map[string]any
			}{
				{"query", map[string]any{"sql": "SELECT $1::int + 1 AS v, $2::text[] AS a", "parameters": []any{41, []any{"x"}}}},
				{"execute", map[string]any{"sql": "SELECT $1::jsonb", "parameters": []any{[]any{1, 2}}}},
			}
			for _, p := range payloads { // the first time: described, then prepared
				mustCall(t, h, p.verb, p.p)
			}
			before := d.writes.Load()
			const n = 10
			for range n {
				for _, p := range payloads {
					mustCall(t, h, p.verb, p.p)
				}
			}
			if got, want := d.writes.Load()-before, n*int64(len(payloads))*tt.perQuery; got != want {
				t.Fatalf("%d round trips for %d statements, want %d", got, n*len(payloads), want)
			}
		})
	}
}

func TestRendering(t *testing.T) {
	h := open(t, nil)
	tests := []struct {
		expr string
		want string // JSON of the value
	}{
		{"NULL::int", `null`},
		{"true", `true`},
		{"42::smallint", `42`},
		{"9223372036854775807::bigint", `9223372036854775807`},
		{"12345678901234567890.123456789012::numeric", `12345678901234567890.123456789012`},
		{"'NaN'::numeric", `"NaN"`},
		{"1.5::float8", `1.5`},
		{"'-Infinity'::float8", `"-Infinity"`},
		{"'héllo'::text", `"héllo"`},
		{"'2024-05-01 14:30:15.123456+02'::timestamptz", `"2024-05-01T12:30:15.123456Z"`},
		{"'2024-05-01 14:30:15'::timestamp", `"2024-05-01T14:30:15"`},
		{"'infinity'::timestamptz", `"infinity"`},
		{"'2024-02-29'::date", `"2024-02-29"`},
		{"'{\"b\": 12345678901234567890, \"a\": [1.10, null]}'::jsonb", `{"a":[1.10,null],"b":12345678901234567890}`},
		{"'{\"z\": 1, \"a\": 2}'::json", `{"z":1,"a":2}`},
		{"'\\xdeadbeef'::bytea", `"3q2+7w=="`},
		{"ARRAY[1, NULL, 3]::int[]", `[1,null,3]`},
		{"ARRAY[['a','b'],['c',NULL]]::text[]", `[["a","b"],["c",null]]`},
		{"ARRAY['2024-01-01T00:00:00Z'::timestamptz]", `["2024-01-01T00:00:00Z"]`},
		{"ARRAY['{\"x\":1}'::jsonb]", `[{"x":1}]`},
		{"ARRAY[1.10::numeric]", `[1.10]`},
		{"'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid", `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`},
		{"'1 day 02:00:00'::interval", `"1 day 02:00:00"`},
		{"'192.168.0.1'::inet", `"192.168.0.1"`},
		{"'12:34:56.5'::time", `"12:34:56.5"`},
		{"0::numeric", `0`},
		{"-0.005::numeric", `-0.005`},
		{"0.000::numeric", `0.000`},
		{"1.50::numeric(10,2)", `1.50`},
		{"NULL::numeric", `null`},
		{"-12345.678::numeric", `-12345.678`},
		{"1e20::numeric", `100000000000000000000`},
		{"-98765432109876543210987654321.5::numeric", `-98765432109876543210987654321.5`},
		{"'Infinity'::numeric", `"Infinity"`},
		{"'-Infinity'::numeric", `"-Infinity"`},
		{"1.1::float4", `1.100000023841858`},
		{"1e-7::float8", `1e-7`},
		{"1e21::float8", `1e+21`},
		{"'NaN'::float4", `"NaN"`},
		{"E'<a href=\"x\">\\n\t&</a>'::text", `"\u003ca href=\"x\"\u003e\n\t\u0026\u003c/a\u003e"`},
		{"E'line\u2028sep'::text", `"line\u2028sep"`},
		{"''::bytea", `""`},
		{"'{}'::int[]", `[]`},
		{"NULL::int[]", `null`},
		{"'{{{1,2},{3,4}},{{5,6},{7,8}}}'::int[]", `[[[1,2],[3,4]],[[5,6],[7,8]]]`},
		{"ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, NULL]", `["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",null]`},
		{"ARRAY['1 day'::interval]", `["1 day"]`},
		// Arrays of types without a JSON form: each element as PostgreSQL
		// prints it, as the type alone is printed.
		{"ARRAY['192.168.0.1'::inet, '10.0.0.0/8']", `["192.168.0.1","10.0.0.0/8"]`},
		{"ARRAY[ARRAY['192.168.0.1'::inet], ARRAY[NULL::inet]]", `[["192.168.0.1"],[null]]`},
		{"'[0:1]={10.0.0.1,10.0.0.2}'::inet[]", `["10.0.0.1","10.0.0.2"]`},
		{"ARRAY['12:34:56.5'::time, NULL]", `["12:34:56.5",null]`},
		{"ARRAY['<a b=\"c\">x,y\\z</a>'::xml, 'NULL']", `["\u003ca b=\"c\"\u003ex,y\\z\u003c/a\u003e","NULL"]`},
		{"ARRAY['(1,1),(0,0)'::box, '(3,3),(2,2)']", `["(1,1),(0,0)","(3,3),(2,2)"]`},
		{"'{}'::interval[]", `[]`},
		{"ARRAY[1.5::float8, 'NaN']", `[1.5,"NaN"]`},
		{"'infinity'::date", `"infinity"`},
		{"'{\"s\": \"<&>\",\n \"n\": [1, 2.50]}'::json", `{"s":"\u003c\u0026\u003e","n":[1,2.50]}`},
		{"'\"x\"'::jsonb", `"x"`},
		{"'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid::text", `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`},
		{"42::oid", `"42"`},
		// Types without a JSON form read as PostgreSQL prints them.
		{"int4range(1, 3)", `"[1,3)"`},
		{"'[2024-01-01,2024-02-01)'::daterange", `"[2024-01-01,2024-02-01)"`},
		{"'empty'::numrange", `"empty"`},
		{"'<a>x &amp; y</a>'::xml", `"\u003ca\u003ex \u0026amp; y\u003c/a\u003e"`},
		{"B'1010'", `"1010"`},
		{"'(1,2)'::point", `"(1,2)"`},
		{"'10.0.0.0/8'::cidr", `"10.0.0.0/8"`},
		{"'08:00:2b:01:02:03'::macaddr", `"08:00:2b:01:02:03"`},
		{"'a fat cat'::tsvector", `"'a' 'cat' 'fat'"`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			res, err := call(t, h, "query", map[string]any{"sql": "SELECT " + tt.expr + " AS v"})
			if err != nil {
				t.Fatal(err)
			}
			b := decodeQuery(t, res).Rows[0]["v"]
			if string(b) != tt.want {
				t.Errorf("SELECT %s → %s, want %s", tt.expr, b, tt.want)
			}
		})
	}
}

func TestParameters(t *testing.T) {
	h := open(t, nil)
	tests := []struct {
		name   string
		sql    string
		params string
		want   string // JSON of column v
	}{
		{"numeric keeps digits", "SELECT $1::numeric AS v", `[12345678901234567890.123456789]`, `12345678901234567890.123456789`},
		{"integer", "SELECT $1::int + 1 AS v", `[41]`, `42`},
		{"bool", "SELECT NOT $1::bool AS v", `[true]`, `false`},
		{"null", "SELECT $1::text IS NULL AS v", `[null]`, `true`},
		{"jsonb object", "SELECT $1::jsonb -> 'a' AS v", `[{"a":[1,2]}]`, `[1,2]`},
		{"jsonb array", "SELECT jsonb_array_length($1::jsonb) AS v", `[[1,2,3]]`, `3`},
		{"int array", "SELECT array_length($1::int[], 1) AS v", `[[1,2,3]]`, `3`},
		{"text array", "SELECT $1::text[] AS v", `[["a",null,"c"]]`, `["a",null,"c"]`},
		{"numeric array keeps digits", "SELECT $1::numeric[] AS v", `[[12345678901234567890.123456789, 1.50]]`, `[12345678901234567890.123456789,1.50]`},
		{"numbers into a text array", "SELECT $1::text[] AS v", `[[1.50, 2]]`, `["1.50","2"]`},
		{"jsonb array keeps digits and objects", "SELECT $1::jsonb AS v", `[[1.50, 12345678901234567890, {"a":1.50}, "s", [1]]]`, `[1.50,12345678901234567890,{"a":1.50},"s",[1]]`},
		{"jsonb[] of objects", "SELECT $1::jsonb[] AS v", `[[{"a":1.50}, {"b":null}]]`, `[{"a":1.50},{"b":null}]`},
		{"two-dimensional numeric", "SELECT $1::numeric[] AS v", `[[[1.10, -2e3], [3, 4]]]`, `[[1.10,-2000],[3,4]]`},
		{"two-dimensional text, quoted", "SELECT $1::text[] AS v", `[[["a,b", "q\"uote"], ["back\\slash", null]]]`, `[["a,b","q\"uote"],["back\\slash",null]]`},
		{"bigint array", "SELECT $1::int8[] AS v", `[[9223372036854775807, -1]]`, `[9223372036854775807,-1]`},
		{"timestamptz text", "SELECT $1::timestamptz AS v", `["2024-01-02T03:04:05+01:00"]`, `"2024-01-02T02:04:05Z"`},
		{"text stays text", "SELECT $1::text AS v", `["'; DROP TABLE x; --"]`, `"'; DROP TABLE x; --"`},
		{"number into text", "SELECT $1::text AS v", `[1.50]`, `"1.50"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := call(t, h, "query", map[string]any{"sql": tt.sql, "parameters": json.RawMessage(tt.params)})
			if err != nil {
				t.Fatal(err)
			}
			b := decodeQuery(t, res).Rows[0]["v"]
			if string(b) != tt.want {
				t.Errorf("%s with %s → %s, want %s", tt.sql, tt.params, b, tt.want)
			}
		})
	}
}

// TestArrayParametersOfOtherTypes: an array of a type pgx does not know (an
// enum here) reaches the server as an array literal, which it reads for the
// parameter's type; a number an integer array cannot hold is the server's
// error, not a silently truncated value.
func TestArrayParametersOfOtherTypes(t *testing.T) {
	h := open(t, nil)
	typ := "onex_test_mood_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	if _, err := call(t, h, "execute", map[string]any{"sql": "CREATE TYPE " + typ + " AS ENUM ('a', 'b', 'c d')"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = call(t, h, "execute", map[string]any{"sql": "DROP TYPE " + typ}) })
	for _, tc := range []struct{ sql, params, want string }{
		{"SELECT 'c d'::" + typ + " = ANY($1) AS v", `[["a", "c d"]]`, `true`},
		{"SELECT array_to_json($1::" + typ + "[]) AS v", `[["a", "c d", null]]`, `["a","c d",null]`},
		{"SELECT array_to_json($1::" + typ + "[]) AS v", `[[["a"], ["b"]]]`, `[["a"],["b"]]`},
		{"SELECT cardinality($1::" + typ + "[]) AS v", `[[]]`, `0`},
	} {
		res, err := call(t, h, "query", map[string]any{"sql": tc.sql, "parameters": json.RawMessage(tc.params)})
		if err != nil {
			t.Fatalf("%s with %s: %v", tc.sql, tc.params, err)
		}
		if got := decodeQuery(t, res).Rows[0]["v"]; string(got) != tc.want {
			t.Errorf("%s with %s → %s, want %s", tc.sql, tc.params, got, tc.want)
		}
	}
	_, err := call(t, h, "query", map[string]any{"sql": "SELECT $1::" + typ + "[] AS v", "parameters": json.RawMessage(`[["x"]]`)})
	if he := testkit.HandlerError(t, err); he.Details["sqlstate"] != "22P02" {
		t.Errorf("an unknown enum label: %v", err)
	}
	_, err = call(t, h, "query", map[string]any{"sql": "SELECT $1::int4[] AS v", "parameters": json.RawMessage(`[[1.5]]`)})
	if he := testkit.HandlerError(t, err); he.Details["sqlstate"] != "22P02" {
		t.Errorf("1.5 into int4[]: %v", err)
	}
	_, err = call(t, h, "execute", map[string]any{"sql": "SELECT $1::numeric[]", "parameters": json.RawMessage(`[[[1, 2], [3]]]`)})
	if he := testkit.HandlerError(t, err); he.Kind != handler.KindInvalidPayload || he.Field != "parameters[0]" ||
		!strings.Contains(he.Message, "nested arrays must all have the same length") {
		t.Errorf("a ragged array: %v", err)
	}
}

// TestResultsOfUnloadedTypes: a result column of a type the connection has
// not loaded yet (an enum and its array, created after the pool connected)
// renders as if pgx had known it: the array as a JSON array of labels; the
// row cap still holds; a type pgx cannot build (money) keeps PostgreSQL's
// text and is not looked up again.
func TestResultsOfUnloadedTypes(t *testing.T) {
	h := open(t, map[string]any{"max_rows": 3, "max_conns": 3})
	typ := "onex_test_mood_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	if _, err := call(t, h, "execute", map[string]any{"sql": "CREATE TYPE " + typ + " AS ENUM ('a', 'b', 'c d')"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = call(t, h, "execute", map[string]any{"sql": "DROP TYPE " + typ}) })
	q := func(sql string) queryResult {
		t.Helper()
		res, err := call(t, h, "query", map[string]any{"sql": sql})
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return decodeQuery(t, res)
	}
	for range 2 { // loading, then loaded
		r := q("SELECT g, ARRAY['a', 'c d', NULL]::" + typ + "[] AS m, 'b'::" + typ + " AS e FROM generate_series(1, 5) AS g")
		if len(r.Rows) != 3 || !r.Truncated || r.RowCount != 3 {
			t.Fatalf("rows %d, truncated %v, row_count %d: want the cap of 3", len(r.Rows), r.Truncated, r.RowCount)
		}
		if row := r.Rows[2]; string(row["g"]) != "3" || string(row["m"]) != `["a","c d",null]` || string(row["e"]) != `"b"` {
			t.Errorf("row %v", row)
		}
	}
	res, err := call(t, h, "transaction", map[string]any{"statements": []any{
		map[string]any{"sql": "SELECT ARRAY[ARRAY['b'::" + typ + "]] AS m"},
		map[string]any{"sql": "SELECT 1 AS one"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if b := res.(json.RawMessage); !strings.Contains(string(b), `{"m":[["b"]]}`) {
		t.Errorf("transaction result %s", b)
	}
	for range 2 {
		if r := q("SELECT '12.5'::money::text AS t, ARRAY['12.5'::money] AS m"); !strings.HasPrefix(string(r.Rows[0]["m"]), `"{`) {
			t.Errorf("money[] = %s, want PostgreSQL's array text", r.Rows[0]["m"])
		}
	}
	// Concurrent queries on a pool of several connections, each meeting the
	// enum anew: every result rendered, no connection used by two at once
	// (the race detector watches the type maps).
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for range 12 {
		wg.Go(func() {
			res, err := call(t, h, "query", map[string]any{"sql": "SELECT ARRAY['a', 'b']::" + typ + "[] AS m, pg_sleep(0.01)::text AS s"})
			if err != nil {
				errs <- err
				return
			}
			if b := res.(json.RawMessage); !strings.Contains(string(b), `"m":["a","b"]`) {
				errs <- fmt.Errorf("result %s", b)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	n := 0
	h.types.unloadable.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Errorf("%d types remembered as unloadable, want money[] alone", n)
	}
}

func TestInvalidPayload(t *testing.T) {
	h := open(t, nil)
	tests := []struct {
		name      string
		verb      string
		payload   string
		wantField string
	}{
		{"unknown field", "query", `{"sql":"SELECT 1","params":[]}`, "params"},
		{"two statements", "query", `{"sql":"SELECT 1; SELECT 2"}`, "sql"},
		{"empty sql", "execute", `{"sql":""}`, "sql"},
		{"too few parameters", "query", `{"sql":"SELECT $1, $2","parameters":[1]}`, "parameters"},
		{"too many parameters", "query", `{"sql":"SELECT 1","parameters":[1]}`, "parameters"},
		{"duplicate columns", "query", `{"sql":"SELECT 1 AS a, 2 AS a"}`, "sql"},
		{"bad value for type", "query", `{"sql":"SELECT $1::int","parameters":[[1]]}`, "parameters[0]"},
		{"no statements", "transaction", `{"statements":[]}`, "statements"},
		{"bad statement in transaction", "transaction", `{"statements":[{"sql":"SELECT 1"},{"sql":"SELECT 1;SELECT 2"}]}`, "statements[1].sql"},
		{"bad isolation", "transaction", `{"statements":[{"sql":"SELECT 1"}],"isolation":"chaos"}`, "isolation"},
		{"wrong type", "query", `{"sql":1}`, "sql"},
		{"parameters not an array", "query", `{"sql":"SELECT 1","parameters":{"a":1}}`, "parameters"},
		{"nested wrong type", "transaction", `{"statements":[{"sql":"SELECT 1"},{"sql":false}]}`, "statements.sql"},
		{"nested unknown field", "transaction", `{"statements":[{"sql":"SELECT 1","x":1}]}`, "x"},
		{"read_only not a bool", "transaction", `{"statements":[{"sql":"SELECT 1"}],"read_only":"yes"}`, "read_only"},
		{"not an object", "query", `[1]`, ""},
		{"trailing data", "query", `{"sql":"SELECT 1"} {}`, ""},
		{"syntax error", "query", `{"sql":"SELECT 1",}`, ""},
		{"parameter count in transaction", "transaction", `{"statements":[{"sql":"SELECT 1"},{"sql":"SELECT $1::int","parameters":[]}]}`, "statements[1].parameters"},
		{"ragged array", "execute", `{"sql":"SELECT $1::numeric[]","parameters":[[[1,2],[3]]]}`, "parameters[0]"},
		{"array for a scalar in transaction", "transaction", `{"statements":[{"sql":"SELECT $1::text","parameters":[["a"]]}]}`, "statements[0].parameters[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := call(t, h, tt.verb, json.RawMessage(tt.payload))
			if err == nil {
				t.Fatalf("%s %s: no error", tt.verb, tt.payload)
			}
			he := testkit.HandlerError(t, err)
			if he.Kind != handler.KindInvalidPayload || he.Field != tt.wantField || he.Retryable {
				t.Fatalf("error = %+v, want an invalid payload naming %q", he, tt.wantField)
			}
		})
	}
}

func TestRowCap(t *testing.T) {
	h := open(t, map[string]any{"max_rows": 3})
	tests := []struct {
		sql       string
		wantRows  int
		truncated bool
	}{
		{"SELECT g FROM generate_series(1, 10) g", 3, true},
		{"SELECT g FROM generate_series(1, 3) g", 3, false},
		{"SELECT g FROM generate_series(1, 2) g", 2, false},
		{"SELECT 1 WHERE false", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			res, err := call(t, h, "query", map[string]any{"sql": tt.sql})
			if err != nil {
				t.Fatal(err)
			}
			q := decodeQuery(t, res)
			if len(q.Rows) != tt.wantRows || q.RowCount != tt.wantRows || q.Truncated != tt.truncated {
				t.Fatalf("rows=%d row_count=%d truncated=%v, want %d, %v", len(q.Rows), q.RowCount, q.Truncated, tt.wantRows, tt.truncated)
			}
		})
	}
	// The connection is usable after a truncated read.
	if _, err := call(t, h, "query", map[string]any{"sql": "SELECT 1"}); err != nil {
		t.Fatalf("after truncation: %v", err)
	}
}

func TestTransaction(t *testing.T) {
	h := open(t, nil)
	mustCall(t, h, "execute", map[string]any{"sql": "CREATE TABLE acct (id int PRIMARY KEY, balance int NOT NULL CHECK (balance >= 0))"})

	res, err := call(t, h, "transaction", map[string]any{"statements": []any{
		map[string]any{"sql": "INSERT INTO acct VALUES (1, 100), (2, 0)"},
		map[string]any{"sql": "UPDATE acct SET balance = balance - $1 WHERE id = 1 RETURNING balance", "parameters": []any{30}},
		map[string]any{"sql": "UPDATE acct SET balance = balance + $1 WHERE id = 2", "parameters": []any{30}},
	}, "isolation": "serializable"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	if want := `{"results":[{"row_count":2},{"columns":["balance"],"rows":[{"balance":70}],"row_count":1},{"row_count":1}],"row_count":4}`; string(b) != want {
		t.Fatalf("transaction = %s, want %s", b, want)
	}

	// The third statement violates the check: nothing of the transaction stays.
	_, err = call(t, h, "transaction", map[string]any{"statements": []any{
		map[string]any{"sql": "INSERT INTO acct VALUES (3, 5)"},
		map[string]any{"sql": "UPDATE acct SET balance = balance + 5 WHERE id = 2"},
		map[string]any{"sql": "UPDATE acct SET balance = balance - 1000 WHERE id = 1"},
	}})
	he := testkit.HandlerError(t, err)
	if he.Details["rolled_back"] != true || he.Details["statement"] != 2 || he.Details["sqlstate"] != "23514" || he.Retryable {
		t.Fatalf("error = %+v, want a rolled-back, permanent 23514 at statement 2", he)
	}
	got := mustCall(t, h, "query", map[string]any{"sql": "SELECT id, balance FROM acct ORDER BY id"})
	b, _ = json.Marshal(got["rows"])
	if want := `[{"balance":70,"id":1},{"balance":30,"id":2}]`; string(b) != want {
		t.Fatalf("after rollback rows = %s, want %s", b, want)
	}

	// A read-only transaction refuses writes (25006, permanent).
	_, err = call(t, h, "transaction", map[string]any{"read_only": true, "statements": []any{
		map[string]any{"sql": "DELETE FROM acct"},
	}})
	he = testkit.HandlerError(t, err)
	if he.Details["sqlstate"] != "25006" || he.Retryable {
		t.Fatalf("read-only write: %+v", he)
	}

	// Each statement is described when its turn comes: it may use a table
	// an earlier statement of the transaction created. Rolled back, the
	// table is gone, and the same statements work again.
	created := []any{
		map[string]any{"sql": "CREATE TABLE made_here (id int)"},
		map[string]any{"sql": "INSERT INTO made_here VALUES ($1) RETURNING id", "parameters": []any{7}},
		map[string]any{"sql": "SELECT 1/0"},
	}
	for range 2 {
		_, err = call(t, h, "transaction", map[string]any{"statements": created})
		if he := testkit.HandlerError(t, err); he.Details["sqlstate"] != "22012" || he.Details["statement"] != 2 {
			t.Fatalf("error = %+v, want the division by zero of statement 2", he)
		}
	}
	res, err = call(t, h, "transaction", map[string]any{"statements": created[:2]})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(res); string(b) != `{"results":[{"row_count":0},{"columns":["id"],"rows":[{"id":7}],"row_count":1}],"row_count":1}` {
		t.Fatalf("transaction = %s", b)
	}
}

func TestSQLSTATEMapping(t *testing.T) {
	h := open(t, nil)
	mustCall(t, h, "execute", map[string]any{"sql": "CREATE TABLE u (k int PRIMARY KEY)"})
	mustCall(t, h, "execute", map[string]any{"sql": "INSERT INTO u VALUES (1)"})
	raise := func(code string) string {
		return fmt.Sprintf("DO $$ BEGIN RAISE EXCEPTION 'raised %s' USING ERRCODE = '%s'; END $$", code, code)
	}
	tests := []struct {
		name      string
		sql       string
		sqlstate  string
		retryable bool
		field     string
	}{
		{"08 connection exception", raise("08006"), "08006", true, ""},
		{"53 insufficient resources", raise("53300"), "53300", true, ""},
		{"57 operator intervention", raise("57P01"), "57P01", true, ""},
		{"58 system error", raise("58030"), "58030", true, ""},
		{"40 serialization failure", raise("40001"), "40001", true, ""},
		{"22 data exception (real)", "SELECT 1/0", "22012", false, ""},
		{"22 invalid text", "SELECT 'x'::int", "22P02", false, ""},
		{"23 unique violation (real)", "INSERT INTO u VALUES (1)", "23505", false, ""},
		{"28 invalid authorization", raise("28000"), "28000", false, ""},
		{"42 syntax error (real)", "SELEC 1", "42601", false, "sql"},
		{"42 undefined table (real)", "SELECT * FROM missing_table", "42P01", false, "sql"},
		{"other class is permanent", raise("P0001"), "P0001", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := call(t, h, "execute", map[string]any{"sql": tt.sql})
			he := testkit.HandlerError(t, err)
			if he.Details["sqlstate"] != tt.sqlstate || he.Retryable != tt.retryable || he.Field != tt.field {
				t.Fatalf("error = %+v (details %v), want sqlstate %s retryable %v field %q", he, he.Details, tt.sqlstate, tt.retryable, tt.field)
			}
			if he.Kind != handler.KindFailed || he.Hint == "" || !strings.Contains(he.Message, tt.sqlstate) {
				t.Fatalf("error = %+v, want a failure with a hint and the SQLSTATE in its message", he)
			}
		})
	}
}

func TestStatementTimeout(t *testing.T) {
	h := open(t, map[string]any{"statement_timeout": "50ms"})
	_, err := call(t, h, "query", map[string]any{"sql": "SELECT pg_sleep(30)"})
	he := testkit.HandlerError(t, err)
	if he.Details["sqlstate"] != "57014" || !he.Retryable {
		t.Fatalf("error = %+v, want the server's statement timeout (57014), retryable", he)
	}
	// The pool recovers.
	if _, err := call(t, h, "query", map[string]any{"sql": "SELECT 1"}); err != nil {
		t.Fatalf("after timeout: %v", err)
	}
}

func TestInvocationDeadline(t *testing.T) {
	h := open(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	inv := handler.NewInvocation(handler.InvocationParams{Operation: "db.query", Payload: json.RawMessage(`{"sql":"SELECT pg_sleep(30)"}`)})
	done := make(chan error, 1)
	go func() {
		_, err := h.Handle(ctx, inv)
		done <- err
	}()
	// Cancel once the query is running on the server.
	waitForQuery(t, "SELECT pg_sleep(30)")
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled (the runtime answers it)", err)
	}
}

// waitForQuery blocks until the server reports sql as an active query.
func waitForQuery(t *testing.T, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testkit.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// pg_stat_activity is refreshed per transaction: poll with a server-side
	// wait between reads rather than sleeping in the test.
	for i := 0; i < 500; i++ {
		var n int
		err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE query = $1 AND state = 'active'", sql).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if _, err := conn.Exec(ctx, "SELECT pg_sleep(0.01)"); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("query %q never became active", sql)
}

func TestTerminatedConnectionIsTransient(t *testing.T) {
	h := open(t, map[string]any{"max_conns": 1})
	const sql = "SELECT pg_sleep(30) AS terminated_by_the_test"
	done := make(chan error, 1)
	go func() {
		_, err := call(t, h, "query", map[string]any{"sql": sql})
		done <- err
	}()
	waitForQuery(t, sql)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testkit.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1", sql); err != nil {
		t.Fatal(err)
	}
	he := testkit.HandlerError(t, <-done)
	if !he.Retryable || !strings.HasPrefix(fmt.Sprint(he.Details["sqlstate"]), "57") {
		t.Fatalf("error on a terminated connection = %+v %v, want a retryable class 57", he, he.Details)
	}
	// The pool replaces the connection.
	if _, err := call(t, h, "query", map[string]any{"sql": "SELECT 1"}); err != nil {
		t.Fatalf("after termination: %v", err)
	}
}

func TestDSNNeverShown(t *testing.T) {
	const password = "pw-Zq81-never-shown"
	dsns := []string{
		"postgres://admin:" + password + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=5",
		"postgres://admin:" + password + "@127.0.0.1:notaport/db",
		"host=127.0.0.1 port=1 user=admin password=" + password + " sslmode=disable",
	}
	for _, dsn := range dsns {
		var logs bytes.Buffer
		h, err := New(json.RawMessage(`{"dsn_secret":"db/dsn"}`))
		if err != nil {
			t.Fatal(err)
		}
		env := handler.NewInitEnv(handler.InitParams{
			HandlerName:  "db",
			Logger:       slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Capabilities: handler.Capabilities{Dialer: plainDialer, Secrets: secrets{"db/dsn": dsn}},
		})
		err = h.(*DB).Init(context.Background(), env)
		if err == nil {
			t.Fatalf("Init with an unreachable DSN succeeded")
		}
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), logs.String()} {
			if strings.Contains(s, password) || strings.Contains(s, "admin") || strings.Contains(s, dsn) {
				t.Fatalf("DSN material leaked: %q", s)
			}
		}
	}
}

func TestDSNFromResolvedReference(t *testing.T) {
	dsn, _ := testkit.PostgresSchema(t)
	// At registration the reference is a placeholder; at Init the runtime
	// hands the resolved config.
	h, err := New(json.RawMessage(`{"dsn":"[redacted]"}`))
	if err != nil {
		t.Fatal(err)
	}
	resolved, _ := json.Marshal(map[string]any{"dsn": dsn})
	env := handler.NewInitEnv(handler.InitParams{Config: resolved, Capabilities: handler.Capabilities{Dialer: plainDialer}})
	if err := h.(*DB).Init(context.Background(), env); err != nil {
		t.Fatalf("Init: %v", err)
	}
	defer h.(*DB).Close(context.Background())
	if _, err := call(t, h.(*DB), "query", map[string]any{"sql": "SELECT 1"}); err != nil {
		t.Fatal(err)
	}
}

func TestInitRequiresCapabilities(t *testing.T) {
	tests := []struct {
		name    string
		caps    handler.Capabilities
		config  string
		wantErr string
	}{
		{"no dialer", handler.Capabilities{Secrets: secrets{}}, `{"dsn_secret":"db/dsn"}`, "no egress capability"},
		{"no secret reader", handler.Capabilities{Dialer: plainDialer}, `{"dsn_secret":"db/dsn"}`, "no secret reader"},
		{"secret missing", handler.Capabilities{Dialer: plainDialer, Secrets: secrets{}}, `{"dsn_secret":"db/dsn"}`, "dsn_secret db/dsn"},
		{"db/dsn by default", handler.Capabilities{Dialer: plainDialer, Secrets: secrets{}}, `{}`, "dsn_secret db/dsn"},
		{"unresolved reference", handler.Capabilities{Dialer: plainDialer}, `{"dsn":"[redacted]"}`, "not resolved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(json.RawMessage(tt.config))
			if err != nil {
				t.Fatal(err)
			}
			err = h.(*DB).Init(context.Background(), handler.NewInitEnv(handler.InitParams{Capabilities: tt.caps}))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Init error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// denyingDialer refuses every connection the way the egress guard does.
type denyingDialer struct{}

func (denyingDialer) DialContext(_ context.Context, _, address string) (net.Conn, error) {
	e := &handler.ValidationError{RuleID: "SECURITY-310", Message: "connection to " + address + " is outside allowed_domains", RemediationHint: "add the host"}
	return nil, e
}

func TestDialerRefusalKeepsRule(t *testing.T) {
	dsn := testkit.PostgresDSN(t)
	h, _ := New(json.RawMessage(`{"dsn_secret":"db/dsn"}`))
	err := h.(*DB).Init(context.Background(), handler.NewInitEnv(handler.InitParams{
		Capabilities: handler.Capabilities{Dialer: denyingDialer{}, Secrets: secrets{"db/dsn": dsn}},
	}))
	var ve *handler.ValidationError
	if !errors.As(err, &ve) || ve.RuleID != "SECURITY-310" {
		t.Fatalf("Init error = %v, want SECURITY-310 in its chain", err)
	}
	if !strings.Contains(err.Error(), "SECURITY-310") {
		t.Fatalf("Init error %q does not name the rule", err)
	}
}

// TestEgressPolicy connects through the real policy's guarded dialer: the
// database host must be in allowed_domains, by name or address (SECURITY-310).
func TestEgressPolicy(t *testing.T) {
	dsn, _ := testkit.PostgresSchema(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	byName := strings.Replace(dsn, "127.0.0.1", "localhost", 1)
	tests := []struct {
		name    string
		dsn     string
		allowed []string
		denied  bool
	}{
		{"address listed", dsn, []string{"127.0.0.1:" + port}, false},
		{"name listed, resolved by the guard", byName, []string{"localhost"}, false},
		{"empty allowlist", dsn, nil, true},
		{"other host", dsn, []string{"db.example.com"}, true},
		{"other port", dsn, []string{"127.0.0.1:1"}, true},
		{"name not listed (only its address is)", byName, []string{"127.0.0.1"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			caps := testkit.Capabilities(t, testkit.Grant{Name: "db", AllowedDomains: tt.allowed, SecretScopes: []string{"db"},
				Secrets: map[string]string{"db/dsn": tt.dsn}})
			h, err := New(json.RawMessage(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			err = h.(*DB).Init(context.Background(), handler.NewInitEnv(handler.InitParams{HandlerName: "db", Capabilities: caps}))
			defer h.(*DB).Close(context.Background())
			if !tt.denied {
				if err != nil {
					t.Fatalf("Init: %v", err)
				}
				if _, err := call(t, h.(*DB), "query", map[string]any{"sql": "SELECT 1"}); err != nil {
					t.Fatal(err)
				}
				return
			}
			var ve *handler.ValidationError
			if !errors.As(err, &ve) || ve.RuleID != "SECURITY-310" || ve.RemediationHint == "" || ve.HandlerIdentity != "db" {
				t.Fatalf("Init error = %v, want SECURITY-310 for handler db with a hint", err)
			}
			if strings.Contains(err.Error(), "postgres://") {
				t.Fatalf("error shows the DSN: %v", err)
			}
		})
	}
}
