package db

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/onexhost/onex/handler"
)

// How values become JSON, faithfully:
//
//	NULL                     null
//	smallint/integer/bigint  number (exact, bigint included)
//	numeric                  number with every digit; NaN and ±Infinity as strings
//	real/double              number; NaN and ±Infinity as strings
//	boolean, text, enums     boolean, string
//	json/jsonb               the JSON value itself (numbers keep every digit)
//	bytea                    base64 string
//	timestamptz              RFC 3339 in UTC with the fraction: 2024-05-01T12:00:00.123456Z
//	timestamp                the same without a zone: 2024-05-01T12:00:00.123456
//	date                     2024-05-01
//	±infinity dates/times    "infinity", "-infinity"
//	uuid                     canonical string
//	arrays                   JSON arrays, element by element (multi-dimensional nested)
//	anything else            PostgreSQL's text representation (interval, inet, time, …),
//	                         in arrays too: each element as PostgreSQL prints it

// The layouts of the table above.
const (
	layoutTimestamptz = "2006-01-02T15:04:05.999999Z07:00"
	layoutTimestamp   = "2006-01-02T15:04:05.999999"
	layoutDate        = "2006-01-02"
)

// columns describes a result's columns.
type columns []column

type column struct {
	name   string
	oid    uint32
	format int16
	elem   uint32 // the element type of an array column, else 0
}

func newColumns(m *pgtype.Map, fds []pgconn.FieldDescription) columns {
	c := make(columns, len(fds))
	for i, fd := range fds {
		c[i] = column{name: fd.Name, oid: fd.DataTypeOID, format: fd.Format}
		if elem := elementOID(m, fd.DataTypeOID); elem != fd.DataTypeOID {
			c[i].elem = elem
		}
	}
	return c
}

// distinctNames checks that no two columns share a name: a row is a JSON
// object keyed by them.
func distinctNames(fds []pgconn.FieldDescription) error {
	// Quadratic, allocation-free: results rarely have more than a few dozen
	// columns.
	for i, fd := range fds {
		for _, prev := range fds[:i] {
			if prev.Name == fd.Name {
				return fmt.Errorf("column name %q appears more than once: give the columns distinct aliases (AS …)", fd.Name)
			}
		}
	}
	return nil
}

// names are the column names, in the order of the query.
func (c columns) names() []string {
	names := make([]string, len(c))
	for i := range c {
		names[i] = c[i].name
	}
	return names
}

// rows are n rows of cells, the values of each row one after the other.
func (c columns) rows(cells []any, n int) handler.Rows {
	r := handler.Rows{Columns: c.names(), Values: make([][]any, n)}
	w := len(c)
	for i := range r.Values {
		r.Values[i] = cells[i*w : (i+1)*w : (i+1)*w]
	}
	return r
}

// appendRow appends the JSON-ready values of one row to dst. raws are the
// undecoded values, read again for arrays: pgx flattens multi-dimensional
// arrays in vals.
func (c columns) appendRow(dst []any, m *pgtype.Map, vals []any, raws [][]byte) ([]any, error) {
	for i, v := range vals {
		col := &c[i]
		switch {
		case col.elem == 0 && col.format == pgtype.TextFormatCode:
			dst = append(dst, serverText(col.oid, raws[i]))
		case col.elem != 0 && v != nil && col.format == pgtype.TextFormatCode:
			// An array of a type without a JSON form: its elements as
			// PostgreSQL prints them, as the same type is printed alone.
			var arr pgtype.Array[*string]
			if err := m.PlanScan(col.oid, col.format, &arr).Scan(raws[i], &arr); err != nil {
				return dst, fmt.Errorf("column %q: %w", col.name, err)
			}
			dst = append(dst, nested(arr, func(e *string) any {
				if e == nil {
					return nil
				}
				return serverText(col.elem, []byte(*e))
			}))
		case col.elem != 0 && v != nil:
			var arr pgtype.Array[any]
			if err := m.PlanScan(col.oid, col.format, &arr).Scan(raws[i], &arr); err != nil {
				return dst, fmt.Errorf("column %q: %w", col.name, err)
			}
			dst = append(dst, nested(arr, func(e any) any { return jsonValue(m, col.elem, e) }))
		default:
			dst = append(dst, jsonValue(m, col.oid, v))
		}
	}
	return dst, nil
}

