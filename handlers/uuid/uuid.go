// Package uuid is the identifier and clock handler: a nondeterministic_compute
// handler (pure, but not deterministic) that makes UUIDs and reads the clock.
//
// Verbs:
//   - new: {"version": 4|7, "count": N} → {"uuids": ["…", …]} (default version 4,
//     count 1, at most 1000)
//   - now: {} → {"time": RFC 3339 with nanoseconds, UTC, "unix_ms": N}
//
// No config.
package uuid

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/onexhost/onex/handler"
)

// ImportPath is the factory's registry key.
const ImportPath = "github.com/onexhost/onex/handlers/uuid"

// MaxCount bounds the UUIDs of one request.
const MaxCount = 1000

func init() {
	handler.Register(handler.Factory{
		ImportPath: ImportPath,
		Verbs:      []string{"new", "now"},
		New:        New,
		Summary:    "UUIDs (v4, v7) and the current time",
	})
}

// Generator makes UUIDs and reads the clock.
type Generator struct {
	now func() time.Time
}

var _ handler.Handler = (*Generator)(nil)

// New accepts an empty config only.
func New(config json.RawMessage) (handler.Handler, error) {
	var none struct{}
	if err := handler.DecodeStrict(config, &none); err != nil {
		return nil, fmt.Errorf("config: the uuid handler takes no config: %w", err)
	}
	return &Generator{now: time.Now}, nil
}

// NewPayload is the payload of the new verb.
type NewPayload struct {
	Version int `json:"version"`
	Count   int `json:"count"`
}

// Handle serves new and now.
func (g *Generator) Handle(_ context.Context, inv *handler.Invocation) (handler.Output, error) {
	switch inv.Verb() {
	case "new":
		p := NewPayload{Version: 4, Count: 1}
		if err := inv.Decode(&p); err != nil {
			return handler.Output{}, err
		}
		if p.Count < 1 || p.Count > MaxCount {
			return handler.Output{}, handler.InvalidPayload("count", "must be between 1 and %d, got %d", MaxCount, p.Count)
		}
		gen := uuid.NewRandom
		switch p.Version {
		case 4:
		case 7:
			gen = uuid.NewV7
		default:
			return handler.Output{}, handler.InvalidPayload("version", "unsupported UUID version %d (valid: 4, 7)", p.Version)
		}
		ids := make([]string, 0, p.Count)
		for range p.Count {
			u, err := gen()
			if err != nil {
				return handler.Output{}, handler.Transient(err, "no randomness available")
			}
			ids = append(ids, u.String())
		}
		return handler.Output{Result: map[string][]string{"uuids": ids}}, nil
	case "now":
		var none struct{}
		if err := inv.Decode(&none); err != nil {
			return handler.Output{}, err
		}
		t := g.now().UTC()
		return handler.Output{Result: map[string]any{"time": t.Format(time.RFC3339Nano), "unix_ms": t.UnixMilli()}}, nil
	}
	return handler.Output{}, handler.Failed(nil, "unknown verb %q", inv.Verb())
}
