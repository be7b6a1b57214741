// Package builtintest holds what the tests of the built-in handlers check
// alike, each handler found by its import path in the factory registry: the
// factory's declaration, the configs New refuses, the grants Init refuses, a
// handler initialised under a grant, the payloads Handle refuses, and an
// address nothing listens on. It adds
// to internal/testkit (invocations, results, grants, protocol doubles) what
// only these tests use; only test binaries import it.
package builtintest

import (
	"context"
	"encoding/json"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/testkit"
)

// factory returns the registered factory of importPath.
func factory(tb testing.TB, importPath string) handler.Factory {
	tb.Helper()
	f, ok := handler.Lookup(importPath)
	if !ok {
		tb.Fatalf("no factory registered as %s", importPath)
	}
	return f
}

// Factory checks the factory registered as importPath: it uses exactly uses,
// implements each of verbs, and its handler routes (routed, in any order)
// exactly the verbs it declares.
func Factory(tb testing.TB, importPath string, uses handler.Uses, verbs, routed []string) {
	tb.Helper()
	f := factory(tb, importPath)
	if f.Uses != uses {
		tb.Errorf("factory uses %+v, want %+v", f.Uses, uses)
	}
	for _, v := range verbs {
		if !f.Implements(v) {
			tb.Errorf("verb %s missing", v)
		}
	}
	if got, want := slices.Sorted(slices.Values(routed)), slices.Sorted(slices.Values(f.Verbs)); !slices.Equal(got, want) {
		tb.Errorf("Handle routes %v, the factory declares %v", got, want)
	}
}

// ConfigCase is a config given to New and the error it must give: "" for
// none, else a part of its text.
type ConfigCase struct {
	Name, Config, WantErr string
}

// Configs runs New of the factory registered as importPath on each case.
func Configs(t *testing.T, importPath string, cases []ConfigCase) {
	t.Helper()
	f := factory(t, importPath)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			_, err := f.New(json.RawMessage(tc.Config))
			switch {
			case tc.WantErr == "" && err != nil:
				t.Fatal(err)
			case tc.WantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.WantErr)):
				t.Fatalf("error = %v, want %q", err, tc.WantErr)
			}
		})
	}
}

// InitCase is a config New accepts, the capabilities Init is given, and a part
// of the error Init must give.
type InitCase struct {
	Name, Config string
	Caps         handler.Capabilities
	WantErr      string
}

// InitErrors runs Init of a handler of the factory registered as importPath
// on each case.
func InitErrors(t *testing.T, importPath string, cases []InitCase) {
	t.Helper()
	f := factory(t, importPath)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			h, err := f.New(json.RawMessage(tc.Config))
			if err != nil {
				t.Fatal(err)
			}
			err = initializer(t, h).Init(context.Background(), handler.NewInitEnv(handler.InitParams{Capabilities: tc.Caps}))
			if err == nil || !strings.Contains(err.Error(), tc.WantErr) {
				t.Fatalf("Init error = %v, want %q", err, tc.WantErr)
			}
		})
	}
}

func initializer(tb testing.TB, h handler.Handler) handler.Initializer {
	tb.Helper()
	in, ok := h.(handler.Initializer)
	if !ok {
		tb.Fatalf("%T has no Init", h)
	}
	return in
}

// Open returns a handler of the factory registered as importPath made from
// config and initialised with it under the capabilities the real policy
// grants g; the handler is closed when the test ends.
func Open(tb testing.TB, importPath string, config map[string]any, g testkit.Grant) handler.Handler {
	tb.Helper()
	raw, err := json.Marshal(config)
	if err != nil {
		tb.Fatalf("config %v: %v", config, err)
	}
	h, err := factory(tb, importPath).New(raw)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	caps := testkit.Capabilities(tb, g)
	if err := initializer(tb, h).Init(context.Background(), handler.NewInitEnv(handler.InitParams{Config: raw, Capabilities: caps})); err != nil {
		tb.Fatalf("Init: %v", err)
	}
	if c, ok := h.(handler.Closer); ok {
		tb.Cleanup(func() { _ = c.Close(context.Background()) })
	}
	return h
}

// Call runs verb on h, the handler named name, with payload encoded as JSON.
func Call(tb testing.TB, h handler.Handler, name, verb string, payload any) (any, error) {
	tb.Helper()
	out, err := h.Handle(context.Background(), testkit.Invocation(tb, name, handler.Command(name+"."+verb), payload))
	return out.Result, err
}

// PayloadCase is a payload of verb that Handle must refuse as invalid, naming
// Field.
type PayloadCase struct {
	Verb, Payload, Field string
}

// InvalidPayloads runs each case on h, the handler named name.
func InvalidPayloads(t *testing.T, h handler.Handler, name string, cases []PayloadCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Verb+" "+tc.Field, func(t *testing.T) {
			_, err := Call(t, h, name, tc.Verb, json.RawMessage(tc.Payload))
			he := testkit.HandlerError(t, err)
			if he.Kind != handler.KindInvalidPayload || he.Field != tc.Field {
				t.Fatalf("error = %+v, want invalid payload naming %q", he, tc.Field)
			}
		})
	}
}

// ClosedAddr returns a 127.0.0.1 host:port that nothing listens on: a
// connection to it is refused at once.
func ClosedAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		tb.Fatal(err)
	}
	return addr
}
