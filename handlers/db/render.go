package db

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/envelope/rawjson"
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

// columns describes a result's columns, in one allocation with their keys.
type columns []column

type column struct {
	name   string
	key    []byte // the name as a JSON object key: "name":
	oid    uint32
	format int16
	elem   uint32 // the element type of an array column, else 0
}

func newColumns(m *pgtype.Map, fds []pgconn.FieldDescription) (columns, error) {
	c := make(columns, len(fds))
	size := 0
	for _, fd := range fds {
		size += len(fd.Name) + 3
	}
	keys := make([]byte, 0, size) // usually enough; a sliced key stays valid if it is not
	for i, fd := range fds {
		// Quadratic, allocation-free: results rarely have more than a few
		// dozen columns.
		for _, prev := range fds[:i] {
			if prev.Name == fd.Name {
				return nil, fmt.Errorf("column name %q appears more than once: give the columns distinct aliases (AS …)", fd.Name)
			}
		}
		start := len(keys)
		keys = append(rawjson.AppendString(keys, fd.Name), ':')
		c[i] = column{name: fd.Name, key: keys[start:len(keys):len(keys)], oid: fd.DataTypeOID, format: fd.Format}
		if elem := elementOID(m, fd.DataTypeOID); elem != fd.DataTypeOID {
			c[i].elem = elem
		}
	}
	return c, nil
}

// appendNames appends the column names as a JSON array.
func (c columns) appendNames(dst []byte) []byte {
	dst = append(dst, '[')
	for i := range c {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, c[i].key[:len(c[i].key)-1]...) // without the ':'
	}
	return append(dst, ']')
}

// appendRow appends one row as a JSON object whose keys follow the column
// order of the query. raws are the undecoded values, read again for arrays:
// pgx flattens multi-dimensional arrays in vals.
func (c columns) appendRow(dst []byte, m *pgtype.Map, vals []any, raws [][]byte) ([]byte, error) {
	dst = append(dst, '{')
	for i, v := range vals {
		col := &c[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, col.key...)
		if col.elem == 0 && col.format == pgtype.TextFormatCode {
			dst = appendServerText(dst, col.oid, raws[i])
			continue
		}
		if col.elem != 0 && v != nil && col.format == pgtype.TextFormatCode {
			// An array of a type without a JSON form: its elements as
			// PostgreSQL prints them, as the same type is printed alone.
			var arr pgtype.Array[*string]
			if err := m.PlanScan(col.oid, col.format, &arr).Scan(raws[i], &arr); err != nil {
				return dst, fmt.Errorf("column %q: %w", col.name, err)
			}
			dst = appendNested(dst, arr, func(dst []byte, e *string) []byte {
				if e == nil {
					return append(dst, "null"...)
				}
				return appendServerText(dst, col.elem, []byte(*e))
			})
			continue
		}
		if col.elem != 0 && v != nil {
			var arr pgtype.Array[any]
			if err := m.PlanScan(col.oid, col.format, &arr).Scan(raws[i], &arr); err != nil {
				return dst, fmt.Errorf("column %q: %w", col.name, err)
			}
			dst = appendNested(dst, arr, func(dst []byte, e any) []byte { return appendValue(dst, m, col.elem, e) })
			continue
		}
		dst = appendValue(dst, m, col.oid, v)
	}
	return append(dst, '}'), nil
}

// appendNested appends a (possibly multi-dimensional) array as nested JSON
// arrays, each element by elem.
func appendNested[T any](dst []byte, arr pgtype.Array[T], elem func([]byte, T) []byte) []byte {
	if !arr.Valid {
		return append(dst, "null"...)
	}
	if len(arr.Dims) == 0 {
		return append(dst, "[]"...)
	}
	pos := 0
	var build func(dst []byte, d int) []byte
	build = func(dst []byte, d int) []byte {
		dst = append(dst, '[')
		for i := range int(arr.Dims[d].Length) {
			if i > 0 {
				dst = append(dst, ',')
			}
			if d == len(arr.Dims)-1 {
				dst = elem(dst, arr.Elements[pos])
				pos++
			} else {
				dst = build(dst, d+1)
			}
		}
		return append(dst, ']')
	}
	return build(dst, 0)
}

