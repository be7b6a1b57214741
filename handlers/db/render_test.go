package db

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/handler"
)

// TestTimeLayouts checks the layouts of the rendering table, for times pgx
// reads and for ones it does not (finer than a microsecond, other zones).
func TestTimeLayouts(t *testing.T) {
	m := pgtype.NewMap()
	zone := time.FixedZone("x", -(3*3600 + 30*60))
	tests := []struct {
		t                      time.Time
		timestamptz, timestamp string
		date                   string
	}{
		{time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), "2024-05-01T12:00:00Z", "2024-05-01T12:00:00", "2024-05-01"},
		{time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.UTC), "2024-05-01T12:00:00.123456Z", "2024-05-01T12:00:00.123456", "2024-05-01"},
		{time.Date(2024, 5, 1, 12, 0, 0, 500000000, time.UTC), "2024-05-01T12:00:00.5Z", "2024-05-01T12:00:00.5", "2024-05-01"},
		{time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC), "2024-05-01T12:00:00.123456Z", "2024-05-01T12:00:00.123456", "2024-05-01"},
		{time.Date(2024, 5, 1, 22, 0, 0, 10000, zone), "2024-05-02T01:30:00.00001Z", "2024-05-01T22:00:00.00001", "2024-05-01"},
		{time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC), "12345-01-01T00:00:00Z", "12345-01-01T00:00:00", "12345-01-01"},
	}
	for _, tt := range tests {
		for oid, want := range map[uint32]string{
			pgtype.TimestamptzOID: tt.timestamptz,
			pgtype.TimestampOID:   tt.timestamp,
			pgtype.DateOID:        tt.date,
		} {
			if got := jsonValue(m, oid, tt.t); got != want {
				t.Errorf("oid %d, %v: %v, want %q", oid, tt.t, got, want)
			}
		}
	}
	// The RFC 3339 fast path agrees with the layouts at the edges of the
	// calendar too.
	for _, tm := range []time.Time{
		time.Date(-44, 3, 15, 0, 0, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
	} {
		for oid, layout := range map[uint32]string{pgtype.TimestamptzOID: layoutTimestamptz, pgtype.TimestampOID: layoutTimestamp} {
			if got, want := jsonValue(m, oid, tm), tm.Format(layout); got != want {
				t.Errorf("oid %d, %v: %v, want %q", oid, tm, got, want)
			}
		}
	}
}

// TestValuesEncodeFaithfully checks the Go values of the rendering table as
// encoding/json writes them: every digit of a numeric, JSON's missing
// numbers as strings.
func TestValuesEncodeFaithfully(t *testing.T) {
	m := pgtype.NewMap()
	big1, _ := new(big.Int).SetString("-98765432109876543210987654321", 10)
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"binary numeric", jsonValue(m, pgtype.NumericOID, pgtype.Numeric{Int: big1, Exp: -40, Valid: true}), "-0.0000000000098765432109876543210987654321"},
		{"binary numeric, scale", jsonValue(m, pgtype.NumericOID, pgtype.Numeric{Int: big.NewInt(12345), Exp: -2, Valid: true}), "123.45"},
		{"binary numeric NaN", jsonValue(m, pgtype.NumericOID, pgtype.Numeric{NaN: true, Valid: true}), `"NaN"`},
		{"binary numeric -Infinity", jsonValue(m, pgtype.NumericOID, pgtype.Numeric{InfinityModifier: pgtype.NegativeInfinity, Valid: true}), `"-Infinity"`},
		{"text numeric keeps its scale", serverText(pgtype.NumericOID, []byte("0.000")), "0.000"},
		{"text numeric digits", serverText(pgtype.NumericOID, []byte("12345678901234567890.123456789012")), "12345678901234567890.123456789012"},
		{"text numeric NaN", serverText(pgtype.NumericOID, []byte("NaN")), `"NaN"`},
		{"text numeric Infinity", serverText(pgtype.NumericOID, []byte("Infinity")), `"Infinity"`},
		{"text NULL", serverText(pgtype.NumericOID, nil), "null"},
		{"text of another type", serverText(pgtype.IntervalOID, []byte("1 day")), `"1 day"`},
		{"float NaN", jsonValue(m, pgtype.Float8OID, math.NaN()), `"NaN"`},
		{"float -Inf", jsonValue(m, pgtype.Float4OID, float32(math.Inf(-1))), `"-Infinity"`},
		{"float4 as read", jsonValue(m, pgtype.Float4OID, float32(1.1)), "1.100000023841858"},
		{"small float", jsonValue(m, pgtype.Float8OID, 1e-7), "1e-7"},
		{"bigint", jsonValue(m, pgtype.Int8OID, int64(math.MaxInt64)), "9223372036854775807"},
		{"uuid", jsonValue(m, pgtype.UUIDOID, [16]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}), `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`},
		{"bytea", jsonValue(m, pgtype.ByteaOID, []byte{1, 2}), `"AQI="`},
		{"jsonb keeps digits", jsonValue(m, pgtype.JSONBOID, json.RawMessage(`{"n": 12345678901234567890.5}`)), `{"n":12345678901234567890.5}`},
		{"infinity", jsonValue(m, pgtype.DateOID, pgtype.Infinity), `"infinity"`},
		{"nested array", jsonValue(m, pgtype.Int4ArrayOID, []any{int32(1), nil}), "[1,null]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.v)
			if err != nil || string(b) != tt.want {
				t.Fatalf("%#v encodes as %s, %v; want %s", tt.v, b, err, tt.want)
			}
		})
	}
}

