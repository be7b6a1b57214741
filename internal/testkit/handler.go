package testkit

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/onexhost/onex/handler"
)

// Invocation is the invocation of op on the handler named name, with payload
// encoded as JSON: what a handler test passes to Handle.
func Invocation(tb testing.TB, name string, op handler.Command, payload any) *handler.Invocation {
	tb.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		tb.Fatalf("payload %v: %v", payload, err)
	}
	return handler.NewInvocation(handler.InvocationParams{HandlerName: name, Operation: op, Payload: raw})
}

// ResultJSON is the JSON encoding of the result of a call that must have
// succeeded; what names the call.
func ResultJSON(tb testing.TB, what string, res any, err error) string {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		tb.Fatalf("%s: result %v: %v", what, res, err)
	}
	return string(b)
}

// HandlerError returns err as the *handler.Error it must be.
func HandlerError(tb testing.TB, err error) *handler.Error {
	tb.Helper()
	var he *handler.Error
	if !errors.As(err, &he) {
		tb.Fatalf("error %v (%T) is not a *handler.Error", err, err)
	}
	return he
}
