package kafka

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/internal/kafkatest"
)

func TestHealth(t *testing.T) {
	c := kafkatest.Start(t)
	b := newTestBus(t, testConfig(c.ListenAddrs()))
	if err := b.Health(context.Background()); err != nil {
		t.Fatalf("broker up: %v", err)
	}
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := b.Health(ctx); err == nil {
		t.Fatal("broker down: Health = nil")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Health(context.Background()); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("closed bus: %v, want bus.ErrClosed", err)
	}
}
