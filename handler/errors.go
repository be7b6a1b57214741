package handler

import (
	"fmt"
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
