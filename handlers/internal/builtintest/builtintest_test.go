package builtintest

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"testing"

	"go.uber.org/goleak"

	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const fakePath = "github.com/onexhost/onex/handlers/internal/builtintest/fake"

// closes counts the Close calls of fake handlers.
var closes atomic.Int32

// fake refuses the config {"bad":true} and an Init without egress; its verbs
// answer the payload's n.
type fake struct{}

type fakePayload struct {
	N int `json:"n"`
}

func (fake) Handle(_ context.Context, inv *handler.Invocation) (handler.Output, error) {
	var p fakePayload
	if err := inv.Decode(&p); err != nil {
		return handler.Output{}, err
	}
	return handler.Output{Result: p.N}, nil
}

func (fake) Init(_ context.Context, env *handler.InitEnv) error {
	if env.Dialer() == nil {
		return errors.New("no egress capability granted")
	}
	return nil
}

func (fake) Close(context.Context) error {
	closes.Add(1)
	return nil
}

func init() {
	handler.Register(handler.Factory{
		ImportPath: fakePath,
		Verbs:      []string{"ping", "pong"},
		Uses:       handler.Uses{Egress: true},
		New: func(raw json.RawMessage) (handler.Handler, error) {
			var c struct {
				Bad bool `json:"bad"`
			}
			if err := handler.DecodeStrict(raw, &c); err != nil {
				return nil, err
			}
			if c.Bad {
				return nil, errors.New("bad: refused")
			}
			return fake{}, nil
		},
	})
}

func TestFactory(t *testing.T) {
	Factory(t, fakePath, handler.Uses{Egress: true}, []string{"ping"}, []string{"pong", "ping"})
}

func TestConfigs(t *testing.T) {
	Configs(t, fakePath, []ConfigCase{
		{Name: "accepted", Config: `{}`},
		{Name: "refused", Config: `{"bad":true}`, WantErr: "bad: refused"},
		{Name: "unknown field", Config: `{"good":true}`, WantErr: "good"},
	})
}

func TestInitErrors(t *testing.T) {
	InitErrors(t, fakePath, []InitCase{
		{Name: "no egress", Config: `{}`, Caps: handler.Capabilities{}, WantErr: "no egress capability"},
	})
}

// TestOpen: the handler comes initialised and is closed when its test ends.
func TestOpen(t *testing.T) {
	before := closes.Load()
	t.Run("open", func(t *testing.T) {
		if h := Open(t, fakePath, map[string]any{}, testkit.Grant{AllowedDomains: []string{"127.0.0.1"}}); h == nil {
			t.Fatal("no handler")
		}
		if closes.Load() != before {
			t.Fatal("closed before the test ended")
		}
	})
	if got := closes.Load() - before; got != 1 {
		t.Fatalf("closed %d times when the test ended, want once", got)
	}
}

func TestCallAndInvalidPayloads(t *testing.T) {
	res, err := Call(t, fake{}, "fake", "ping", map[string]any{"n": 7})
	if err != nil || res != 7 {
		t.Fatalf("ping = %v, %v; want 7", res, err)
	}
	InvalidPayloads(t, fake{}, "fake", []PayloadCase{
		{Verb: "ping", Payload: `{"m":1}`, Field: "m"},
		{Verb: "pong", Payload: `{"n":"seven"}`, Field: "n"},
	})
}

func TestClosedAddr(t *testing.T) {
	c, err := net.Dial("tcp", ClosedAddr(t))
	if err == nil {
		c.Close()
		t.Fatal("a connection to the closed address was accepted")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial error %v, want connection refused", err)
	}
}
