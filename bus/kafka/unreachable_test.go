package kafka

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/internal/testkit"
)

// TestSubscribeWithoutBroker: with no broker reachable, Subscribe does not
// wait out rebalance_timeout for a join that cannot happen: it returns, says
// why, and the subscription and the bus stop cleanly. (Were the broker check
// missing, Subscribe would return after the two minutes of rebalance_timeout
// with the "not joined yet" record instead.)
func TestSubscribeWithoutBroker(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now: every connection is refused

	cfg := testConfig([]string{addr})
	cfg.RebalanceTimeout = 2 * time.Minute
	var logs testkit.Logs
	b, err := New(context.Background(), cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sub, err := b.Subscribe(context.Background(), cfg.Topics.Requests, cfg.Group, func(context.Context, *bus.Delivery) {})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if logs.Count("no broker reachable; consuming starts once the consumer group is joined") != 1 ||
		logs.Count("consumer group not joined yet; consuming starts once it is") != 0 {
		t.Errorf("Subscribe without a broker logged:\n%s", logs.String())
	}
	if err := b.Health(context.Background()); err == nil {
		t.Error("Health reports a broker while none is reachable")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := sub.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
}
