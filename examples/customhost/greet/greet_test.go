package greet

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/onexhost/onex/handler"
)

func TestGreet(t *testing.T) {
	h, err := New(json.RawMessage(`{"greeting":"Hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	inv := handler.NewInvocation(handler.InvocationParams{Operation: "greet.hello", Payload: json.RawMessage(`{"name":"Ada"}`)})
	out, err := h.Handle(context.Background(), inv)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Result.(map[string]string)["message"]; got != "Hi, Ada!" {
		t.Errorf("message = %q", got)
	}
	inv = handler.NewInvocation(handler.InvocationParams{Operation: "greet.hello", Payload: json.RawMessage(`{"nam":"Ada"}`)})
	var he *handler.Error
	if _, err := h.Handle(context.Background(), inv); !errors.As(err, &he) || he.Kind != handler.KindInvalidPayload || he.Field != "nam" {
		t.Errorf("unknown field: %v", err)
	}
	if _, err := New(json.RawMessage(`{"greeting":" "}`)); err == nil {
		t.Error("empty greeting accepted")
	}
	if f, ok := handler.Lookup(ImportPath); !ok || !f.Implements("hello") {
		t.Error("factory not registered")
	}
}
