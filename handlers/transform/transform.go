// Package transform is the jq-style JSON transform: a compute handler that runs
// a jq filter (github.com/itchyny/gojq) over the payload.
//
// Contract config:
//
//	config:
//	  filter: '{name: .user.name, tags: [.tags[] | ascii_downcase]}'
//	  all: false   # true: the result is the array of every value the filter yields
//
// Verb: transform. The result is the filter's first value (an error when it
// yields none), or with all: true the array of every value. Filters see no
// environment variables, load no modules and read no further input: the
// handler is pure.
package transform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/itchyny/gojq"

	"github.com/onexhost/onex/handler"
)

// ImportPath is the factory's registry key.
const ImportPath = "github.com/onexhost/onex/handlers/transform"

// Config is the handler's configuration.
type Config struct {
	// Filter is the jq program.
	Filter string `json:"filter"`
	// All collects every value the filter yields into an array.
	All bool `json:"all,omitempty"`
}

func init() {
	handler.Register(handler.Factory{
		ImportPath: ImportPath,
		Verbs:      []string{"transform"},
		New:        New,
		Summary:    "jq filter over the payload (gojq)",
	})
}

// Transform runs one compiled filter.
type Transform struct {
	code *gojq.Code
	all  bool
}

var _ handler.Handler = (*Transform)(nil)

// New validates config and compiles the filter.
func New(config json.RawMessage) (handler.Handler, error) {
	var c Config
	if err := handler.DecodeStrict(config, &c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if strings.TrimSpace(c.Filter) == "" {
		return nil, errors.New("config.filter: a jq filter is required, e.g. \".\"")
	}
	q, err := gojq.Parse(c.Filter)
	if err != nil {
		return nil, fmt.Errorf("config.filter: %w", err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, fmt.Errorf("config.filter: %w", err)
	}
	return &Transform{code: code, all: c.All}, nil
}

// Handle runs the filter over the payload.
func (t *Transform) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	var in any
	if len(inv.Payload()) > 0 {
		dec := json.NewDecoder(bytes.NewReader(inv.Payload()))
		dec.UseNumber() // gojq keeps json.Number exact
		if err := dec.Decode(&in); err != nil {
			return handler.Output{}, handler.InvalidPayload("", "payload is not JSON: %v", err)
		}
	}
	iter := t.code.RunWithContext(ctx, in)
	var out []any
	for {
		v, ok := iter.Next()
		if !ok {
			break
		}
		if err, isErr := v.(error); isErr {
			var halt *gojq.HaltError
			if errors.As(err, &halt) && halt.Value() == nil {
				break
			}
			if ctxErr := ctx.Err(); ctxErr != nil {
				return handler.Output{}, ctxErr
			}
			return handler.Output{}, handler.Failed(err, "filter failed: %v", err)
		}
		out = append(out, v)
		if !t.all {
			break
		}
	}
	if t.all {
		if out == nil {
			out = []any{}
		}
		return handler.Output{Result: out}, nil
	}
	if len(out) == 0 {
		return handler.Output{}, handler.Failed(nil, "the filter yielded no value (set all: true to accept an empty result)")
	}
	return handler.Output{Result: out[0]}, nil
}
