package db

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/onexhost/onex/envelope/rawjson"
	"github.com/onexhost/onex/handler"
)

// convertParameters turns the JSON parameters into pgx arguments. Scalars and
// objects travel in PostgreSQL's text format, which the server parses for the
// parameter's type: numbers keep every digit, booleans are true/false, an
// object is its JSON text (for json/jsonb parameters), a string is the string.
// Arrays become Go slices, encoded by pgx for array parameters (int[], text[],
// numeric[], …) and as JSON for json/jsonb parameters.
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
		return string(v), nil
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
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return nil, fmt.Errorf("number %s is out of range", v)
		}
		return f, nil
	}
	return nil, fmt.Errorf("not a JSON value")
}
