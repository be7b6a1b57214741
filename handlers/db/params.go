package db

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/onexhost/onex/handler"
)

// convertParameters turns the JSON parameters into pgx arguments. Scalars and
// objects travel in PostgreSQL's text format, which the server parses for the
// parameter's type: numbers keep every digit, booleans are true/false, an
// object is its JSON text (for json/jsonb parameters), a string is the string.
// Arrays become Go slices, encoded by pgx for array parameters (int[], text[],
// numeric[], …) and as JSON for json/jsonb parameters.
func convertParameters(params []json.RawMessage, prefix string) ([]any, error) {
	if len(params) == 0 {
		return nil, nil
	}
	args := make([]any, len(params))
	for i, raw := range params {
		v, err := convertParameter(raw, true)
		if err != nil {
			return nil, invalidParameter(prefix, i, err)
		}
		args[i] = v
	}
	return args, nil
}

func invalidParameter(prefix string, i int, err error) error {
	return handler.InvalidPayload(fmt.Sprintf("%sparameters[%d]", prefix, i), "%v", err)
}

// convertParameter converts one JSON value; top is false inside arrays, where
// pgx encodes elements in the binary format and needs typed Go values.
func convertParameter(raw json.RawMessage, top bool) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, fmt.Errorf("empty value")
	}
	switch raw[0] {
	case 'n':
		return nil, nil
	case 't', 'f':
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, err
		}
		if top {
			return fmt.Sprint(b), nil
		}
		return b, nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return s, nil
	case '{':
		if !json.Valid(raw) {
			return nil, fmt.Errorf("invalid JSON object")
		}
		return string(raw), nil
	case '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return nil, err
		}
		out := make([]any, len(elems))
		for i, e := range elems {
			v, err := convertParameter(e, false)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = v
		}
		return out, nil
	default:
		var n json.Number
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&n); err != nil {
			return nil, err
		}
		if top {
			return n.String(), nil
		}
		if i, err := n.Int64(); err == nil {
			return i, nil
		}
		f, err := n.Float64()
		if err != nil {
			return nil, err
		}
		return f, nil
	}
}
