// Package runtime stands in for the onex runtime: the one place that invokes
// handlers, publishes and does the host's own I/O. Nothing here is reported.
package runtime

import (
	"context"
	"net"
	"net/http"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/handler"
)

// guarded wraps a handler; it is a handler type holding a publisher, which the
// runtime may.
type guarded struct {
	inner handler.Handler
	pub   bus.Publisher
}

func (g *guarded) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	out, err := g.inner.Handle(ctx, inv)
	if err == nil {
		err = g.pub.Publish(ctx, bus.Message{Topic: "responses"})
	}
	return out, err
}

func Dispatch(ctx context.Context, h handler.Handler, inv *handler.Invocation) (handler.Output, error) {
	return h.Handle(ctx, inv)
}

func Admin() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	return http.Serve(ln, nil)
}
