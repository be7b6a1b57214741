package envelope

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/onexhost/onex/internal/rawjson"
	"github.com/onexhost/onex/internal/suggest"
)

// View is a parsed request envelope whose fields are slices of the input: Parse
// fills it without copying, so it is valid only as long as the input is not
// modified. A nil field was absent (or JSON null); strings are unescaped.
type View struct {
	EnvelopeID         []byte
	CorrelationID      []byte
	Operation          []byte
	Handler            []byte
	DataClassification []byte
	// Payload and Metadata are raw JSON values, validated.
	Payload  []byte
	Metadata []byte
}

// SyntaxError is a request envelope that is not well formed: not JSON, not an
// object, a field of the wrong type, an unknown or repeated field.
type SyntaxError struct {
	// Field is the top-level field at fault, or "" for the document.
	Field string
	// Offset is the byte offset of the fault in the input, or -1.
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	var b strings.Builder
	b.WriteString("envelope")
	if e.Field != "" {
		b.WriteString(" field ")
		b.WriteString(e.Field)
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, " (offset %d)", e.Offset)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

func syntaxErr(field string, off int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Field: field, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// fieldID indexes the request fields; the bit 1<<id marks a field as seen.
type fieldID uint8

const (
	fEnvelopeID fieldID = iota
	fCorrelationID
	fOperation
	fHandler
	fPayload
	fDataClassification
	fMetadata
	fUnknown
)

// knownKey matches the field name written plainly at raw[i] == '"' (the way
// every client writes it) without scanning the string: the field and the
// offset after the closing quote, or next 0 for anything else (escapes,
// unknown names), which readString and lookupField then handle.
func knownKey(raw []byte, i int) (id fieldID, next int) {
	if i+2 >= len(raw) {
		return fUnknown, 0
	}
	switch raw[i+1] {
	case 'e':
		id = fEnvelopeID
	case 'c':
		id = fCorrelationID
	case 'o':
		id = fOperation
	case 'h':
		id = fHandler
	case 'p':
		id = fPayload
	case 'd':
		id = fDataClassification
	case 'm':
		id = fMetadata
	default:
		return fUnknown, 0
	}
	name := RequestFields[id]
	end := i + 1 + len(name)
	if end >= len(raw) || raw[end] != '"' || string(raw[i+1:end]) != name {
		return fUnknown, 0
	}
	return id, end + 1
}

func lookupField(key []byte) fieldID {
	switch string(key) { // no allocation: the compiler compares in place
	case FieldEnvelopeID:
		return fEnvelopeID
	case FieldCorrelationID:
		return fCorrelationID
	case FieldOperation:
		return fOperation
	case FieldHandler:
		return fHandler
	case FieldPayload:
		return fPayload
	case FieldDataClassification:
		return fDataClassification
	case FieldMetadata:
		return fMetadata
	}
	return fUnknown
}

// Parse parses a request envelope into v. It requires one JSON object whose
// fields are those of the envelope format, each at most once: the five string
// fields as strings, payload any JSON value, metadata an object. JSON null counts
// as absent. Any other input is a *SyntaxError; fields read before the fault stay
// in v (the runtime answers with the ids it could read).
func Parse(raw []byte, v *View) error {
	*v = View{}
	i := rawjson.SkipWS(raw, 0)
	if i >= len(raw) {
		return syntaxErr("", -1, "empty input: an envelope is one JSON object")
	}
	if raw[i] != '{' {
		return syntaxErr("", i, "an envelope is a JSON object, found %s", describe(raw, i))
	}
	i = rawjson.SkipWS(raw, i+1)
	var seen uint8
	if i < len(raw) && raw[i] == '}' {
		return trailing(raw, i+1)
	}
	for {
		if i >= len(raw) {
			return syntaxErr("", -1, "unexpected end of input inside the envelope object")
		}
		if raw[i] != '"' {
			return syntaxErr("", i, "expected a field name, found %s", describe(raw, i))
		}
		id, next := knownKey(raw, i)
		if next == 0 {
			key, end, err := readString(raw, i, "")
			if err != nil {
				return err
			}
			id, next = lookupField(key), end
		}
		if id == fUnknown {
			key, _, _ := readString(raw, i, "")
			name := string(key)
			return syntaxErr(name, i, "unknown field %q%s", name, suggest.Hint(name, RequestFields))
		}
		name := RequestFields[id]
		if seen&(1<<id) != 0 {
			return syntaxErr(name, i, "field %q appears more than once", name)
		}
		seen |= 1 << id
		i = rawjson.SkipWS(raw, next)
		if i >= len(raw) || raw[i] != ':' {
			return syntaxErr(name, min(i, len(raw)), "expected ':' after the field name")
		}
		i = rawjson.SkipWS(raw, i+1)
		if i >= len(raw) {
			return syntaxErr(name, -1, "unexpected end of input: field has no value")
		}
		var err error
		if i, err = parseField(raw, i, id, name, v); err != nil {
			return err
		}
		i = rawjson.SkipWS(raw, i)
		if i >= len(raw) {
			return syntaxErr("", -1, "unexpected end of input inside the envelope object")
		}
		switch raw[i] {
		case ',':
			i = rawjson.SkipWS(raw, i+1)
		case '}':
			return trailing(raw, i+1)
		default:
			return syntaxErr("", i, "expected ',' or '}' after field %q, found %s", name, describe(raw, i))
		}
	}
}

// parseField reads the value of one field at raw[i:] and returns the offset
// after it.
func parseField(raw []byte, i int, id fieldID, name string, v *View) (int, error) {
	if isNull(raw, i) {
		return i + 4, nil
	}
	switch id {
	case fPayload, fMetadata:
		// An object, array or string ends where its own syntax says: one
		// pass validates and delimits it. Anything else (and any invalid
		// value, for its error) is delimited first, then validated.
		end, ok := 0, false
		if c := raw[i]; c == '{' || c == '[' || c == '"' {
			end, ok = rawjson.ValueEnd(raw, i)
		}
		if !ok {
			var err error
			if end, err = valueEnd(raw, i, name); err != nil {
				return 0, err
			}
			if !rawjson.Valid(raw[i:end]) {
				return 0, syntaxErr(name, i, "%s is not valid JSON", name)
			}
		}
		val := raw[i:end:end]
		if id == fMetadata {
			if val[0] != '{' {
				return 0, syntaxErr(name, i, "metadata must be an object, found %s", describe(raw, i))
			}
			v.Metadata = val
		} else {
			v.Payload = val
		}
		return end, nil
	}
	if raw[i] != '"' {
		return 0, syntaxErr(name, i, "%s must be a string, found %s", name, describe(raw, i))
	}
	s, end, err := readString(raw, i, name)
	if err != nil {
		return 0, err
	}
	switch id {
	case fEnvelopeID:
		v.EnvelopeID = s
	case fCorrelationID:
		v.CorrelationID = s
	case fOperation:
		v.Operation = s
	case fHandler:
		v.Handler = s
	case fDataClassification:
		v.DataClassification = s
	}
	return end, nil
}

// readString reads the JSON string starting at raw[i] == '"' and returns its
// content and the offset after the closing quote. Without escapes the content
// is a slice of raw; with escapes encoding/json unescapes a copy.
func readString(raw []byte, i int, field string) ([]byte, int, error) {
	end, escaped, err := stringEnd(raw, i, field)
	if err != nil {
		return nil, 0, err
	}
	if !escaped {
		return raw[i+1 : end-1 : end-1], end, nil
	}
	var s string
	if err := json.Unmarshal(raw[i:end], &s); err != nil {
		return nil, 0, syntaxErr(field, i, "invalid string escape")
	}
	return []byte(s), end, nil
}

// stringEnd returns the offset after the JSON string starting at raw[i] == '"'
// and whether it contains escapes.
func stringEnd(raw []byte, i int, field string) (end int, escaped bool, err error) {
	j := i + 1
	for {
		if j = rawjson.NextSpecial(raw, j); j >= len(raw) {
			return 0, false, syntaxErr(field, -1, "unterminated string")
		}
		switch raw[j] {
		case '"':
			return j + 1, escaped, nil
		case '\\':
			escaped = true
			j += 2 // the escaped byte cannot end the string
		default:
			return 0, false, syntaxErr(field, j, "control character in a string")
		}
	}
}

// valueEnd returns the offset just after the JSON value starting at raw[i]. It
// only delimits the value (strings and bracket depth); the caller validates the
// delimited bytes (rawjson.Valid).
func valueEnd(raw []byte, i int, field string) (int, error) {
	switch raw[i] {
	case '"':
		end, _, err := stringEnd(raw, i, field)
		return end, err
	case '{', '[':
		depth := 0
		for j := i; j < len(raw); j++ {
			switch raw[j] {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			case '"':
				end, _, err := stringEnd(raw, j, field)
				if err != nil {
					return 0, err
				}
				j = end - 1
			}
		}
		return 0, syntaxErr(field, -1, "unexpected end of input inside %s", field)
	}
	j := i
	for j < len(raw) {
		switch raw[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j, nil
		}
		j++
	}
	return j, nil
}

func isNull(raw []byte, i int) bool {
	return raw[i] == 'n' && len(raw)-i >= 4 && string(raw[i:i+4]) == "null"
}

func trailing(raw []byte, i int) error {
	if j := rawjson.SkipWS(raw, i); j < len(raw) {
		return syntaxErr("", j, "unexpected data after the envelope object")
	}
	return nil
}

// describe names the JSON token at raw[i] for error messages.
func describe(raw []byte, i int) string {
	if i >= len(raw) {
		return "end of input"
	}
	// A scalar is named only when it really is one: "not json" starts with
	// an n, but it is not null.
	end := i
	for end < len(raw) && !isDelimiter(raw[end]) {
		end++
	}
	token := raw[i:end]
	switch c := raw[i]; {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case string(token) == "true" || string(token) == "false":
		return "a boolean"
	case string(token) == "null":
		return "null"
	case (c == '-' || (c >= '0' && c <= '9')) && rawjson.Valid(token):
		return "a number"
	}
	if len(token) > 16 {
		token = token[:16]
	}
	if len(token) == 0 {
		return fmt.Sprintf("%q, which is not JSON", rune(raw[i]))
	}
	return fmt.Sprintf("%q, which is not JSON", token)
}

// isDelimiter reports whether c ends a JSON scalar token.
func isDelimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ':', '{', '}', '[', ']', '"':
		return true
	}
	return false
}
