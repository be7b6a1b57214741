// Package greet is an example third-party handler: a pure compute handler
// written against the onex SDK and registered under its import path.
package greet

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/onexhost/onex/handler"
)

// ImportPath is the key contracts name in implementation.import_path.
const ImportPath = "github.com/onexhost/onex/examples/customhost/greet"

func init() {
	handler.Register(handler.Factory{
		ImportPath: ImportPath,
		Verbs:      []string{"hello"},
		Summary:    "greets by name",
		New:        New,
	})
}

// Config is the handler's contract config.
type Config struct {
	Greeting string `json:"greeting"`
}

// Greeter answers {name} with {message}.
type Greeter struct{ greeting string }

var _ handler.Handler = (*Greeter)(nil)

// New validates the config; it runs at registration and does no I/O.
func New(raw json.RawMessage) (handler.Handler, error) {
	cfg := Config{Greeting: "Hello"}
	if err := handler.DecodeStrict(raw, &cfg); err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.Greeting) == "" {
		return nil, errors.New("greeting: must not be empty")
	}
	return &Greeter{greeting: cfg.Greeting}, nil
}

// Handle returns the greeting; the runtime publishes it.
func (g *Greeter) Handle(_ context.Context, inv *handler.Invocation) (handler.Output, error) {
	var p struct {
		Name string `json:"name"`
	}
	if err := inv.Decode(&p); err != nil {
		return handler.Output{}, err
	}
	if p.Name == "" {
		return handler.Output{}, handler.InvalidPayload("name", "is required")
	}
	return handler.Output{Result: map[string]string{"message": g.greeting + ", " + p.Name + "!"}}, nil
}
