// Package resultjson writes a handler's result as JSON for the envelope codec:
// the common shapes of a result (see handler.Object) by a type switch, without
// reflection, and anything else through encoding/json. Either way the bytes
// are those json.Marshal writes for the value, which a differential fuzz test
// holds it to.
//
// It is hand-written for the one path that justifies it: every successful
// dispatch encodes a result, and encoding/json spends several times as long
// reflecting over a small map or struct, then validating and compacting what a
// json.Marshaler wrote, as this package spends on the same bytes
// (BenchmarkAppend; envelope's BenchmarkAppendResult).
package resultjson

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"

	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/rawjson"
)

// maxDepth is how deep containers nest before the rest of a value is left to
// encoding/json, which detects a cycle of maps or slices where this package
// would recurse forever.
const maxDepth = 1000

// ErrTooDeep is returned for a handler.Object or handler.Rows nested deeper
// than maxDepth containers: most likely a value that contains itself, which
// neither this package nor encoding/json (calling their MarshalJSON) could
// finish.
var ErrTooDeep = errors.New("result nested more than 1000 levels deep (does it contain itself?)")

// Append appends the JSON encoding of v to dst: what json.Marshal(v) writes.
// On error it returns dst unchanged.
func Append(dst []byte, v any) ([]byte, error) {
	out, err := appendValue(dst, v, 0)
	if err != nil {
		return dst, err
	}
	return out, nil
}

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	if depth >= maxDepth {
		switch v.(type) {
		case handler.Object, handler.Rows:
			return dst, ErrTooDeep
		}
		return appendMarshal(dst, v)
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return rawjson.AppendString(dst, x), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	case uintptr:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case float64:
		return appendFloat(dst, x, 64, v)
	case float32:
		return appendFloat(dst, float64(x), 32, v)
	case json.Number:
		switch {
		case x == "":
			return append(dst, '0'), nil // as encoding/json writes the zero Number
		case rawjson.IsNumber(x):
			return append(dst, x...), nil
		}
		return appendMarshal(dst, v) // for encoding/json's error
	case []byte:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, x)
		return append(dst, '"'), nil
	case json.RawMessage:
		if x == nil {
			return append(dst, "null"...), nil
		}
		return appendMarshaled(dst, x, v)
	case handler.Object:
		return appendObject(dst, x, depth)
	case handler.Rows:
		return appendRows(dst, x, depth)
	case map[string]any:
		return appendMap(dst, x, depth, appendValue)
	case map[string]string:
		return appendMap(dst, x, depth, appendString)
	case map[string][]string:
		return appendMap(dst, x, depth, appendStrings)
	case []any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		return appendSlice(dst, x, depth, appendValue)
	case []string:
		return appendStrings(dst, x, depth)
	case []map[string]any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		return appendSlice(dst, x, depth, func(dst []byte, m map[string]any, depth int) ([]byte, error) {
			return appendMap(dst, m, depth, appendValue)
		})
	case json.Marshaler:
		if isNilPointer(v) {
			return append(dst, "null"...), nil // encoding/json does not call the method
		}
		b, err := x.MarshalJSON()
		if err != nil {
			return appendMarshal(dst, v) // for encoding/json's wording of the error
		}
		return appendMarshaled(dst, b, v)
	case encoding.TextMarshaler:
		if isNilPointer(v) {
			return append(dst, "null"...), nil
		}
		b, err := x.MarshalText()
		if err != nil {
			return appendMarshal(dst, v)
		}
		return rawjson.AppendString(dst, b), nil
	}
	return appendMarshal(dst, v)
}

