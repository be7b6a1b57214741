// Package dispatch exercises ARCH-001.
package dispatch

import (
	"context"

	"github.com/onexhost/onex/handler"
)

type Greeter struct{}

func (Greeter) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	return handler.Output{Result: "hello"}, nil
}

type Batcher struct{}

func (b *Batcher) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	return handler.Output{}, nil
}

// HandleAll is a handler calling its own Handle: fine.
func (b *Batcher) HandleAll(ctx context.Context, invs []*handler.Invocation) error {
	for _, inv := range invs {
		if _, err := b.Handle(ctx, inv); err != nil {
			return err
		}
	}
	return nil
}

// Wrapper delegates to another handler: that is dispatch, not its own method.
type Wrapper struct{ inner handler.Handler }

func (w Wrapper) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	return w.inner.Handle(ctx, inv) // want `\[ARCH-001\] direct call of Handle on handler handler.Handler bypasses the runtime\. Remediation: send an envelope`
}

// Other has a Handle method that is not handler.Handler's.
type Other struct{}

func (Other) Handle(s string) error { return nil }
