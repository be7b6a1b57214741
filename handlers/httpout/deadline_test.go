package httpout

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// The deadline queue is tested in a synctest bubble: its timer runs on the
// bubble's fake clock, so an exchange expires exactly at its deadline and no
// real time passes.

// advance moves the bubble's fake clock on by d.
func advance(d time.Duration) { <-time.After(d) }

// queued is the number of entries in d's queue, holes included, and whether
// its timer is armed.
func queued(d *deadlines) (int, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.queue) - d.head, d.armed
}

func TestDeadlinesExpireInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = time.Minute
		d := newDeadlines(timeout)
		bg := context.Background()

		first := d.bound(bg)
		ended := d.bound(bg)
		ended.end()
		advance(timeout / 2)
		second := d.bound(bg)
		dl, ok := second.Deadline()
		if want := time.Now().Add(timeout); !ok || !dl.Equal(want) {
			t.Fatalf("Deadline = %v, %v; want %v", dl, ok, want)
		}

		<-first.Done()
		if cause := context.Cause(first); cause != errTimeout || !first.timedOut() {
			t.Fatalf("first: Cause %v, timedOut %v; want errTimeout", cause, first.timedOut())
		}
		if err := second.Err(); err != nil {
			t.Fatalf("second expired with the first: %v", err)
		}
		if err := ended.Err(); !errors.Is(err, context.Canceled) || ended.timedOut() {
			t.Fatalf("ended: Err %v, timedOut %v; want Canceled, not by the timeout", err, ended.timedOut())
		}

		<-second.Done()
		if now := time.Now(); !now.Equal(dl) || !second.timedOut() {
			t.Fatalf("second expired at %v (timedOut %v), want at its deadline %v", now, second.timedOut(), dl)
		}
		second.end() // after expiry: nothing to do, and no panic
		synctest.Wait()
		if n, armed := queued(d); n != 0 || armed {
			t.Fatalf("after every exchange: %d queued, armed %v; want an empty queue, no timer", n, armed)
		}

		// Used again, the queue arms its timer again.
		again := d.bound(bg)
		<-again.Done()
		if !again.timedOut() {
			t.Fatal("an exchange after an idle spell did not expire")
		}
	})
}

func TestDeadlinesEndedExchangesDoNotAccumulate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newDeadlines(time.Hour)
		bg := context.Background()
		slow := d.bound(bg) // holds the head of the queue
		for range 1000 {
			d.bound(bg).end()
		}
		if n, _ := queued(d); n > 64 {
			t.Fatalf("%d entries queued behind one pending exchange; want the ended ones dropped", n)
		}
		out := make([]*exchangeContext, 100)
		for i := range out {
			out[i] = d.bound(bg)
		}
		for i := len(out) - 1; i >= 0; i-- { // out of order
			out[i].end()
		}
		slow.end()
		if n, armed := queued(d); n != 0 || !armed {
			t.Fatalf("%d queued, armed %v; want none queued (the timer stays armed until it fires)", n, armed)
		}
		advance(time.Hour)
		synctest.Wait()
		if _, armed := queued(d); armed {
			t.Fatal("the timer re-armed with nothing queued")
		}
	})
}

func TestDeadlinesStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newDeadlines(time.Minute)
		x := d.bound(context.Background())
		d.stop()
		advance(2 * time.Minute)
		if x.Err() != nil {
			t.Fatal("expired after stop")
		}
		// A later exchange re-arms the timer for the oldest pending deadline.
		y := d.bound(context.Background())
		<-x.Done()
		if !x.timedOut() || y.Err() != nil {
			t.Fatalf("x timedOut %v, y Err %v; want x expired first, y pending", x.timedOut(), y.Err())
		}
		<-y.Done()
		d.stop()
	})
}

type ctxKey struct{}

func TestExchangeContext(t *testing.T) {
	errCause := errors.New("invocation withdrawn")
	synctest.Test(t, func(t *testing.T) {
		d := newDeadlines(time.Minute)

		// The parent's values, the parent's cancellation and its cause.
		parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), ctxKey{}, "v"))
		x := d.bound(parent)
		if x.Value(ctxKey{}) != "v" {
			t.Fatal("the parent's value is not seen")
		}
		cancel(errCause)
		<-x.Done()
		if context.Cause(x) != errCause || x.timedOut() {
			t.Fatalf("Cause %v, timedOut %v; want the parent's cause", context.Cause(x), x.timedOut())
		}
		x.end()

		// A parent whose deadline is sooner gives the deadline.
		soon, cancelSoon := context.WithTimeout(context.Background(), time.Second)
		defer cancelSoon()
		x = d.bound(soon)
		if dl, _ := x.Deadline(); !dl.Equal(time.Now().Add(time.Second)) {
			t.Fatalf("Deadline %v, want the parent's", dl)
		}
		x.end()

		// A context derived from the exchange (as the transport derives one
		// per request) ends with it, by the timeout with its cause.
		x = d.bound(context.Background())
		child, cancelChild := context.WithCancel(x)
		defer cancelChild()
		<-child.Done()
		if context.Cause(child) != errTimeout {
			t.Fatalf("derived context: Cause %v, want errTimeout", context.Cause(child))
		}
		x.end()
		d.stop()
	})
}
