// Package publishok is a handler package that does not publish: returning events
// and non-handler types holding a publisher are fine.
package publishok

import (
	"context"

	"github.com/onexhost/onex/handler"
)

type Greeted struct{ Name string }

// Greeter returns its event: the runtime publishes it.
type Greeter struct{}

func (Greeter) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	return handler.Output{Result: Greeted{Name: "world"}}, nil
}

// sink is published to by a non-handler type.
type sink interface {
	Publish(ctx context.Context, v any) error
}

// Forwarder is not a handler: it may hold and call a publisher.
type Forwarder struct{ out sink }

func NewForwarder(out sink) *Forwarder { return &Forwarder{out: out} }

func (f *Forwarder) Forward(ctx context.Context, v any) error { return f.out.Publish(ctx, v) }
