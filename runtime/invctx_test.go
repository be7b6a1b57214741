package runtime

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/onexhost/onex/bus"
)

type ctxKey struct{}

func TestInvocationContext(t *testing.T) {
	t.Run("marked and carries parent values", func(t *testing.T) {
		parent := context.WithValue(context.Background(), ctxKey{}, "v")
		c := newInvocationContext(parent, time.Now().Add(time.Hour), new([72]byte))
		defer c.finish()
		if !bus.InInvocation(c) || c.Value(ctxKey{}) != "v" {
			t.Error("invocation context lost the mark or a parent value")
		}
		if err := bus.CheckPublish(c); err == nil {
			t.Error("CheckPublish accepted an invocation context")
		}
	})
	t.Run("deadline closes Done", func(t *testing.T) {
		c := newInvocationContext(context.Background(), time.Now().Add(20*time.Millisecond), new([72]byte))
		defer c.finish()
		<-c.Done()
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Errorf("Err = %v", c.Err())
		}
	})
	t.Run("Err without Done sees the deadline", func(t *testing.T) {
		c := newInvocationContext(context.Background(), time.Now().Add(-time.Millisecond), new([72]byte))
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Errorf("Err = %v", c.Err())
		}
		select {
		case <-c.Done():
		default:
			t.Error("Done not closed after the deadline")
		}
	})
	t.Run("parent cancellation", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		c := newInvocationContext(parent, time.Now().Add(time.Hour), new([72]byte))
		done := c.Done()
		cancel()
		<-done
		if !errors.Is(c.Err(), context.Canceled) {
			t.Errorf("Err = %v", c.Err())
		}
	})
	t.Run("earlier parent deadline wins", func(t *testing.T) {
		parent, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := newInvocationContext(parent, time.Now().Add(time.Hour), new([72]byte))
		defer c.finish()
		pd, _ := parent.Deadline()
		if d, ok := c.Deadline(); !ok || !d.Equal(pd) {
			t.Errorf("Deadline = %v, want the parent's %v", d, pd)
		}
	})
	t.Run("finish cancels and derived contexts follow", func(t *testing.T) {
		c := newInvocationContext(context.Background(), time.Now().Add(time.Hour), new([72]byte))
		child, cancel := context.WithCancel(c)
		defer cancel()
		c.finish()
		<-child.Done()
		if !errors.Is(c.Err(), context.Canceled) || c.Err() != c.Err() {
			t.Errorf("Err = %v", c.Err())
		}
	})
	t.Run("one allocation when Done is never called", func(t *testing.T) {
		parent := context.Background()
		n := testing.AllocsPerRun(100, func() {
			c := newInvocationContext(parent, time.Now().Add(time.Second), new([72]byte))
			_ = c.Err()
			c.finish()
		})
		if n > 1 {
			t.Errorf("%.0f allocations", n)
		}
	})
}