// TestRowsOrder: a row's keys follow the column order of the query, keys are
// escaped as encoding/json escapes strings, the cells are cut into rows of one
// value per column, and a result may have rows without columns.
func TestRowsOrder(t *testing.T) {
	col := func(names ...string) columns {
		c := make(columns, len(names))
		for i, n := range names {
			c[i].name = n
		}
		return c
	}
	tests := []struct {
		cols  columns
		cells []any
		n     int
		want  string
	}{
		{col("z", "a"), []any{1, "x", 2, nil}, 2, `[{"z":1,"a":"x"},{"z":2,"a":null}]`},
		{col(`q"<`), []any{true}, 1, `[{"q\"\u003c":true}]`},
		{col(), nil, 2, `[{},{}]`},
		{col("a"), nil, 0, `[]`},
	}
	for _, tt := range tests {
		rows := tt.cols.rows(tt.cells, tt.n)
		b, err := envelope.AppendResult(nil, rows)
		if err != nil || string(b) != tt.want {
			t.Errorf("%v rows of %v encode as %s, %v; want %s", tt.n, tt.cells, b, err, tt.want)
		}
		if len(rows.Values) > 0 && cap(rows.Values[0]) != len(tt.cols) {
			t.Errorf("row 0 has capacity %d: appending to it would overwrite the next row", cap(rows.Values[0]))
		}
	}
}

// benchFields are the columns of the benchmark query, as pgx describes them.
var benchFields = []pgconn.FieldDescription{
	{Name: "id", DataTypeOID: pgtype.Int4OID, Format: pgtype.BinaryFormatCode},
	{Name: "name", DataTypeOID: pgtype.TextOID, Format: pgtype.BinaryFormatCode},
	{Name: "price", DataTypeOID: pgtype.NumericOID, Format: pgtype.BinaryFormatCode},
	{Name: "updated", DataTypeOID: pgtype.TimestamptzOID, Format: pgtype.BinaryFormatCode},
}

// BenchmarkAppendRow is one row from the values pgx decoded to its JSON, as
// the runtime encodes the result.
func BenchmarkAppendRow(b *testing.B) {
	m := pgtype.NewMap()
	cols := newColumns(m, benchFields)
	vals := []any{int32(7), "item 7", pgtype.Numeric{Int: big.NewInt(875), Exp: -2, Valid: true}, time.Date(2024, 1, 1, 8, 0, 0, 0, time.FixedZone("CET", 3600))}
	var cells []any
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if cells, err = cols.appendRow(cells[:0], m, vals, nil); err != nil {
			b.Fatal(err)
		}
		if out, err = envelope.AppendResult(out[:0], cols.rows(cells, 1)); err != nil {
			b.Fatal(err)
		}
	}
	if want := `[{"id":7,"name":"item 7","price":8.75,"updated":"2024-01-01T07:00:00Z"}]`; string(out) != want {
		b.Fatalf("row %s, want %s", out, want)
	}
}

// BenchmarkHandlerWork is the handler's own work for a query of 10 rows
// without the database (decode the payload, convert the parameters for the
// described types, render the rows pgx decoded) and the runtime's encoding
// of the result.
func BenchmarkHandlerWork(b *testing.B) {
	m := pgtype.NewMap()
	payload := []byte(`{"sql":"SELECT id, name, price, updated FROM items WHERE id <= $1 ORDER BY id","parameters":[10]}`)
	when := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var p Statement
		if err := handler.DecodeStrict(payload, &p); err != nil {
			b.Fatal(err)
		}
		if _, err := parameters(m, []uint32{pgtype.Int4OID}, p.Parameters, ""); err != nil {
			b.Fatal(err)
		}
		if err := distinctNames(benchFields); err != nil {
			b.Fatal(err)
		}
		cols := newColumns(m, benchFields)
		var cells []any
		for i := range 10 {
			vals := []any{int32(i), "item " + strconv.Itoa(i), pgtype.Numeric{Int: big.NewInt(int64(125 * i)), Exp: -2, Valid: true}, when.Add(time.Duration(i) * time.Hour)}
			var err error
			if cells, err = cols.appendRow(cells, m, vals, nil); err != nil {
				b.Fatal(err)
			}
		}
		rows := cols.rows(cells, 10)
		res := result{Columns: rows.Columns, Rows: &rows, RowCount: 10}
		var err error
		if buf, err = envelope.AppendResult(buf[:0], res.value()); err != nil {
			b.Fatal(err)
		}
	}
}
