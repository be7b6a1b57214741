package runtime

import (
	"context"
	"errors"
	goruntime "runtime"
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

func TestInvocationContextDerivedWithoutGoroutines(t *testing.T) {
	c := newInvocationContext(context.Background(), time.Now().Add(time.Hour), new([72]byte))
	before := goruntime.NumGoroutine()
	const n = 200
	children := make([]context.Context, n)
	cancels := make([]context.CancelFunc, n)
	for i := range n {
		children[i], cancels[i] = context.WithTimeout(c, time.Hour)
	}
	// Without AfterFunc the context package would park one goroutine per child.
	if grown := goruntime.NumGoroutine() - before; grown >= n/2 {
		t.Fatalf("%d derived contexts started %d goroutines", n, grown)
	}
	// A child canceled on its own unregisters its callback.
	cancels[0]()
	c.mu.Lock()
	left := len(c.after)
	c.mu.Unlock()
	if left != n-1 {
		t.Fatalf("%d callbacks registered after one child was canceled, want %d", left, n-1)
	}
	// Ending the invocation cancels every remaining child.
	c.finish()
	for i, ch := range children {
		<-ch.Done()
		if !errors.Is(ch.Err(), context.Canceled) {
			t.Fatalf("child %d: Err = %v", i, ch.Err())
		}
	}
	for _, cancel := range cancels {
		cancel()
	}
	// A registration on an ended context runs at once.
	ran := make(chan struct{})
	if stop := c.AfterFunc(func() { close(ran) }); stop() {
		t.Error("stop reported an already-run callback as stopped")
	}
	<-ran
}

func TestInvocationContextDeadlineReachesDerived(t *testing.T) {
	c := newInvocationContext(context.Background(), time.Now().Add(20*time.Millisecond), new([72]byte))
	defer c.finish()
	child, cancel := context.WithCancel(c)
	defer cancel()
	<-child.Done()
	if !errors.Is(child.Err(), context.DeadlineExceeded) {
		t.Errorf("child Err = %v, want the parent's deadline", child.Err())
	}
}
