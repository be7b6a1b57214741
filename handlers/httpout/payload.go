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
// of its cost on every call. The usual payload, with plain strings and no
// body, is read in a single pass instead (readCommon).
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
	if readCommon(data, p) {
		return nil
	}
	*p = payload{} // what readCommon wrote before it gave up

	v, ok := rawjson.Parse(data)
	switch {
	case ok:
		return readPayload(v, p)
	case rawjson.Blank(data):
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

// appendQuery appends name=value to a query, b[start:], for a scalar; one
// pair per element for an array of scalars.
func appendQuery(b []byte, start int, name string, v rawjson.Value) ([]byte, error) {
	if v.Kind() != rawjson.Array {
		return appendQueryValue(b, start, name, v)
	}
	var err error
	for i, e := range v.Elements() {
		if b, err = appendQueryValue(b, start, name, e); err != nil {
			return b, fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return b, nil
}

func appendQueryValue(b []byte, start int, name string, v rawjson.Value) ([]byte, error) {
	var s string
	switch v.Kind() {
	case rawjson.String:
		s = v.Unquote()
	case rawjson.Number, rawjson.Bool:
		s = string(v)
	default:
		return b, errors.New("a query value is a string, number or boolean")
	}
	if len(b) > start {
		b = append(b, '&')
	}
	b = append(b, url.QueryEscape(name)...)
	b = append(b, '=')
	return append(b, url.QueryEscape(s)...), nil
}

// readCommon reads the common payload in one pass that validates what it
// reads, without validating the whole document first and walking it again:
// an object whose keys are field names as spelled, whose url, path and
// body_base64 are plain strings, and whose headers and query are objects with
// plain string keys and plain string values (for query also numbers, true and
// false); a plain string is printable ASCII without escapes, so its bytes are
// its text. It reports false for anything else (a body, an escape, null, an
// array, a key spelled otherwise, bad syntax), leaving p partly written, and
// the payload is read the general way, which also words the errors.
func readCommon(data []byte, p *payload) bool {
	s := scanner{b: data}
	if !s.skip('{') {
		return false
	}
	if s.skip('}') {
		return s.end()
	}
	for {
		key, ok := s.plain()
		if !ok || !s.skip(':') {
			return false
		}
		switch string(key) {
		case "url", "path", "body_base64":
			v, ok := s.plain()
			if !ok {
				return false
			}
			switch string(key) {
			case "url":
				p.url = string(v)
			case "path":
				p.path = string(v)
			default:
				p.bodyBase64 = string(v)
			}
		case "headers", "query":
			if !s.skip('{') {
				return false
			}
			for more := !s.skip('}'); more; {
				name, ok := s.plain()
				if !ok || !s.skip(':') {
					return false
				}
				if string(key) == "headers" {
					v, ok := s.plain()
					if !ok {
						return false
					}
					p.headers = set(p.headers, string(name), string(v))
				} else {
					v, ok := s.scalar()
					if !ok {
						return false
					}
					p.query = set(p.query, string(name), v)
				}
				if more = s.skip(','); !more && !s.skip('}') {
					return false
				}
			}
		default:
			return false
		}
		if s.skip(',') {
			continue
		}
		return s.skip('}') && s.end()
	}
}

// scanner reads JSON text forward from b[i].
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// skip consumes c, after whitespace, if it is next.
func (s *scanner) skip(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// end reports whether only whitespace is left.
func (s *scanner) end() bool {
	s.space()
	return s.i == len(s.b)
}

// plain reads a plain string and returns its text.
func (s *scanner) plain() ([]byte, bool) {
	if !s.skip('"') {
		return nil, false
	}
	for start := s.i; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c < ' ' || c > '~' || c == '\\':
			return nil, false
		}
	}
	return nil, false
}

// scalar reads a plain string, a number, true or false, and returns it as
// JSON text.
func (s *scanner) scalar() (rawjson.Value, bool) {
	s.space()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '"' {
		_, ok := s.plain()
		return rawjson.Value(s.b[start:s.i:s.i]), ok
	}
	end, ok := rawjson.ValueEnd(s.b, s.i)
	if !ok {
		return nil, false
	}
	s.i = end
	v := rawjson.Value(s.b[start:end:end])
	k := v.Kind()
	return v, k == rawjson.Number || k == rawjson.Bool
}
