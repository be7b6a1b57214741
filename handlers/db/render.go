package db

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
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
//	anything else            PostgreSQL's text representation (interval, inet, time, …)

const (
	layoutTimestamptz = "2006-01-02T15:04:05.999999Z07:00"
	layoutTimestamp   = "2006-01-02T15:04:05.999999"
	layoutDate        = "2006-01-02"
)

// columns describes a result's columns.
type columns struct {
	names   []string
	oids    []uint32
	formats []int16
	arrays  bool // some column is an array
}

func newColumns(m *pgtype.Map, fds []pgconn.FieldDescription) (*columns, error) {
	c := &columns{names: make([]string, len(fds)), oids: make([]uint32, len(fds)), formats: make([]int16, len(fds))}
	for i, fd := range fds {
		// Quadratic, allocation-free: results rarely have more than a few
		// dozen columns.
		for _, prev := range fds[:i] {
			if prev.Name == fd.Name {
				return nil, fmt.Errorf("column name %q appears more than once: give the columns distinct aliases (AS …)", fd.Name)
			}
		}
		c.names[i], c.oids[i], c.formats[i] = fd.Name, fd.DataTypeOID, fd.Format
		if elementOID(m, fd.DataTypeOID) != fd.DataTypeOID {
			c.arrays = true
		}
	}
	return c, nil
}

// row renders one row's values in place. raws are the undecoded values, read
// again for arrays: pgx flattens multi-dimensional arrays in vals.
func (c *columns) row(m *pgtype.Map, vals []any, raws [][]byte) (Row, error) {
	for i, v := range vals {
		if c.arrays && v != nil {
			if elem := elementOID(m, c.oids[i]); elem != c.oids[i] {
				var arr pgtype.Array[any]
				if err := m.PlanScan(c.oids[i], c.formats[i], &arr).Scan(raws[i], &arr); err != nil {
					return Row{}, fmt.Errorf("column %q: %w", c.names[i], err)
				}
				vals[i] = nestArray(m, elem, arr)
				continue
			}
		}
		vals[i] = render(m, c.oids[i], v)
	}
	return Row{names: c.names, values: vals}, nil
}

// nestArray renders a (possibly multi-dimensional) array as nested JSON arrays.
func nestArray(m *pgtype.Map, elem uint32, arr pgtype.Array[any]) any {
	if !arr.Valid {
		return nil
	}
	if len(arr.Dims) == 0 {
		return []any{}
	}
	pos := 0
	var build func(d int) []any
	build = func(d int) []any {
		n := int(arr.Dims[d].Length)
		out := make([]any, n)
		for i := range out {
			if d == len(arr.Dims)-1 {
				out[i] = render(m, elem, arr.Elements[pos])
				pos++
			} else {
				out[i] = build(d + 1)
			}
		}
		return out
	}
	return build(0)
}

// Row is one result row. It encodes as a JSON object whose keys follow the
// column order of the query.
type Row struct {
	names  []string
	values []any
}

// Get returns the value of column name.
func (r Row) Get(name string) (any, bool) {
	for i, n := range r.names {
		if n == name {
			return r.values[i], true
		}
	}
	return nil, false
}

// MarshalJSON encodes the row as an object in column order.
func (r Row) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, n := range r.names {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(n)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(r.values[i])
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", n, err)
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// render turns the value pgx decoded for a column (or array element) of type
// oid into a value encoding/json renders faithfully.
func render(m *pgtype.Map, oid uint32, v any) any {
	switch x := v.(type) {
	case nil, bool, string, int16, int32, int64, json.RawMessage, []byte:
		return v
	case float32:
		return renderFloat(float64(x))
	case float64:
		return renderFloat(x)
	case pgtype.Numeric:
		b, err := x.MarshalJSON()
		if err != nil {
			return textOf(m, oid, v)
		}
		return json.RawMessage(b)
	case time.Time:
		switch oid {
		case pgtype.TimestamptzOID:
			return x.UTC().Format(layoutTimestamptz)
		case pgtype.DateOID:
			return x.Format(layoutDate)
		case pgtype.TimestampOID:
			return x.Format(layoutTimestamp)
		}
		return textOf(m, oid, v)
	case pgtype.InfinityModifier:
		return x.String()
	case [16]byte:
		if oid == pgtype.UUIDOID {
			return pgtype.UUID{Bytes: x, Valid: true}.String()
		}
	case []any:
		elem := elementOID(m, oid)
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = render(m, elem, e)
		}
		return out
	}
	return textOf(m, oid, v)
}

func renderFloat(f float64) any {
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

// textOf is PostgreSQL's text representation of v, the fallback for types
// without a natural JSON form.
func textOf(m *pgtype.Map, oid uint32, v any) any {
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
