package db

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/onexhost/onex/envelope/rawjson"
	"github.com/onexhost/onex/handler"
)

// convertParameters turns the JSON parameters into pgx arguments. Scalars and
// objects travel in PostgreSQL's text format, which the server parses for the
// parameter's type: numbers keep every digit, booleans are true/false, an
// object is its JSON text (for json/jsonb parameters), a string is the string.
// Arrays become Go slices, encoded by pgx for array parameters (int[], text[],
// numeric[], …; numbers keep every digit) and as JSON for json/jsonb
// parameters. An array pgx cannot encode (of a type it does not know, such as
// an enum, or with several dimensions) is sent again as a PostgreSQL array
// literal (retryArrays), which the server reads for the parameter's type.
//
// The first argument is always resultFormats, which pgx takes as the result
// format of each column by type (see render.go); the parameters follow.
func convertParameters(params []json.RawMessage, prefix string) ([]any, error) {
	args := make([]any, len(params)+1)
	args[0] = resultFormats
	for i, raw := range params {
		v, err := convertParameter(raw, true)
		if err != nil {
			return nil, invalidParameter(prefix, i, err)
		}
		args[i+1] = v
	}
	return args, nil
}

func invalidParameter(prefix string, i int, err error) error {
	return handler.InvalidPayload(fmt.Sprintf("%sparameters[%d]", prefix, i), "%v", err)
}

// convertParameter converts one JSON value (valid: it comes from a validated
// payload); top is false inside arrays, where pgx encodes elements in the
// binary format and needs typed Go values.
func convertParameter(raw json.RawMessage, top bool) (any, error) {
	v := rawjson.Value(raw)
	switch v.Kind() {
	case rawjson.Null:
		return nil, nil
	case rawjson.Bool:
		if top {
			return strconv.FormatBool(v.Bool()), nil
		}
		return v.Bool(), nil
	case rawjson.String:
		return v.Unquote(), nil
	case rawjson.Object:
		if top {
			return string(v), nil
		}
		// Inside an array: the JSON text itself, which a json/jsonb
		// parameter embeds as the object and a json[]/jsonb[]/text[]
		// element reads as its text.
		return json.RawMessage(v), nil
	case rawjson.Array:
		var out []any
		for i, e := range v.Elements() {
			c, err := convertParameter(json.RawMessage(e), false)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out = append(out, c)
		}
		if out == nil {
			out = []any{}
		}
		return out, nil
	case rawjson.Number:
		if top {
			return string(v), nil
		}
		return json.Number(v), nil
	}
	return nil, fmt.Errorf("not a JSON value")
}

// retryArrays runs run and, each time pgx could not encode an array
// parameter, runs it again with that parameter as a PostgreSQL array literal
// in the text format. pgx encodes every argument before sending anything, so
// the statement has not run when it reports an encoding failure.
func retryArrays[T any](st *statement, run func() (T, error)) (T, error) {
	for {
		r, err := run()
		if err == nil {
			return r, nil
		}
		m := encodeArgRE.FindStringSubmatch(err.Error())
		if m == nil || !arrayOrUnknown(err) {
			return r, err
		}
		i, _ := strconv.Atoi(m[1])
		if i+1 >= len(st.args) {
			return r, err
		}
		arr, ok := st.args[i+1].([]any)
		if !ok {
			return r, err
		}
		lit, lerr := arrayLiteral(arr)
		if lerr != nil {
			var zero T
			return zero, &arrayShapeError{param: i, msg: lerr.Error()}
		}
		st.args[i+1] = lit
	}
}

// encodeOIDRE finds the parameter type in pgx's encoding error.
var encodeOIDRE = regexp.MustCompile(`\(OID (\d+)\)`)

// defaultTypes are the types pgx knows without loading any (read only).
var defaultTypes = pgtype.NewMap()

// arrayOrUnknown reports whether pgx's encoding error is for a parameter of
// an array type, or of a type pgx does not know (an enum, a domain, money, …):
// the parameters an array literal may suit. A JSON array for an integer
// parameter stays an invalid payload.
func arrayOrUnknown(err error) bool {
	m := encodeOIDRE.FindStringSubmatch(err.Error())
	if m == nil {
		return false
	}
	oid, perr := strconv.ParseUint(m[1], 10, 32)
	if perr != nil {
		return false
	}
	t, ok := defaultTypes.TypeForOID(uint32(oid))
	if !ok {
		return true
	}
	_, isArray := t.Codec.(*pgtype.ArrayCodec)
	return isArray
}

// arrayShapeError is an array parameter that no array literal can hold.
type arrayShapeError struct {
	param int
	msg   string
}

func (e *arrayShapeError) Error() string { return fmt.Sprintf("parameters[%d]: %s", e.param, e.msg) }

// arrayLiteral renders an array parameter, as convertParameter made it, as a
// PostgreSQL array literal: the elements' text (numbers as written, objects
// as their JSON), NULL for null, nested arrays as dimensions (which must all
// have the same length, as PostgreSQL requires).
func arrayLiteral(v []any) (string, error) {
	var dims []pgtype.ArrayDimension
	for level := any(v); ; {
		a, ok := level.([]any)
		if !ok {
			break
		}
		dims = append(dims, pgtype.ArrayDimension{Length: int32(len(a)), LowerBound: 1})
		if len(a) == 0 {
			break
		}
		level = a[0]
	}
	arr := pgtype.Array[*string]{Dims: dims, Valid: true}
	var flatten func(v any, d int) error
	flatten = func(v any, d int) error {
		a, isArray := v.([]any)
		if d < len(dims) {
			if !isArray || int32(len(a)) != dims[d].Length {
				return fmt.Errorf("nested arrays must all have the same length")
			}
			for _, e := range a {
				if err := flatten(e, d+1); err != nil {
					return err
				}
			}
			return nil
		}
		if isArray {
			return fmt.Errorf("nested arrays must all have the same length")
		}
		arr.Elements = append(arr.Elements, elementText(v))
		return nil
	}
	if err := flatten(v, 0); err != nil {
		return "", err
	}
	if len(arr.Elements) == 0 {
		return "{}", nil
	}
	b, err := pgtype.NewMap().Encode(pgtype.TextArrayOID, pgtype.TextFormatCode, arr, nil)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// elementText is the text of one array element for an array literal.
func elementText(v any) *string {
	var s string
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		s = x
	case bool:
		s = strconv.FormatBool(x)
	case json.Number:
		s = string(x)
	case json.RawMessage:
		s = string(x)
	default:
		s = fmt.Sprint(x)
	}
	return &s
}
