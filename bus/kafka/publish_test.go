package kafka

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/internal/kafkatest"
)

func TestPublishAsync(t *testing.T) {
	c := kafkatest.Start(t)
	cfg := testConfig(c.ListenAddrs())
	createTopic(t, cfg.Brokers, 1, "async")
	b := newTestBus(t, cfg)
	r := kafkatest.Read(t, cfg.Brokers, "async")
	publish := func(ctx context.Context, m bus.Message) error {
		done := make(chan error, 1)
		b.PublishAsync(ctx, m, func(err error) { done <- err })
		return <-done
	}

	// Under an invocation: ARCH-002, nothing published.
	err := publish(bus.WithInvocation(context.Background()), bus.Message{Topic: "async", Value: []byte("smuggled")})
	var av *diag.ArchitectureViolationError
	if !errors.As(err, &av) || av.RuleID != "ARCH-002" {
		t.Fatalf("PublishAsync under an invocation: %v, want ARCH-002", err)
	}
	if err := publish(context.Background(), bus.Message{Value: []byte("x")}); err == nil {
		t.Error("a message without a topic was accepted")
	}

	// The message is copied: the caller may reuse its buffers at once.
	key, value, hv := []byte("key"), []byte("original"), []byte("header")
	done := make(chan error, 1)
	b.PublishAsync(context.Background(), bus.Message{Topic: "async", Key: key, Value: value, Headers: []bus.Header{{Key: "h", Value: hv}}},
		func(err error) { done <- err })
	copy(key, "KEY")
	copy(value, "MUTATED!")
	copy(hv, "HEADER")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rec := r.WaitN(t, 1, hangGuard)[0]
	if string(rec.Key) != "key" || string(rec.Value) != "original" || len(rec.Headers) != 1 || string(rec.Headers[0].Value) != "header" {
		t.Errorf("published %q %q %v: the bus kept the caller's buffers", rec.Key, rec.Value, rec.Headers)
	}
	if n := r.Len(); n != 1 {
		t.Errorf("%d records, want only the accepted one", n)
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := publish(context.Background(), bus.Message{Topic: "async", Value: []byte("late")}); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("PublishAsync after Close: %v, want bus.ErrClosed", err)
	}
}

func TestLag(t *testing.T) {
	c := kafkatest.Start(t)
	cfg := testConfig(c.ListenAddrs())
	cfg.MaxInFlight, cfg.MaxPollRecords = 4, 4
	createTopic(t, cfg.Brokers, 1, "lag")
	b := newTestBus(t, cfg)
	defer b.Close()
	held := make(chan *bus.Delivery, 20)
	sub, err := b.Subscribe(context.Background(), "lag", "g", func(_ context.Context, d *bus.Delivery) { held <- d })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop(context.Background())
	cl := kafkatest.Client(t, cfg.Brokers)
	var recs []*kgo.Record
	for i := 0; i < 20; i++ {
		recs = append(recs, &kgo.Record{Topic: "lag", Value: []byte{byte(i)}})
	}
	produce(t, cl, recs...)
	// The member holds max_in_flight records; the other 16 wait.
	if !kafkatest.Eventually(hangGuard, func() bool { return b.Lag()["lag/g"] == 16 }) {
		t.Fatalf("lag %v, want lag/g 16", b.Lag())
	}
	for acked := 0; acked < 20; acked++ {
		(<-held).Ack()
	}
	if !kafkatest.Eventually(hangGuard, func() bool { return b.Lag()["lag/g"] == 0 }) {
		t.Fatalf("lag %v after every record was handled, want 0", b.Lag())
	}
}
