package httpout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/onexhost/onex/envelope/rawjson"
	"github.com/onexhost/onex/handler"
)

// payload is the payload of every verb:
//
//	{"url": "https://host/x" | "path": "items/1",
//	 "headers": {"Name": "value", …},
//	 "query": {"name": "v" | 1 | true | ["v", 2, …], …},
//	 "body": <any JSON> | "body_base64": "AAEC…"}
//
// It is read by walking the validated JSON (rawjson) rather than through
// encoding/json's reflection and maps: the same strictness as
// handler.DecodeStrict (unknown fields and wrong types are invalid payloads
// naming the field, keys match case-insensitively as encoding/json matches
// them, null reads as absent, the last of duplicate keys wins) for a fraction
// of its cost on every call.
type payload struct {
	// url is absolute, or relative to the config's base_url.
	url string
	// path is relative to base_url (an alternative spelling of a relative URL).
	path    string
	headers []pair[string]
	// query values are strings, numbers or booleans, or lists of them for a
	// repeated parameter.
	query []pair[rawjson.Value]
	// body is a JSON value: a string is sent as text, anything else as JSON.
	body rawjson.Value
	// bodyBase64 is a binary body, standard base64.
	bodyBase64 string
}

// pair is one member of a payload object; lists of pairs are kept sorted by
// name, each name once, so requests are built in a deterministic order.
type pair[V any] struct {
	name  string
	value V
}

// set adds or replaces name in a sorted list.
func set[V any](list []pair[V], name string, v V) []pair[V] {
	i, found := slices.BinarySearchFunc(list, name, func(p pair[V], name string) int { return strings.Compare(p.name, name) })
	if found {
		list[i].value = v
		return list
	}
	return slices.Insert(list, i, pair[V]{name, v})
}

var payloadFields = []string{"url", "path", "headers", "query", "body", "body_base64"}

// decodePayload reads a payload strictly into p (zero); an empty one reads
// as {}.
func decodePayload(data []byte, p *payload) error {
	v, ok := rawjson.Parse(data)
	switch {
	case ok:
		return readPayload(v, p)
	case len(bytes.TrimSpace(data)) == 0:
		return nil
	}
	// Not one JSON value. As with handler.DecodeStrict, a fault in a first
	// value followed by more data comes first; else DecodeStrict locates the
	// syntax error or the trailing data.
	var first json.RawMessage
	if json.NewDecoder(bytes.NewReader(data)).Decode(&first) == nil {
		if v, ok := rawjson.Parse(first); ok {
			if err := readPayload(v, &payload{}); err != nil {
				return err
			}
		}
	}
	if err := handler.DecodeStrict(data, &first); err != nil {
		return err
	}
	return handler.InvalidPayload("", "the payload is not valid JSON")
}

// readPayload reads a validated payload into p.
func readPayload(v rawjson.Value, p *payload) error {
	if k := v.Kind(); k != rawjson.Object && k != rawjson.Null {
		return wrongType("", "object", v)
	}
	for k, val := range v.Members() {
		field := rawjson.Lookup(k, payloadFields)
		if field < 0 {
			return handler.InvalidPayload(k.Unquote(), "unknown field")
		}
		if val.Kind() == rawjson.Null {
			switch field {
			case 2:
				p.headers = nil
			case 3:
				p.query = nil
			case 4:
				p.body = val // sent as no body
			}
			continue
		}
		switch field {
		case 0, 1, 5:
			if val.Kind() != rawjson.String {
				return wrongType(payloadFields[field], "string", val)
			}
			switch field {
			case 0:
				p.url = val.Unquote()
			case 1:
				p.path = val.Unquote()
			default:
				p.bodyBase64 = val.Unquote()
			}
		case 2:
			if val.Kind() != rawjson.Object {
				return wrongType("headers", "object", val)
			}
			for name, hv := range val.Members() {
				n := name.Unquote()
				switch hv.Kind() {
				case rawjson.String:
					p.headers = set(p.headers, n, hv.Unquote())
				case rawjson.Null:
					p.headers = set(p.headers, n, "")
				default:
					return wrongType("headers."+n, "string", hv)
				}
			}
		case 3:
			if val.Kind() != rawjson.Object {
				return wrongType("query", "object", val)
			}
			for name, qv := range val.Members() {
				p.query = set(p.query, name.Unquote(), qv)
			}
		case 4:
			p.body = val
		}
	}
	return nil
}

func wrongType(field, want string, got rawjson.Value) error {
	return handler.InvalidPayload(field, "expected %s, got JSON %s", want, got.Kind())
}

// appendQuery appends name=value to a query for a scalar, one pair per
// element for an array of scalars.
func appendQuery(q *strings.Builder, name string, v rawjson.Value) error {
	if v.Kind() != rawjson.Array {
		return appendQueryValue(q, name, v)
	}
	for i, e := range v.Elements() {
		if err := appendQueryValue(q, name, e); err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return nil
}

func appendQueryValue(q *strings.Builder, name string, v rawjson.Value) error {
	var s string
	switch v.Kind() {
	case rawjson.String:
		s = v.Unquote()
	case rawjson.Number, rawjson.Bool:
		s = string(v)
	default:
		return errors.New("a query value is a string, number or boolean")
	}
	if q.Len() > 0 {
		q.WriteByte('&')
	}
	q.WriteString(url.QueryEscape(name))
	q.WriteByte('=')
	q.WriteString(url.QueryEscape(s))
	return nil
}
