package httpout

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
)

// Payload is the payload of every verb, read with the SDK's strict decoder
// (Invocation.Decode): an unknown field or a wrong type is an invalid payload
// naming the field.
//
//	{"url": "https://host/x" | "path": "items/1",
//	 "headers": {"Name": "value", …},
//	 "query": {"name": "v" | 1 | true | ["v", 2, …], …},
//	 "body": <any JSON> | "body_base64": "AAEC…"}
type Payload struct {
	// URL is absolute, or relative to the config's base_url.
	URL string `json:"url,omitempty"`
	// Path is relative to base_url (an alternative spelling of a relative URL).
	Path string `json:"path,omitempty"`
	// Headers are sent with the request; the config's headers cannot be
	// overridden.
	Headers map[string]string `json:"headers,omitempty"`
	// Query values are strings, numbers or booleans, or lists of them for a
	// repeated parameter; numbers go out as written.
	Query map[string]any `json:"query,omitempty"`
	// Body is a JSON value: a string is sent as text, anything else as JSON.
	Body json.RawMessage `json:"body,omitempty"`
	// BodyBase64 is a binary body, standard base64.
	BodyBase64 string `json:"body_base64,omitempty"`
}

// appendQuery appends name=value to a query, b[start:], for a scalar; one
// pair per element for an array of scalars.
func appendQuery(b []byte, start int, name string, v any) ([]byte, error) {
	list, ok := v.([]any)
	if !ok {
		return appendQueryValue(b, start, name, v)
	}
	var err error
	for i, e := range list {
		if b, err = appendQueryValue(b, start, name, e); err != nil {
			return b, fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return b, nil
}

func appendQueryValue(b []byte, start int, name string, v any) ([]byte, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String() // as written
	case bool:
		s = strconv.FormatBool(x)
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

// sortedKeys appends m's keys to buf and returns them in order, for a
// deterministic request and deterministic errors. A caller passes a small
// array of its own, so the usual few keys are sorted without allocating.
func sortedKeys[V any](m map[string]V, buf []string) []string {
	for k := range m {
		buf = append(buf, k)
	}
	slices.Sort(buf)
	return buf
}