// appendMarshal appends what encoding/json writes for v, or returns its error.
func appendMarshal(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// appendMarshaled appends b, JSON that a json.Marshaler wrote, which
// encoding/json validates, compacts and escapes as it escapes strings: when b
// is already in that form, as it is unless written by hand, it is appended as
// it is; else encoding/json does the work (or reports the error) for v.
func appendMarshaled(dst, b []byte, v any) ([]byte, error) {
	if rawjson.Canonical(b) && rawjson.Valid(b) {
		return append(dst, b...), nil
	}
	return appendMarshal(dst, v)
}

// appendFloat writes f as encoding/json does: the shortest representation
// that reads back as the same float of its size, in exponent form below 1e-6
// and from 1e21 on, with a one-digit exponent where one suffices (1e-7, not
// 1e-07). NaN and the infinities are refused, as encoding/json refuses them.
func appendFloat(dst []byte, f float64, bits int, v any) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return appendMarshal(dst, v) // for encoding/json's error
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 {
		// The cutoffs compare in the float's own size: a float32 just below
		// 1e21 as a float64 may be 1e21 as a float32.
		if bits == 64 && (a < 1e-6 || a >= 1e21) || bits == 32 && (float32(a) < 1e-6 || float32(a) >= 1e21) {
			format = 'e'
		}
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// strconv pads the exponent to two digits: e-07 → e-7.
		if n := len(dst); n-start >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

func appendString(dst []byte, s string, _ int) ([]byte, error) {
	return rawjson.AppendString(dst, s), nil
}

func appendStrings(dst []byte, s []string, depth int) ([]byte, error) {
	if s == nil {
		return append(dst, "null"...), nil
	}
	return appendSlice(dst, s, depth, appendString)
}

// appendSlice writes s as an array, each element by elem.
func appendSlice[E any](dst []byte, s []E, depth int, elem func([]byte, E, int) ([]byte, error)) ([]byte, error) {
	dst = append(dst, '[')
	for i, e := range s {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = elem(dst, e, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

// appendMap writes m as an object with its keys sorted, as encoding/json
// writes a map, each value by elem; nil is null.
func appendMap[V any](dst []byte, m map[string]V, depth int, elem func([]byte, V, int) ([]byte, error)) ([]byte, error) {
	if m == nil {
		return append(dst, "null"...), nil
	}
	// The keys of a small map are sorted on the stack.
	var buf [16]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = rawjson.AppendString(dst, k)
		dst = append(dst, ':')
		var err error
		if dst, err = elem(dst, m[k], depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

func appendObject(dst []byte, o handler.Object, depth int) ([]byte, error) {
	dst = append(dst, '{')
	for i, m := range o {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = rawjson.AppendString(dst, m.Name)
		dst = append(dst, ':')
		var err error
		if dst, err = appendValue(dst, m.Value, depth+1); err != nil {
			return dst, fmt.Errorf("%q: %w", m.Name, err)
		}
	}
	return append(dst, '}'), nil
}

func appendRows(dst []byte, r handler.Rows, depth int) ([]byte, error) {
	if err := r.Check(); err != nil {
		return dst, err
	}
	if len(r.Values) == 0 {
		return append(dst, "[]"...), nil
	}
	// The first row writes the names, `"name":` each, and later rows copy
	// them from there: names[j] is where name j is in dst.
	var namesBuf [32][2]int
	names := namesBuf[:0]
	if len(r.Columns) > len(namesBuf) {
		names = make([][2]int, 0, len(r.Columns))
	}
	dst = append(dst, '[')
	for i, row := range r.Values {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		for j, v := range row {
			if j > 0 {
				dst = append(dst, ',')
			}
			if i == 0 {
				start := len(dst)
				dst = rawjson.AppendString(dst, r.Columns[j])
				dst = append(dst, ':')
				names = append(names, [2]int{start, len(dst)})
			} else {
				// The source is taken before dst grows: when append
				// moves dst, it copies from the old array.
				dst = append(dst, dst[names[j][0]:names[j][1]]...)
			}
			var err error
			if dst, err = appendValue(dst, v, depth+2); err != nil {
				return dst, fmt.Errorf("row %d, %q: %w", i, r.Columns[j], err)
			}
		}
		dst = append(dst, '}')
	}
	return append(dst, ']'), nil
}

// isNilPointer reports whether v holds a nil pointer, which encoding/json
// writes as null without calling its methods.
func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}
