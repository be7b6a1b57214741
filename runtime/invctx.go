package runtime

import (
	"context"
	"sync"
	"time"
	"unsafe"

	"github.com/onexhost/onex/bus"
)

// invocationMark carries the bus's invocation marker; invocation contexts answer
// its values before their parent's, so every invocation is marked without a
// context allocation of its own. It is never modified.
var invocationMark = bus.WithInvocation(context.Background())

// invocationContext is the context of one handler invocation: marked for the
// bus (any publish under it fails with ARCH-002), with the invocation's deadline,
// canceled when the parent ends, the deadline passes, or the invocation is over.
//
// context.WithTimeout would cost a timer, a closure and three more allocations
// per invocation whether or not the handler ever waits on its context. This one
// arms its timer lazily, the first time Done is called; Err checks the clock
// itself. Handlers that never block pay one allocation.
type invocationContext struct {
	parent   context.Context
	deadline time.Time
	// ids are the request's envelope_id and correlation_id: the strings the
	// invocation hands out point here (idString), sharing this allocation.
	// Written once, before any string is made, and never again.
	ids [72]byte

	mu sync.Mutex
	// st is nil while the invocation runs and nothing waits on it: the rest
	// of the state is made when Done is first called, or is one of the shared
	// ended states when the context ends before that. A handler that never
	// waits pays one allocation of 128 bytes.
	st *ctxState
}

// ctxState is the part of an invocation context that waiting on it needs.
type ctxState struct {
	done       chan struct{}
	err        error
	timer      *time.Timer
	stopParent func() bool
	// after are the callbacks of AfterFunc not yet run or stopped.
	after []*afterCall
}

// The states of contexts that ended before anything waited on them; shared,
// never modified.
var (
	endedCanceled = &ctxState{done: closedChan, err: context.Canceled}
	endedDeadline = &ctxState{done: closedChan, err: context.DeadlineExceeded}
)

// afterCall is one AfterFunc registration; its identity is what stop removes.
type afterCall struct{ f func() }

func newInvocationContext(parent context.Context, deadline time.Time, ids *[72]byte) *invocationContext {
	if pd, ok := parent.Deadline(); ok && pd.Before(deadline) {
		deadline = pd
	}
	return &invocationContext{parent: parent, deadline: deadline, ids: *ids}
}

// idString returns the ids as a string without copying them: c is a fresh
// allocation whose ids never change, and the string keeps it alive.
func (c *invocationContext) idString() string {
	return unsafe.String(&c.ids[0], len(c.ids))
}

var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (c *invocationContext) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *invocationContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st == nil {
		c.checkLocked()
	}
	if c.st != nil {
		return c.st.done
	}
	c.st = &ctxState{done: make(chan struct{})}
	c.st.timer = time.AfterFunc(time.Until(c.deadline), func() { c.cancel(context.DeadlineExceeded) })
	if c.parent.Done() != nil {
		c.st.stopParent = context.AfterFunc(c.parent, func() { c.cancel(c.parent.Err()) })
	}
	return c.st.done
}

func (c *invocationContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st == nil {
		c.checkLocked()
	}
	if c.st == nil {
		return nil
	}
	return c.st.err
}

// checkLocked cancels c when its parent ended or its deadline passed, so Err is
// right even when no timer was armed.
func (c *invocationContext) checkLocked() {
	if err := c.parent.Err(); err != nil {
		c.cancelLocked(err)
	} else if !time.Now().Before(c.deadline) {
		c.cancelLocked(context.DeadlineExceeded)
	}
}

func (c *invocationContext) Value(key any) any {
	if v := invocationMark.Value(key); v != nil {
		return v
	}
	return c.parent.Value(key)
}

func (c *invocationContext) cancel(err error) {
	c.mu.Lock()
	c.cancelLocked(err)
	c.mu.Unlock()
}

func (c *invocationContext) cancelLocked(err error) {
	st := c.st
	if st == nil { // nothing waits: no channel to close, no timer to stop
		switch err {
		case context.Canceled:
			c.st = endedCanceled
		case context.DeadlineExceeded:
			c.st = endedDeadline
		default:
			c.st = &ctxState{done: closedChan, err: err}
		}
		return
	}
	if st.err != nil {
		return
	}
	st.err = err
	close(st.done)
	st.timer.Stop()
	if st.stopParent != nil {
		st.stopParent()
	}
	// As context.AfterFunc promises: each callback in its own goroutine, so
	// none runs under this lock.
	for _, a := range st.after {
		go a.f()
	}
	st.after = nil
}

// AfterFunc arranges for f to run, in its own goroutine, once c is canceled;
// stop unregisters it and reports whether it did. The context package calls
// this method when a handler derives a context (context.WithTimeout,
// WithCancel, AfterFunc): without it, every derived context of a context that
// is not the package's own would cost a goroutine waiting on Done.
func (c *invocationContext) AfterFunc(f func()) (stop func() bool) {
	c.Done() // arms the deadline and the parent's cancellation
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.st
	if st.err != nil {
		go f()
		return func() bool { return false }
	}
	a := &afterCall{f: f}
	st.after = append(st.after, a)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range st.after {
			if x == a {
				st.after = append(st.after[:i], st.after[i+1:]...)
				return true
			}
		}
		return false
	}
}

// finish ends the invocation: the context is canceled (like a request context
// after its handler returned) and its timer released.
func (c *invocationContext) finish() { c.cancel(context.Canceled) }

func (c *invocationContext) String() string { return "onex invocation context" }
