package dispatch

import (
	"context"

	"github.com/onexhost/onex/handler"
)

type Service struct {
	h handler.Handler
	b *Batcher
}

func variable(ctx context.Context, inv *handler.Invocation) {
	var h handler.Handler = Greeter{}
	h.Handle(ctx, inv) // want `\[ARCH-001\] direct call of Handle on handler handler.Handler`
	b := &Batcher{}
	b.Handle(ctx, inv) // want `\[ARCH-001\] direct call of Handle on handler \*Batcher`
}

func field(ctx context.Context, s *Service, inv *handler.Invocation) {
	s.h.Handle(ctx, inv) // want `\[ARCH-001\] direct call of Handle on handler handler.Handler`
	s.b.Handle(ctx, inv) // want `\[ARCH-001\] direct call of Handle on handler \*Batcher`
}

func inline(ctx context.Context, inv *handler.Invocation) {
	Greeter{}.Handle(ctx, inv)    // want `\[ARCH-001\] direct call of Handle on handler Greeter`
	(&Batcher{}).Handle(ctx, inv) // want `\[ARCH-001\] direct call of Handle on handler \*Batcher`
}

func methodValue() func(context.Context, *handler.Invocation) (handler.Output, error) {
	return Greeter{}.Handle // want `\[ARCH-001\] Handle of handler Greeter taken as a function value`
}

func methodExpr() func(Greeter, context.Context, *handler.Invocation) (handler.Output, error) {
	return Greeter.Handle // want `\[ARCH-001\] Handle of handler Greeter taken as a function value`
}

func generic[H handler.Handler](ctx context.Context, h H, inv *handler.Invocation) {
	h.Handle(ctx, inv) // want `\[ARCH-001\] direct call of Handle on handler H`
}

func notAHandler() error {
	return Other{}.Handle("x")
}
