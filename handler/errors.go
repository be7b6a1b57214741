package handler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrorKind says how the runtime answers a handler's error.
type ErrorKind uint8

// Error kinds.
const (
	// KindFailed: the handler could not do the work (HANDLER-001).
	KindFailed ErrorKind = iota
	// KindInvalidPayload: the payload was rejected; Field names the culprit
	// (HANDLER-006). Never retryable.
	KindInvalidPayload
)

// Error is the structured error a handler returns. Any other error is answered
// as a non-retryable handler failure; a context deadline as a timeout.
type Error struct {
	Kind      ErrorKind
	Message   string
	Field     string // the payload field at fault, dotted (e.g. statements[2].sql)
	Retryable bool   // a transient failure the caller (or the bus) may retry
	Hint      string // how to fix it; the runtime supplies a default when empty
	Details   map[string]any
	Err       error // the cause; its text is not sent, Message is
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.Err != nil && e.Message == "" {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// InvalidPayload reports a payload field the handler rejects.
func InvalidPayload(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalidPayload, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Failed reports a permanent failure: retrying the same envelope will not help.
func Failed(err error, format string, args ...any) *Error {
	return &Error{Kind: KindFailed, Message: fmt.Sprintf(format, args...), Err: err}
}

// Transient reports a failure that may succeed when retried.
func Transient(err error, format string, args ...any) *Error {
	return &Error{Kind: KindFailed, Message: fmt.Sprintf(format, args...), Err: err, Retryable: true}
}

// DecodeStrict decodes one JSON value into v, rejecting unknown fields, trailing
// data and type mismatches with an *Error of kind KindInvalidPayload that names the
// field. An empty document decodes as {}.
func DecodeStrict(data []byte, v any) error {
	// Only JSON's own white space: bytes.TrimSpace would also accept \v, \f
	// and Unicode spaces around the value, which no JSON parser does.
	data = bytes.Trim(data, " \t\r\n")
	if len(data) == 0 {
		data = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &Error{Kind: KindInvalidPayload, Message: "unexpected data after the JSON value"}
	}
	return nil
}

func decodeError(err error) *Error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return &Error{Kind: KindInvalidPayload, Field: te.Field, Message: fmt.Sprintf("expected %s, got JSON %s", te.Type, te.Value), Err: err}
	case errors.As(err, &se):
		return &Error{Kind: KindInvalidPayload, Message: fmt.Sprintf("invalid JSON at offset %d", se.Offset), Err: err}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &Error{Kind: KindInvalidPayload, Field: field, Message: "unknown field", Err: err}
	}
	var he *Error
	if errors.As(err, &he) {
		return he
	}
	return &Error{Kind: KindInvalidPayload, Message: err.Error(), Err: err}
}
