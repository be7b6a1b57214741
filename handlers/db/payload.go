package db

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/onexhost/onex/envelope/rawjson"
	"github.com/onexhost/onex/handler"
)

// The payloads have fixed shapes, so they are read by walking the validated
// JSON (rawjson) rather than through encoding/json's reflection: the same
// strictness as handler.DecodeStrict (unknown fields and wrong types are
// invalid payloads naming the field, keys match case-insensitively as
// encoding/json matches them, null reads as absent, the last of duplicate
// keys wins) for a fraction of its cost on every call.

var (
	statementFields   = []string{"sql", "parameters"}
	transactionFields = []string{"statements", "isolation", "read_only"}
)

// decodeStatement reads the payload of query and execute.
func decodeStatement(payload []byte) (Statement, error) {
	read := func(v rawjson.Value) error {
		var p Statement
		return readStatement(v, "", &p)
	}
	v, err := parsePayload(payload, read)
	if err != nil {
		return Statement{}, err
	}
	var p Statement
	err = readStatement(v, "", &p)
	return p, err
}

// decodeTransaction reads the payload of transaction.
func decodeTransaction(payload []byte) (TransactionPayload, error) {
	v, err := parsePayload(payload, func(v rawjson.Value) error {
		_, err := readTransaction(v)
		return err
	})
	if err != nil {
		return TransactionPayload{}, err
	}
	return readTransaction(v)
}

func readTransaction(v rawjson.Value) (TransactionPayload, error) {
	var p TransactionPayload
	if v.Kind() != rawjson.Object && v.Kind() != rawjson.Null {
		return p, wrongType("", "object", v)
	}
	for k, val := range v.Members() {
		field := rawjson.Lookup(k, transactionFields)
		if field < 0 {
			return p, unknownField(k)
		}
		if val.Kind() == rawjson.Null {
			if field == 0 {
				p.Statements = nil
			}
			continue
		}
		switch field {
		case 0:
			if val.Kind() != rawjson.Array {
				return p, wrongType("statements", "array", val)
			}
			// Like encoding/json, a repeated key decodes into the statements
			// already read.
			prev := p.Statements
			p.Statements = prev[:0]
			if p.Statements == nil {
				p.Statements = []Statement{} // empty, not absent
			}
			for i, e := range val.Elements() {
				var st Statement
				if i < len(prev) {
					st = prev[i]
				}
				if err := readStatement(e, "statements["+strconv.Itoa(i)+"].", &st); err != nil {
					return p, err
				}
				p.Statements = append(p.Statements, st)
			}
		case 1:
			if val.Kind() != rawjson.String {
				return p, wrongType("isolation", "string", val)
			}
			p.Isolation = val.Unquote()
		case 2:
			if val.Kind() != rawjson.Bool {
				return p, wrongType("read_only", "bool", val)
			}
			p.ReadOnly = val.Bool()
		}
	}
	return p, nil
}

// readStatement reads one {sql, parameters} object; prefix is its payload
// path ("" or "statements[2].").
func readStatement(v rawjson.Value, prefix string, p *Statement) error {
	if v.Kind() != rawjson.Object && v.Kind() != rawjson.Null {
		return wrongType(trimDot(prefix), "object", v)
	}
	for k, val := range v.Members() {
		field := rawjson.Lookup(k, statementFields)
		if field < 0 {
			return unknownField(k)
		}
		if val.Kind() == rawjson.Null {
			if field == 1 {
				p.Parameters = nil
			}
			continue
		}
		switch field {
		case 0:
			if val.Kind() != rawjson.String {
				return wrongType(prefix+"sql", "string", val)
			}
			p.SQL = val.Unquote()
		case 1:
			if val.Kind() != rawjson.Array {
				return wrongType(prefix+"parameters", "array", val)
			}
			p.Parameters = p.Parameters[:0]
			if p.Parameters == nil {
				p.Parameters = []json.RawMessage{} // empty, not absent
			}
			for _, e := range val.Elements() {
				p.Parameters = append(p.Parameters, json.RawMessage(e))
			}
		}
	}
	return nil
}

// parsePayload validates a payload; an empty one reads as {}. For one that
// is not a JSON value, read (the payload's reader) sees a first value
// followed by more data first, so its faults come first as with
// handler.DecodeStrict; else DecodeStrict locates the syntax error or the
// trailing data.
func parsePayload(payload []byte, read func(rawjson.Value) error) (rawjson.Value, error) {
	if v, ok := rawjson.Parse(payload); ok {
		return v, nil
	}
	if rawjson.Blank(payload) {
		return rawjson.Value("{}"), nil
	}
	var first json.RawMessage
	if json.NewDecoder(bytes.NewReader(payload)).Decode(&first) == nil {
		if v, ok := rawjson.Parse(first); ok {
			if err := read(v); err != nil {
				return nil, err
			}
		}
	}
	if err := handler.DecodeStrict(payload, &first); err != nil {
		return nil, err
	}
	return nil, handler.InvalidPayload("", "the payload is not valid JSON")
}

func wrongType(field, want string, got rawjson.Value) error {
	return handler.InvalidPayload(field, "expected %s, got JSON %s", want, got.Kind())
}

func unknownField(key rawjson.Value) error {
	return handler.InvalidPayload(key.Unquote(), "unknown field")
}

func trimDot(prefix string) string {
	if n := len(prefix); n > 0 && prefix[n-1] == '.' {
		return prefix[:n-1]
	}
	return prefix
}
