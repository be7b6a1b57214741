package db

import (
	"encoding/json"
	"math/big"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/onexhost/onex/envelope"
)

// TestTimestampsAsLayouts checks the fast RFC 3339 path against the layouts
// of the rendering table, for times pgx reads and for the ones it does not.
func TestTimestampsAsLayouts(t *testing.T) {
	m := pgtype.NewMap()
	zone := time.FixedZone("x", -(3*3600 + 30*60))
	times := []time.Time{
		time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
		time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.UTC),
		time.Date(2024, 5, 1, 12, 0, 0, 500000000, time.UTC),
		time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC), // finer than PostgreSQL
		time.Date(2024, 5, 1, 12, 0, 0, 10000, zone),
		time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-44, 3, 15, 0, 0, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1000, time.Local),
	}
	for _, tm := range times {
		for oid, want := range map[uint32]string{
			pgtype.TimestamptzOID: tm.UTC().Format(layoutTimestamptz),
			pgtype.TimestampOID:   tm.Format(layoutTimestamp),
			pgtype.DateOID:        tm.Format(layoutDate),
		} {
			if got := string(appendValue(nil, m, oid, tm)); got != `"`+want+`"` {
				t.Errorf("oid %d, %v: %s, want %q", oid, tm, got, want)
			}
		}
	}
}

func TestNumericDigits(t *testing.T) {
	big1, _ := new(big.Int).SetString("-98765432109876543210987654321", 10)
	tests := []struct {
		n    pgtype.Numeric
		want string
	}{
		{pgtype.Numeric{Int: big.NewInt(5), Exp: -3, Valid: true}, "0.005"},
		{pgtype.Numeric{Int: big.NewInt(-5), Exp: -1, Valid: true}, "-0.5"},
		{pgtype.Numeric{Int: big.NewInt(12345), Exp: -2, Valid: true}, "123.45"},
		{pgtype.Numeric{Int: big.NewInt(-12345), Exp: -5, Valid: true}, "-0.12345"},
		{pgtype.Numeric{Int: big.NewInt(7), Exp: 3, Valid: true}, "7000"},
		{pgtype.Numeric{Int: big1, Exp: -1, Valid: true}, "-9876543210987654321098765432.1"},
		{pgtype.Numeric{Int: big1, Exp: -40, Valid: true}, "-0.0000000000098765432109876543210987654321"},
		{pgtype.Numeric{Valid: true}, "0"},
		{pgtype.Numeric{}, "null"},
		{pgtype.Numeric{NaN: true, Valid: true}, `"NaN"`},
		{pgtype.Numeric{InfinityModifier: pgtype.NegativeInfinity, Valid: true}, `"-Infinity"`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := string(appendNumeric([]byte("x"), tt.n))
			want, err := tt.n.MarshalJSON() // pgx's own JSON form
			if err != nil {
				t.Fatal(err)
			}
			if got != "x"+tt.want || got != "x"+string(want) {
				t.Fatalf("appendNumeric = %s, want x%s (pgx: %s)", got, tt.want, want)
			}
		})
	}
}

func BenchmarkAppendRow(b *testing.B) {
	m := pgtype.NewMap()
	cols := columns{
		{name: "id", key: []byte(`"id":`), oid: pgtype.Int4OID, format: pgtype.BinaryFormatCode},
		{name: "name", key: []byte(`"name":`), oid: pgtype.TextOID, format: pgtype.BinaryFormatCode},
		{name: "price", key: []byte(`"price":`), oid: pgtype.NumericOID, format: pgtype.BinaryFormatCode},
		{name: "updated", key: []byte(`"updated":`), oid: pgtype.TimestamptzOID, format: pgtype.BinaryFormatCode},
	}
	vals := []any{int32(7), "item 7", pgtype.Numeric{Int: big.NewInt(875), Exp: -2, Valid: true}, time.Date(2024, 1, 1, 8, 0, 0, 0, time.FixedZone("CET", 3600))}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = cols.appendRow(buf[:0], m, vals, nil); err != nil {
			b.Fatal(err)
		}
	}
	if want := `{"id":7,"name":"item 7","price":8.75,"updated":"2024-01-01T07:00:00Z"}`; string(buf) != want {
		b.Fatalf("row %s, want %s", buf, want)
	}
}

// benchFields are the columns of the benchmark query, as pgx describes them.
var benchFields = []pgconn.FieldDescription{
	{Name: "id", DataTypeOID: pgtype.Int4OID, Format: pgtype.BinaryFormatCode},
	{Name: "name", DataTypeOID: pgtype.TextOID, Format: pgtype.BinaryFormatCode},
	{Name: "price", DataTypeOID: pgtype.NumericOID, Format: pgtype.BinaryFormatCode},
	{Name: "updated", DataTypeOID: pgtype.TimestamptzOID, Format: pgtype.BinaryFormatCode},
}

// BenchmarkHandlerWork is the handler's own work for a query of 10 rows
// without the database (read the payload, check the statement, render the
// rows pgx decoded) and the runtime's copy of the result into the response.
func BenchmarkHandlerWork(b *testing.B) {
	m := pgtype.NewMap()
	payload := []byte(`{"sql":"SELECT id, name, price, updated FROM items WHERE id <= $1 ORDER BY id","parameters":[10]}`)
	when := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		p, err := decodeStatement(payload)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := prepare(p, ""); err != nil {
			b.Fatal(err)
		}
		cols, err := newColumns(m, benchFields)
		if err != nil {
			b.Fatal(err)
		}
		res := cols.appendNames(append(make([]byte, 0, resultBufferSize), `{"columns":`...))
		res = append(res, `,"rows":[`...)
		for i := range 10 {
			if i > 0 {
				res = append(res, ',')
			}
			vals := []any{int32(i), "item " + strconv.Itoa(i), pgtype.Numeric{Int: big.NewInt(int64(125 * i)), Exp: -2, Valid: true}, when.Add(time.Duration(i) * time.Hour)}
			if res, err = cols.appendRow(res, m, vals, nil); err != nil {
				b.Fatal(err)
			}
		}
		res = append(res, `],"row_count":10}`...)
		if buf, err = envelope.AppendResult(buf[:0], json.RawMessage(res)); err != nil {
			b.Fatal(err)
		}
	}
}
