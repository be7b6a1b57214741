package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/runtime/delivery"
	"github.com/onexhost/onex/source"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Test factories, registered under test import paths.
const (
	noopPath   = "example.com/test/noop"
	echoPath   = "example.com/test/echo"
	behavePath = "example.com/test/behave"
	lifePath   = "example.com/test/life"
)

func init() {
	handler.Register(handler.Factory{ImportPath: noopPath, Verbs: []string{"run"},
		New: func(json.RawMessage) (handler.Handler, error) { return noop{}, nil }})
	handler.Register(handler.Factory{ImportPath: echoPath, Verbs: []string{"echo"},
		New: func(json.RawMessage) (handler.Handler, error) { return echo{}, nil }})
	handler.Register(handler.Factory{ImportPath: behavePath,
		Verbs: []string{"ok", "fail", "transient", "invalid", "panic", "sleep", "block", "unencodable", "deny"},
		New:   func(json.RawMessage) (handler.Handler, error) { return behave{}, nil }})
	handler.Register(handler.Factory{ImportPath: lifePath, Verbs: []string{"get"},
		New: func(cfg json.RawMessage) (handler.Handler, error) {
			var c lifeConfig
			if err := handler.DecodeStrict(cfg, &c); err != nil {
				return nil, err
			}
			return &life{cfg: c}, nil
		}})
}

type noop struct{}

func (noop) Handle(context.Context, *handler.Invocation) (handler.Output, error) {
	return handler.Output{}, nil
}

type echo struct{}

func (echo) Handle(_ context.Context, inv *handler.Invocation) (handler.Output, error) {
	return handler.Output{Result: map[string]any{
		"payload": inv.Payload(), "verb": inv.Verb(), "operation": string(inv.Operation()),
		"correlation_id": inv.CorrelationID(), "envelope_id": inv.EnvelopeID(),
		"classification": inv.Classification().String(), "handler": inv.HandlerName(),
	}}, nil
}

// behave does what its verb says.
type behave struct{}

func (behave) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	switch inv.Verb() {
	case "ok":
		return handler.Output{Result: json.RawMessage(`{"ok":true}`)}, nil
	case "fail":
		return handler.Output{}, handler.Failed(errors.New("dsn=postgres://secret"), "backend refused")
	case "transient":
		return handler.Output{}, handler.Transient(nil, "backend busy")
	case "invalid":
		var p struct {
			SQL string `json:"sql"`
		}
		if err := inv.Decode(&p); err != nil {
			return handler.Output{}, err
		}
		return handler.Output{}, handler.InvalidPayload("sql", "must not be empty")
	case "panic":
		panic("boom")
	case "sleep": // honours its context
		<-ctx.Done()
		return handler.Output{}, ctx.Err()
	case "block": // ignores its context until released
		var p struct {
			Release string `json:"release"`
		}
		_ = inv.Decode(&p)
		releases.start(p.Release)
		<-releases.get(p.Release)
		return handler.Output{Result: "late"}, nil
	case "unencodable":
		return handler.Output{Result: make(chan int)}, nil
	case "deny":
		e := diag.New("SECURITY-310", "connection to evil.example:443 refused: not in allowed_domains")
		e.HandlerIdentity = inv.HandlerName()
		return handler.Output{}, handler.Failed(e, "request failed")
	}
	return handler.Output{}, fmt.Errorf("unexpected verb %s", inv.Verb())
}

// unique returns base with a suffix of its own: names of the process-wide
// test registries (releases, lifeLogs, factory import paths) are made unique
// to each run, so every test holds under go test -count=N.
func unique(base string) string { return base + "-" + uuid.NewString()[:8] }

// releases are channels that blocking test handlers wait on, by name; started
// channels close when a handler begins to wait.
var releases = &releaseSet{m: map[string]chan struct{}{}}

type releaseSet struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

func (r *releaseSet) start(name string) { close(r.get("started:" + name)) }

func (r *releaseSet) started(name string) <-chan struct{} { return r.get("started:" + name) }

func (r *releaseSet) get(name string) chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.m[name]
	if !ok {
		c = make(chan struct{})
		r.m[name] = c
	}
	return c
}

// lifeConfig drives the life handler's Init and Close.
type lifeConfig struct {
	FailInit bool   `json:"fail_init"`
	Token    string `json:"token"`
	Log      string `json:"log"` // name of a lifeLog to record into
}

type life struct {
	cfg   lifeConfig
	token string
}

var lifeLogs = &logSet{m: map[string]*[]string{}}

type logSet struct {
	mu sync.Mutex
	m  map[string]*[]string
}

func (l *logSet) add(name, event string) {
	if name == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m[name] == nil {
		l.m[name] = &[]string{}
	}
	*l.m[name] = append(*l.m[name], event)
}

func (l *logSet) get(name string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m[name] == nil {
		return nil
	}
	return append([]string(nil), *l.m[name]...)
}

func (l *life) Init(_ context.Context, env *handler.InitEnv) error {
	var c lifeConfig
	if err := env.DecodeConfig(&c); err != nil {
		return err
	}
	if c.FailInit {
		return errors.New("cannot reach the backend")
	}
	l.token = c.Token
	lifeLogs.add(c.Log, "init "+env.HandlerName())
	return nil
}

func (l *life) Close(context.Context) error {
	lifeLogs.add(l.cfg.Log, "close")
	return nil
}

func (l *life) Handle(context.Context, *handler.Invocation) (handler.Output, error) {
	return handler.Output{Result: map[string]string{"token_len": fmt.Sprint(len(l.token))}}, nil
}

// desc makes a valid descriptor.
func desc(name, importPath string, commands ...string) *handler.Descriptor {
	d := &handler.Descriptor{
		Name: name, Version: "1.0.0", Type: handler.TypeCompute, Category: handler.CategoryCompute,
		ImportPath: importPath, SourceType: handler.SourceContract, Origin: "contracts/" + name + "/handler_contract.yaml",
	}
	for _, c := range commands {
		d.Commands = append(d.Commands, handler.Command(c))
	}
	return d
}

// fakeSource returns fixed descriptors and errors.
type fakeSource struct {
	mode  handler.SourceType
	descs []*handler.Descriptor
	errs  []*diag.ValidationError
	stats source.Stats
}

func (s *fakeSource) SourceType() handler.SourceType {
	if s.mode == "" {
		return handler.SourceContract
	}
	return s.mode
}

func (s *fakeSource) Discover(context.Context) ([]*handler.Descriptor, []*diag.ValidationError, error) {
	return s.descs, s.errs, nil
}

func (s *fakeSource) Stats() source.Stats { return s.stats }

// testConfig is the default runtime config with small limits for tests.
func testConfig() Config {
	c := DefaultConfig()
	c.MaxConcurrency = 32
	c.DrainTimeout = 10 * time.Second
	// Retries of bus requests wait milliseconds, not the default seconds.
	c.Delivery.Backoff = delivery.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond, Multiplier: 2}
	return c
}

// startHost starts a host over descs and stops it at cleanup.
func startHost(t testing.TB, b bus.Bus, opts Options, descs ...*handler.Descriptor) *Host {
	t.Helper()
	if opts.Config.MaxConcurrency == 0 {
		opts.Config = testConfig()
	}
	h := New(&fakeSource{descs: descs}, nil, nil, b, nil, opts)
	if err := h.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return h
}

func mustDecode(t testing.TB, raw []byte) *envelope.Response {
	t.Helper()
	r, err := envelope.DecodeResponse(raw)
	if err != nil {
		t.Fatalf("response %q: %v", raw, err)
	}
	return r
}
