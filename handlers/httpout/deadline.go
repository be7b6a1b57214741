package httpout

import (
	"context"
	"errors"
	"sync"
	"time"
)

// deadlines bounds the exchanges of one handler by its timeout with a single
// timer for all of them, where context.WithTimeout would arm one per exchange.
//
// A timer per exchange is not free even when it never fires: besides its
// allocations, arming a timer that is due before every other one wakes the
// thread blocked in the network poller so that it can recompute its sleep, on
// every call; on the small machines onex runs on that is a visible part of an
// outbound request. But every exchange of a handler has the same timeout, so
// deadlines fall due in the order the exchanges started: a FIFO queue is sorted
// by deadline already, and only the oldest pending one needs the timer. An
// exchange that ends before its deadline leaves the queue; when the timer
// fires it expires the exchanges that are due and re-arms itself for the next
// one. Under a steady load of exchanges shorter than the timeout the timer
// fires about once per timeout instead of being armed and stopped on every
// call.
//
// The zero value is not usable: a queue is made by newDeadlines, for one
// timeout.
type deadlines struct {
	timeout time.Duration

	mu sync.Mutex
	// queue[head:] are the exchanges started and not yet ended or expired,
	// oldest first, with holes (nil) where one has ended out of order; a
	// queued exchange x is queue[x.pos].
	queue []*exchangeContext
	head  int
	// timer is made by the first exchange; armed says it is set to fire (or
	// firing) no later than the oldest pending deadline.
	timer *time.Timer
	armed bool
}

func newDeadlines(timeout time.Duration) *deadlines {
	return &deadlines{timeout: timeout}
}

// bound starts an exchange: its context is derived from parent, and canceled
// with the cause errTimeout once the timeout has passed. The caller must call
// end when the exchange is over.
func (d *deadlines) bound(parent context.Context) *exchangeContext {
	ctx, cancel := context.WithCancelCause(parent)
	x := &exchangeContext{Context: ctx, cancel: cancel, queue: d}
	d.mu.Lock()
	// The clock is read under the lock, so deadlines enter the queue in order.
	x.deadline = time.Now().Add(d.timeout)
	if len(d.queue) == cap(d.queue) {
		d.compact()
	}
	x.pos = len(d.queue)
	d.queue = append(d.queue, x)
	if !d.armed {
		// An armed timer is due no later than any deadline queued after it was
		// armed; an unarmed one is set for the oldest pending deadline: this
		// one, unless the timer was stopped with exchanges pending.
		wait := d.queue[d.head].deadline.Sub(x.deadline) + d.timeout
		if d.timer == nil {
			d.timer = time.AfterFunc(wait, d.expire)
		} else {
			d.timer.Reset(wait)
		}
		d.armed = true
	}
	d.mu.Unlock()
	return x
}

// leave takes x off the queue, if it is still there.
func (d *deadlines) leave(x *exchangeContext) {
	d.mu.Lock()
	if x.pos >= 0 {
		d.queue[x.pos], x.pos = nil, -1
		d.dropEnded()
	}
	d.mu.Unlock()
}

// dropEnded pops the holes at the head of the queue, and reuses the queue's
// array once it is empty. d.mu is held.
func (d *deadlines) dropEnded() {
	for d.head < len(d.queue) && d.queue[d.head] == nil {
		d.head++
	}
	if d.head == len(d.queue) {
		d.queue, d.head = d.queue[:0], 0
	}
}

// compact closes the holes of a full queue, in order, before append would
// grow its array: exchanges ending behind a slow one do not make the queue
// grow, and it holds at most twice as many entries as exchanges pending.
// d.mu is held.
func (d *deadlines) compact() {
	n := 0
	for _, x := range d.queue[d.head:] {
		if x != nil {
			d.queue[n], x.pos = x, n
			n++
		}
	}
	clear(d.queue[n:])
	d.queue, d.head = d.queue[:n], 0
}

// expire runs on the timer: it expires every exchange whose deadline has
// passed, each outside the lock, then re-arms the timer for the oldest one
// still pending, or leaves it unarmed when none is.
func (d *deadlines) expire() {
	for {
		d.mu.Lock()
		if !d.armed {
			// Stopped while the timer was firing.
			d.mu.Unlock()
			return
		}
		d.dropEnded()
		if d.head == len(d.queue) {
			d.armed = false
			d.mu.Unlock()
			return
		}
		x := d.queue[d.head]
		if wait := time.Until(x.deadline); wait > 0 {
			d.timer.Reset(wait)
			d.mu.Unlock()
			return
		}
		d.queue[d.head], x.pos = nil, -1
		d.mu.Unlock()
		x.cancel(errTimeout)
	}
}

// stop stops the timer. Exchanges still pending keep their contexts until they
// end, or until a later exchange arms the timer again.
func (d *deadlines) stop() {
	d.mu.Lock()
	if d.timer != nil {
		d.timer.Stop()
	}
	d.armed = false
	d.mu.Unlock()
}

// exchangeContext is the context of one exchange bounded by the handler's
// timeout: a standard cancelable context derived from the invocation's, which
// the queue cancels with the cause errTimeout when the deadline passes (Err is
// then context.Canceled, and context.Cause errTimeout, as for any
// WithCancelCause context). Its Deadline reports the deadline; everything else
// is the embedded context's, so a context derived from it, as the HTTP
// transport derives one for every request, is linked to that one directly.
type exchangeContext struct {
	context.Context
	cancel   context.CancelCauseFunc
	deadline time.Time
	// queue holds x at queue.queue[pos] until x ends or expires (pos -1);
	// pos is guarded by queue.mu.
	queue *deadlines
	pos   int
}

// Deadline is the sooner of the timeout and the parent's deadline.
func (x *exchangeContext) Deadline() (time.Time, bool) {
	if d, ok := x.Context.Deadline(); ok && d.Before(x.deadline) {
		return d, true
	}
	return x.deadline, true
}

// end ends the exchange: x leaves the queue and is canceled.
func (x *exchangeContext) end() {
	x.queue.leave(x)
	x.cancel(nil)
}

// timedOut reports whether the handler's timeout ended the exchange.
func (x *exchangeContext) timedOut() bool {
	return errors.Is(context.Cause(x), errTimeout)
}
