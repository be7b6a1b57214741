package uuid

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/onexhost/onex/handler"
)

func call(t *testing.T, g handler.Handler, op, payload string) (any, error) {
	t.Helper()
	out, err := g.Handle(context.Background(), handler.NewInvocation(handler.InvocationParams{Operation: handler.Command(op), Payload: json.RawMessage(payload)}))
	return out.Result, err
}

func TestNew(t *testing.T) {
	g, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		payload string
		version uuid.Version
		count   int
		field   string
	}{
		{``, 4, 1, ""},
		{`{"count":3}`, 4, 3, ""},
		{`{"version":7,"count":2}`, 7, 2, ""},
		{`{"version":5}`, 0, 0, "version"},
		{`{"count":0}`, 0, 0, "count"},
		{`{"count":1001}`, 0, 0, "count"},
		{`{"cnt":1}`, 0, 0, "cnt"},
	} {
		res, err := call(t, g, "id.new", tc.payload)
		if tc.field != "" {
			var he *handler.Error
			if !errors.As(err, &he) || he.Field != tc.field || he.Kind != handler.KindInvalidPayload {
				t.Errorf("%s: %v, want an invalid payload naming %s", tc.payload, err, tc.field)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		ids := res.(map[string][]string)["uuids"]
		seen := map[string]bool{}
		for _, s := range ids {
			u, err := uuid.Parse(s)
			if err != nil || u.Version() != tc.version || seen[s] {
				t.Errorf("%s: %s (version %d, dup %v)", tc.payload, s, u.Version(), seen[s])
			}
			seen[s] = true
		}
		if len(ids) != tc.count {
			t.Errorf("%s: %d ids", tc.payload, len(ids))
		}
	}
}

func TestNow(t *testing.T) {
	fixed := time.Date(2026, 3, 4, 5, 6, 7, 8, time.FixedZone("x", 3600))
	g := &Generator{now: func() time.Time { return fixed }}
	res, err := call(t, g, "clock.now", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	m := res.(map[string]any)
	if m["time"] != "2026-03-04T04:06:07.000000008Z" || m["unix_ms"] != fixed.UnixMilli() {
		t.Errorf("%v", m)
	}
	if _, err := call(t, g, "clock.now", `{"x":1}`); err == nil {
		t.Error("now accepted a payload field")
	}
}
