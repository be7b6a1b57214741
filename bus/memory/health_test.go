package memory

import (
	"context"
	"errors"
	"testing"

	"github.com/onexhost/onex/bus"
)

func TestHealth(t *testing.T) {
	b := New(DefaultConfig())
	if err := b.Health(context.Background()); err != nil {
		t.Fatalf("open bus: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Health(context.Background()); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("closed bus: %v, want bus.ErrClosed", err)
	}
}