// nested is a (possibly multi-dimensional) array as nested JSON arrays, each
// element by elem.
func nested[T any](arr pgtype.Array[T], elem func(T) any) any {
	if !arr.Valid {
		return nil
	}
	if len(arr.Dims) == 0 {
		return []any{}
	}
	pos := 0
	var build func(d int) []any
	build = func(d int) []any {
		out := make([]any, arr.Dims[d].Length)
		for i := range out {
			if d == len(arr.Dims)-1 {
				out[i] = elem(arr.Elements[pos])
				pos++
			} else {
				out[i] = build(d + 1)
			}
		}
		return out
	}
	return build(0)
}

// jsonValue is the value pgx decoded for a column (or array element) of type
// oid as a Go value encoding/json renders as the table above says.
func jsonValue(m *pgtype.Map, oid uint32, v any) any {
	switch x := v.(type) {
	case nil, bool, string, int16, int32, int64, []byte:
		return x // []byte: a base64 string
	case json.RawMessage:
		// Checked by unmarshalRaw; json and jsonb keep every digit.
		return x
	case float32:
		return jsonFloat(float64(x))
	case float64:
		return jsonFloat(x)
	case pgtype.Numeric:
		// Its MarshalJSON writes every digit, NaN and the infinities as
		// strings.
		return x
	case time.Time:
		if s, ok := formatTime(oid, x); ok {
			return s
		}
	case pgtype.InfinityModifier:
		return x.String()
	case [16]byte:
		if oid == pgtype.UUIDOID {
			return uuid.UUID(x) // its canonical text
		}
	case []any:
		elem := elementOID(m, oid)
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(m, elem, e)
		}
		return out
	}
	return text(m, oid, v)
}

// formatTime formats a timestamptz, timestamp or date by the layouts of the
// table; ok is false for other types.
func formatTime(oid uint32, t time.Time) (s string, ok bool) {
	// With whole microseconds (all PostgreSQL keeps), time.RFC3339Nano, which
	// the time package writes without reading a layout, gives the same text
	// as the layouts, Z included for UTC.
	micro := t.Nanosecond()%1000 == 0
	switch {
	case oid == pgtype.TimestamptzOID && micro:
		return t.UTC().Format(time.RFC3339Nano), true
	case oid == pgtype.TimestamptzOID:
		return t.UTC().Format(layoutTimestamptz), true
	case oid == pgtype.TimestampOID && micro && t.Location() == time.UTC: // as pgx reads it
		s := t.Format(time.RFC3339Nano)
		return s[:len(s)-1], true // no zone
	case oid == pgtype.TimestampOID:
		return t.Format(layoutTimestamp), true
	case oid == pgtype.DateOID:
		return t.Format(layoutDate), true
	}
	return "", false
}

