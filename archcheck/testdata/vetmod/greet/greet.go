// Package greet is a handler package that breaks ARCH-002 and ARCH-004.
package greet

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/handler"
)

// Greeter publishes on its own and calls the network without its capabilities.
type Greeter struct {
	pub bus.Publisher
}

func init() {
	handler.Register(handler.Factory{
		ImportPath: "example.com/vetsample/greet",
		Verbs:      []string{"hello"},
		New:        func(json.RawMessage) (handler.Handler, error) { return &Greeter{}, nil },
	})
}

func (g *Greeter) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	resp, err := http.Get("https://example.com/")
	if err != nil {
		return handler.Output{}, err
	}
	resp.Body.Close()
	return handler.Output{Result: resp.StatusCode}, nil
}
