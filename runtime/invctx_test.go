package runtime

import (
	"context"
	"errors"
	goruntime "runtime"
	"testing"
	"time"
	"unsafe"

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
	t.Run("a parent's own error", func(t *testing.T) {
		errOwn := errors.New("parent's own error")
		c := newInvocationContext(erringContext{errOwn}, time.Now().Add(time.Hour), new([72]byte))
		if err := c.Err(); err != errOwn {
			t.Errorf("Err = %v, want the parent's %v", err, errOwn)
		}
		select {
		case <-c.Done():
		default:
			t.Error("Done not closed after the parent ended")
		}
		c.finish()
		if err := c.Err(); err != errOwn {
			t.Errorf("after finish, Err = %v, want the parent's %v", err, errOwn)
		}
	})
	t.Run("shared ended states stay as they are", func(t *testing.T) {
		ended := newInvocationContext(context.Background(), time.Now().Add(time.Hour), new([72]byte))
		ended.finish()
		past := newInvocationContext(context.Background(), time.Now().Add(-time.Second), new([72]byte))
		for _, c := range []*invocationContext{ended, past} {
			ran := make(chan struct{})
			c.AfterFunc(func() { close(ran) })
			<-ran
			<-c.Done()
			c.finish()
		}
		if ended.Err() != context.Canceled || past.Err() != context.DeadlineExceeded {
			t.Errorf("Err = %v and %v, want canceled and deadline exceeded", ended.Err(), past.Err())
		}
		if ended.st != endedCanceled || past.st != endedDeadline {
			t.Error("a context that ended unwatched did not take a shared state")
		}
		for _, st := range []*ctxState{endedCanceled, endedDeadline} {
			if st.after != nil || st.timer != nil || st.stopParent != nil || st.done != closedChan {
				t.Errorf("a shared ended state was modified: %+v", st)
			}
		}
		if endedCanceled.err != context.Canceled || endedDeadline.err != context.DeadlineExceeded {
			t.Error("a shared ended state's error was modified")
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
		// The allocation is of the 128-byte size class.
		if size := unsafe.Sizeof(invocationContext{}); size > 128 {
			t.Errorf("an invocation context takes %d bytes, more than 128", size)
		}
	})
}

// erringContext is a parent that ended with an error of its own.
type erringContext struct{ err error }

func (erringContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (erringContext) Done() <-chan struct{}       { return closedChan }
func (c erringContext) Err() error                { return c.err }
func (erringContext) Value(any) any               { return nil }

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
	left := len(c.st.after)
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