// appendValue appends the JSON form of the value pgx decoded for a column
// (or array element) of type oid.
func appendValue(dst []byte, m *pgtype.Map, oid uint32, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		return strconv.AppendBool(dst, x)
	case string:
		return rawjson.AppendString(dst, x)
	case int16:
		return strconv.AppendInt(dst, int64(x), 10)
	case int32:
		return strconv.AppendInt(dst, int64(x), 10)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case json.RawMessage:
		// Checked by unmarshalRaw; json and jsonb keep every digit.
		return rawjson.AppendCompact(dst, x)
	case []byte:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, x)
		return append(dst, '"')
	case float32:
		return appendFloat(dst, float64(x))
	case float64:
		return appendFloat(dst, x)
	case pgtype.Numeric:
		return appendNumeric(dst, x)
	case time.Time:
		// Digits and separators only: nothing to escape. With whole
		// microseconds (all PostgreSQL keeps), time.RFC3339Nano, which
		// AppendFormat writes without parsing a layout, gives the same text
		// as the layouts, Z included for UTC.
		dst = append(dst, '"')
		micro := x.Nanosecond()%1000 == 0
		switch {
		case oid == pgtype.TimestamptzOID && micro:
			dst = x.UTC().AppendFormat(dst, time.RFC3339Nano)
		case oid == pgtype.TimestamptzOID:
			dst = x.UTC().AppendFormat(dst, layoutTimestamptz)
		case oid == pgtype.TimestampOID && micro && x.Location() == time.UTC: // as pgx reads it
			dst = x.AppendFormat(dst, time.RFC3339Nano)
			dst = dst[:len(dst)-1] // no zone
		case oid == pgtype.TimestampOID:
			dst = x.AppendFormat(dst, layoutTimestamp)
		case oid == pgtype.DateOID:
			dst = x.AppendFormat(dst, layoutDate)
		default:
			return appendText(dst[:len(dst)-1], m, oid, v)
		}
		return append(dst, '"')
	case pgtype.InfinityModifier:
		return rawjson.AppendString(dst, x.String())
	case [16]byte:
		if oid == pgtype.UUIDOID {
			return appendUUID(dst, x)
		}
	case []any:
		elem := elementOID(m, oid)
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendValue(dst, m, elem, e)
		}
		return append(dst, ']')
	}
	return appendText(dst, m, oid, v)
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

// appendServerText renders a value the server sent in its text format: a
// numeric as a JSON number (NaN and the infinities as strings), anything else
// as a JSON string of PostgreSQL's text, NULL as null.
func appendServerText(dst []byte, oid uint32, raw []byte) []byte {
	switch {
	case raw == nil:
		return append(dst, "null"...)
	case oid == pgtype.NumericOID && rawjson.Valid(raw) && raw[0] != '"':
		return append(dst, raw...)
	}
	return rawjson.AppendString(dst, raw)
}

// appendFloat appends a float as a JSON number; NaN and the infinities, which
// JSON has no number for, as strings.
func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	return rawjson.AppendFloat(dst, f)
}

// appendNumeric appends a numeric with every digit, as pgtype.Numeric's JSON
// form: NaN and the infinities as strings.
func appendNumeric(dst []byte, n pgtype.Numeric) []byte {
	switch {
	case !n.Valid:
		return append(dst, "null"...)
	case n.NaN:
		return append(dst, `"NaN"`...)
	case n.InfinityModifier == pgtype.Infinity:
		return append(dst, `"Infinity"`...)
	case n.InfinityModifier == pgtype.NegativeInfinity:
		return append(dst, `"-Infinity"`...)
	case n.Int == nil:
		return append(dst, '0')
	}
	start := len(dst)
	if n.Int.IsInt64() {
		dst = strconv.AppendInt(dst, n.Int.Int64(), 10)
	} else {
		dst = n.Int.Append(dst, 10)
	}
	if dst[start] == '-' {
		start++
	}
	exp := int(n.Exp)
	if exp > 0 {
		for range exp {
			dst = append(dst, '0')
		}
		return dst
	}
	if exp == 0 {
		return dst
	}
	frac, digits := -exp, len(dst)-start
	if digits > frac {
		// 12345, -2 → 123.45: open a gap for the point.
		point := len(dst) - frac
		dst = append(dst, 0)
		copy(dst[point+1:], dst[point:])
		dst[point] = '.'
		return dst
	}
	// 5, -3 → 0.005: "0." and zeros before the digits.
	pad := 2 + frac - digits
	for range pad {
		dst = append(dst, 0)
	}
	copy(dst[start+pad:], dst[start:start+digits])
	dst[start], dst[start+1] = '0', '.'
	for i := start + 2; i < start+pad; i++ {
		dst[i] = '0'
	}
	return dst
}

// appendUUID appends a uuid in its canonical form, quoted.
func appendUUID(dst []byte, u [16]byte) []byte {
	dst = append(dst, '"')
	dst = envelope.AppendUUID(dst, uuid.UUID(u))
	return append(dst, '"')
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

// appendText appends PostgreSQL's text representation of v as a JSON
// string, the fallback for types without a natural JSON form.
func appendText(dst []byte, m *pgtype.Map, oid uint32, v any) []byte {
	if b, err := m.Encode(oid, pgtype.TextFormatCode, v, nil); err == nil {
		if b == nil {
			return append(dst, "null"...)
		}
		return rawjson.AppendString(dst, b)
	}
	if s, ok := v.(fmt.Stringer); ok {
		return rawjson.AppendString(dst, s.String())
	}
	return rawjson.AppendString(dst, fmt.Sprint(v))
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
		if !rawjson.Valid(data) {
			return fmt.Errorf("invalid JSON document from the server")
		}
		*p = json.RawMessage(bytes.Clone(data))
		return nil
	}
	return json.Unmarshal(data, v)
}
