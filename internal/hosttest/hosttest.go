// Package hosttest starts real runtime hosts over test handlers, for the tests
// of the packages around the host (gateway, admin, telemetry). It registers
// its handler factory at init: only test binaries import it.
package hosttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/runtime"
)

// ProbePath is the import path of the probe handler. Its verbs:
//
//   - ok: answers {"ok":true}
//   - echo: answers the payload
//   - fail: a permanent handler error whose cause holds a DSN with a password
//   - transient: a retryable handler error
//   - span: starts and ends a child span named "probe.child" under the
//     invocation's span (through that span's own provider), answers
//     {"trace_id","span_id"} of the child
//   - wait: blocks until the gate named by payload.gate is opened (Gate,
//     Open) or its deadline passes
//
// Its config may name a health toggle ({"health":"name"}, see SetHealth) that
// its Health check reports.
const ProbePath = "example.com/onex/hosttest/probe"

func init() {
	handler.Register(handler.Factory{ImportPath: ProbePath, Verbs: []string{"ok", "echo", "fail", "transient", "span", "wait"},
		New: func(cfg json.RawMessage) (handler.Handler, error) {
			var c struct {
				Health string `json:"health"`
				DSN    string `json:"dsn"`
			}
			if len(cfg) > 0 {
				if err := handler.DecodeStrict(cfg, &c); err != nil {
					return nil, err
				}
			}
			return &probe{health: c.Health}, nil
		}})
}

type probe struct{ health string }

var _ handler.HealthChecker = (*probe)(nil)

func (p *probe) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	switch inv.Verb() {
	case "ok":
		return handler.Output{Result: json.RawMessage(`{"ok":true}`)}, nil
	case "echo":
		return handler.Output{Result: json.RawMessage(inv.Payload())}, nil
	case "fail":
		return handler.Output{}, handler.Failed(errors.New("connect postgres://app:hunter2@db/app: refused"), "backend refused password=hunter2")
	case "transient":
		return handler.Output{}, handler.Transient(nil, "backend busy")
	case "span":
		parent := trace.SpanFromContext(ctx)
		_, child := parent.TracerProvider().Tracer("hosttest").Start(ctx, "probe.child")
		child.End()
		sc := child.SpanContext()
		return handler.Output{Result: map[string]string{"trace_id": sc.TraceID().String(), "span_id": sc.SpanID().String()}}, nil
	case "wait":
		var in struct {
			Gate string `json:"gate"`
		}
		if err := inv.Decode(&in); err != nil {
			return handler.Output{}, err
		}
		g := gate(in.Gate)
		g.enter.Do(func() { close(g.entered) })
		select {
		case <-g.open:
			return handler.Output{Result: json.RawMessage(`{"waited":true}`)}, nil
		case <-ctx.Done():
			return handler.Output{}, ctx.Err()
		}
	}
	return handler.Output{}, fmt.Errorf("unexpected verb %s", inv.Verb())
}

func (p *probe) Health(context.Context) error {
	if p.health == "" {
		return nil
	}
	health.mu.Lock()
	defer health.mu.Unlock()
	return health.m[p.health]
}

var health = struct {
	mu sync.Mutex
	m  map[string]error
}{m: map[string]error{}}

// SetHealth sets what the Health check of probes configured with
// {"health": name} returns (nil: healthy).
func SetHealth(name string, err error) {
	health.mu.Lock()
	defer health.mu.Unlock()
	health.m[name] = err
}

type gateState struct {
	enter   sync.Once
	entered chan struct{} // closed when a handler first waits at the gate
	open    chan struct{} // closed to let it through
}

var gateSeq atomic.Uint64

// Gate returns the name of a new gate, for the payload {"gate": name} of the
// probe's wait verb. A gate never opened holds its handlers until their
// deadline.
func Gate() string { return fmt.Sprintf("gate-%d", gateSeq.Add(1)) }

var gates = struct {
	mu sync.Mutex
	m  map[string]*gateState
}{m: map[string]*gateState{}}

func gate(name string) *gateState {
	gates.mu.Lock()
	defer gates.mu.Unlock()
	g, ok := gates.m[name]
	if !ok {
		g = &gateState{entered: make(chan struct{}), open: make(chan struct{})}
		gates.m[name] = g
	}
	return g
}

// Entered returns a channel closed once a probe waits at gate name.
func Entered(name string) <-chan struct{} { return gate(name).entered }

// Open lets the probe waiting at gate name through.
func Open(name string) { close(gate(name).open) }

// Desc makes a valid compute descriptor of the probe handler.
func Desc(name string, commands ...string) *handler.Descriptor {
	d := &handler.Descriptor{
		Name: name, Version: "1.0.0", Type: handler.TypeCompute, Category: handler.CategoryCompute,
		ImportPath: ProbePath, SourceType: handler.SourceContract, Origin: "contracts/" + name + "/handler_contract.yaml",
	}
	for _, c := range commands {
		d.Commands = append(d.Commands, handler.Command(c))
	}
	return d
}

// Source is a handler source with fixed descriptors.
type Source struct{ Descs []*handler.Descriptor }

// SourceType is contract.
func (s *Source) SourceType() handler.SourceType { return handler.SourceContract }

// Discover returns the descriptors.
func (s *Source) Discover(context.Context) ([]*handler.Descriptor, []*diag.ValidationError, error) {
	return s.Descs, nil, nil
}

// Config is the default runtime configuration with test-sized limits.
func Config() runtime.Config {
	c := runtime.DefaultConfig()
	c.MaxConcurrency = 8
	c.DrainTimeout = 10 * time.Second
	return c
}

// Start starts a host without a bus over descs and stops it at cleanup. A zero
// opts.Config means Config().
func Start(t testing.TB, opts runtime.Options, descs ...*handler.Descriptor) *runtime.Host {
	t.Helper()
	if opts.Config.MaxConcurrency == 0 {
		opts.Config = Config()
	}
	h := runtime.New(&Source{Descs: descs}, nil, nil, nil, nil, opts)
	if err := h.Start(context.Background()); err != nil {
		t.Fatalf("start host: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Stop(context.Background()); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("stop host: %v", err)
		}
	})
	return h
}