// resultFormats asks the server for the binary form of the types rendered
// natively below, and — pgx gives every type missing from the map the text
// format — for PostgreSQL's own text of every other type: a numeric keeps its
// scale (0.000 stays 0.000, which pgx's binary decoding loses for zeros), and
// xml, ranges, intervals, network addresses, geometric and bit strings read as
// PostgreSQL prints them.
var resultFormats = func() pgx.QueryResultFormatsByOID {
	f := pgx.QueryResultFormatsByOID{}
	for _, oid := range []uint32{
		pgtype.BoolOID, pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.OIDOID,
		pgtype.Float4OID, pgtype.Float8OID, pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID,
		pgtype.NameOID, pgtype.QCharOID, pgtype.JSONOID, pgtype.JSONBOID, pgtype.ByteaOID, pgtype.UUIDOID,
		pgtype.TimestampOID, pgtype.TimestamptzOID, pgtype.DateOID,
		pgtype.BoolArrayOID, pgtype.Int2ArrayOID, pgtype.Int4ArrayOID, pgtype.Int8ArrayOID,
		pgtype.Float4ArrayOID, pgtype.Float8ArrayOID, pgtype.TextArrayOID, pgtype.VarcharArrayOID,
		pgtype.BPCharArrayOID, pgtype.NameArrayOID, pgtype.JSONArrayOID, pgtype.JSONBArrayOID,
		pgtype.ByteaArrayOID, pgtype.UUIDArrayOID, pgtype.TimestampArrayOID, pgtype.TimestamptzArrayOID,
		pgtype.DateArrayOID, pgtype.NumericArrayOID,
	} {
		f[oid] = pgtype.BinaryFormatCode
	}
	return f
}()

// serverText is a value the server sent in its text format: a numeric as a
// JSON number with every digit (NaN and the infinities, which JSON has no
// number for, as strings), anything else as PostgreSQL's text, NULL as nil.
func serverText(oid uint32, raw []byte) any {
	switch {
	case raw == nil:
		return nil
	case oid == pgtype.NumericOID && json.Valid(raw):
		return json.Number(raw)
	}
	return string(raw)
}

// jsonFloat is a float as a JSON number; NaN and the infinities, which JSON
// has no number for, as strings.
func jsonFloat(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

// elementOID is the element type of an array type, or oid itself for the
// inner levels of a multi-dimensional array (pgx nests them as []any).
func elementOID(m *pgtype.Map, oid uint32) uint32 {
	if t, ok := m.TypeForOID(oid); ok {
		if ac, ok := t.Codec.(*pgtype.ArrayCodec); ok && ac.ElementType != nil {
			return ac.ElementType.OID
		}
	}
	return oid
}

// text is PostgreSQL's text representation of v, the fallback for types
// without a natural JSON form.
func text(m *pgtype.Map, oid uint32, v any) any {
	if b, err := m.Encode(oid, pgtype.TextFormatCode, v, nil); err == nil {
		if b == nil {
			return nil
		}
		return string(b)
	}
	if s, ok := v.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprint(v)
}

// registerJSONCodecs makes json and jsonb decode to json.RawMessage, so a
// document reaches the response as the server sent it: no float64 round trip
// rounding big numbers.
func registerJSONCodecs(_ context.Context, conn *pgx.Conn) error {
	m := conn.TypeMap()
	jsonT := &pgtype.Type{Name: "json", OID: pgtype.JSONOID, Codec: &pgtype.JSONCodec{Marshal: json.Marshal, Unmarshal: unmarshalRaw}}
	jsonbT := &pgtype.Type{Name: "jsonb", OID: pgtype.JSONBOID, Codec: &pgtype.JSONBCodec{Marshal: json.Marshal, Unmarshal: unmarshalRaw}}
	m.RegisterType(jsonT)
	m.RegisterType(jsonbT)
	m.RegisterType(&pgtype.Type{Name: "_json", OID: pgtype.JSONArrayOID, Codec: &pgtype.ArrayCodec{ElementType: jsonT}})
	m.RegisterType(&pgtype.Type{Name: "_jsonb", OID: pgtype.JSONBArrayOID, Codec: &pgtype.ArrayCodec{ElementType: jsonbT}})
	return nil
}

// unmarshalRaw keeps a JSON document as raw bytes when decoding to an
// interface (what Rows.Values does); other targets decode as usual.
func unmarshalRaw(data []byte, v any) error {
	if p, ok := v.(*any); ok {
		if !json.Valid(data) {
			return fmt.Errorf("invalid JSON document from the server")
		}
		*p = json.RawMessage(bytes.Clone(data))
		return nil
	}
	return json.Unmarshal(data, v)
}
