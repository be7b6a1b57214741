package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/onexhost/onex/handler"
)

// The server describes every statement before it runs: how many parameters
// it takes and of which types, and the columns it returns. The handler reads
// neither the SQL nor the server's messages: a statement's shape is what the
// description says, and the server refuses an sql holding several statements
// (the extended protocol prepares exactly one).
//
// Descriptions are cached by sql for the whole pool: types are the
// database's, the same on every connection. A description is asked for with
// the unnamed statement, which keeps no state on the server (so it suits
// PgBouncer as well), once per sql; pgx then prepares and runs the
// statement as it would alone, so a statement costs the round trips it costs
// with pgx (one, with the statement cache). A statement that fails drops its
// description, as pgx drops its prepared statement, so a schema change is
// seen next time.

// describeCacheSize is how many descriptions are kept: pgx's default for its
// per-connection statement cache.
const describeCacheSize = 512

// describe returns the server's description of sql, from the cache or asked
// on conn.
func (h *DB) describe(ctx context.Context, conn *pgx.Conn, sql string) (*pgconn.StatementDescription, error) {
	if sd, ok := h.descs.Get(sql); ok {
		return sd, nil
	}
	sd, err := conn.Prepare(ctx, "", sql)
	if err != nil {
		return nil, err
	}
	h.descs.Add(sql, sd)
	return sd, nil
}

// errEmptySQL is a sql without a statement in it.
var errEmptySQL = errors.New("sql is empty: give one SQL statement")

// parameters converts the JSON parameters for the parameter types the server
// described (oids). The first argument is always resultFormats, which pgx
// takes as the result format of each column by type (see render.go); the
// parameters follow.
//
// Every parameter travels in PostgreSQL's text format, which the server
// parses for the parameter's type: numbers keep every digit, booleans are
// true/false, a string is the string, an object is its JSON text. A JSON
// array is the JSON text for a json or jsonb parameter and a PostgreSQL
// array literal for an array parameter, or one of a type the connection does
// not know (an enum or a domain array, say), which the server reads for the
// element type; for any other type it is an invalid payload.
func parameters(m *pgtype.Map, oids []uint32, params []json.RawMessage, prefix string) ([]any, error) {
	if len(params) != len(oids) {
		return nil, handler.InvalidPayload(prefix+"parameters",
			"the sql takes %d parameter(s) ($1..$%d), %d given", len(oids), len(oids), len(params))
	}
	args := make([]any, len(params)+1)
	args[0] = resultFormats
	for i, raw := range params {
		v, err := parameter(m, oids[i], raw)
		if err != nil {
			return nil, handler.InvalidPayload(fmt.Sprintf("%sparameters[%d]", prefix, i), "%v", err)
		}
		args[i+1] = v
	}
	return args, nil
}

// parameter converts one JSON value for a parameter of type oid: nil for
// null, else the text the server parses.
func parameter(m *pgtype.Map, oid uint32, raw json.RawMessage) (any, error) {
	if kindOf(raw) != jsonArray {
		return scalarText(raw)
	}
	if t, ok := m.TypeForOID(oid); ok {
		switch t.Codec.(type) {
		case *pgtype.JSONCodec, *pgtype.JSONBCodec:
			return string(raw), nil
		case *pgtype.ArrayCodec:
			// An array literal, below.
		default:
			return nil, fmt.Errorf("a JSON array cannot be sent as %s", t.Name)
		}
	}
	return arrayLiteral(m, raw)
}

// jsonKind is the kind of one JSON value.
type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonScalar
	jsonString
	jsonObject
	jsonArray
)

// kindOf tells the kind of raw, one valid JSON value as encoding/json hands
// it over (no white space around it): its first byte says it.
func kindOf(raw json.RawMessage) jsonKind {
	if len(raw) == 0 {
		return jsonNull
	}
	switch raw[0] {
	case 'n':
		return jsonNull
	case '"':
		return jsonString
	case '{':
		return jsonObject
	case '[':
		return jsonArray
	}
	return jsonScalar // a number (as written) or true/false
}

// scalarText is the text of a JSON value that is not an array: nil for null,
// the string for a string, the JSON text itself for the others.
func scalarText(raw json.RawMessage) (any, error) {
	switch kindOf(raw) {
	case jsonNull:
		return nil, nil
	case jsonString:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return s, nil
	}
	return string(raw), nil
}

// arrayLiteral renders a JSON array as a PostgreSQL array literal: the
// elements' text (numbers as written, objects as their JSON), NULL for null,
// nested arrays as dimensions, which must all have the same length, as
// PostgreSQL requires. pgx's text encoding of a text array does the quoting.
func arrayLiteral(m *pgtype.Map, raw json.RawMessage) (string, error) {
	arr := pgtype.Array[*string]{Valid: true}
	var flatten func(raw json.RawMessage, d int) error
	flatten = func(raw json.RawMessage, d int) error {
		if kindOf(raw) != jsonArray {
			// An element, only ever at the depth of the innermost dimension.
			if d != len(arr.Dims) {
				return errRagged
			}
			v, err := scalarText(raw)
			if err != nil {
				return err
			}
			var e *string
			if s, ok := v.(string); ok {
				e = &s
			}
			arr.Elements = append(arr.Elements, e)
			return nil
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return err
		}
		switch n := int32(len(elems)); {
		case d < len(arr.Dims):
			if arr.Dims[d].Length != n {
				return errRagged
			}
		case d == len(arr.Dims) && len(arr.Elements) == 0:
			// The first array at a depth, before any element, is a dimension.
			arr.Dims = append(arr.Dims, pgtype.ArrayDimension{Length: n, LowerBound: 1})
		default:
			return errRagged
		}
		for _, e := range elems {
			if err := flatten(e, d+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := flatten(raw, 0); err != nil {
		return "", err
	}
	if len(arr.Elements) == 0 {
		return "{}", nil
	}
	b, err := m.Encode(pgtype.TextArrayOID, pgtype.TextFormatCode, arr, nil)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// errRagged is a nested array no PostgreSQL array can hold.
var errRagged = errors.New("nested arrays must all have the same length")
