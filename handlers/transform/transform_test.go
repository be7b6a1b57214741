package transform

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/onexhost/onex/handler"
)

func run(t *testing.T, cfg, payload string) (string, error) {
	t.Helper()
	h, err := New(json.RawMessage(cfg))
	if err != nil {
		t.Fatalf("New(%s): %v", cfg, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, err := h.Handle(ctx, handler.NewInvocation(handler.InvocationParams{Operation: "x.transform", Payload: json.RawMessage(payload)}))
	if err != nil {
		return "", err
	}
	b, _ := json.Marshal(out.Result)
	return string(b), nil
}

func TestTransform(t *testing.T) {
	for _, tc := range []struct {
		name, cfg, payload, want, err string
	}{
		{"identity", `{"filter":"."}`, `{"a":1}`, `{"a":1}`, ""},
		{"projection", `{"filter":"{n: .user.name, t: [.tags[] | ascii_upcase]}"}`, `{"user":{"name":"ada"},"tags":["x","y"]}`, `{"n":"ada","t":["X","Y"]}`, ""},
		{"big numbers stay exact", `{"filter":".n"}`, `{"n":12345678901234567890}`, `12345678901234567890`, ""},
		{"first value", `{"filter":".[]"}`, `[1,2,3]`, `1`, ""},
		{"all values", `{"filter":".[] | . * 2","all":true}`, `[1,2,3]`, `[2,4,6]`, ""},
		{"all of nothing", `{"filter":"empty","all":true}`, `{}`, `[]`, ""},
		{"no value", `{"filter":"empty"}`, `{}`, "", "no value"},
		{"runtime error", `{"filter":".a + 1"}`, `{"a":"x"}`, "", "cannot add"},
		{"no environment", `{"filter":"$ENV | length"}`, `{}`, `0`, ""},
		{"no payload", `{"filter":"."}`, ``, `null`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := run(t, tc.cfg, tc.payload)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %s, %v; want error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestConfigRejected(t *testing.T) {
	for _, tc := range []struct{ cfg, want string }{
		{`{}`, "config.filter: a jq filter is required"},
		{`{"filter":".a |"}`, "config.filter"},
		{`{"filter":"input"}`, "config.filter"},
		{`{"filter":".","filtr":"."}`, "unknown field"},
		{`{"filter":"include \"x\"; ."}`, "config.filter"},
	} {
		if _, err := New(json.RawMessage(tc.cfg)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%s) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestEndlessFilterHonoursDeadline(t *testing.T) {
	h, err := New(json.RawMessage(`{"filter":"[limit(100000000; repeat(.))] | length"}`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = h.Handle(ctx, handler.NewInvocation(handler.InvocationParams{Payload: json.RawMessage(`1`)}))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Handle = %v, want the deadline", err)
	}
}
