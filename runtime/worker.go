package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/runtime/delivery"
)

// ErrNotAccepting is returned by Submit when the host is not started or stops.
var ErrNotAccepting = errors.New("runtime: host is not accepting requests")

// job is one queued request: from the bus (d) or from a bridge (reply).
type job struct {
	raw   []byte
	d     *bus.Delivery
	reply func(resp []byte, out *Outcome)
}

// intake guards the work queue: senders hold it shared while sending, Stop
// takes it to close the queue once no send is in progress.
type intake struct {
	mu     sync.RWMutex
	closed bool
}

// Submit queues a request envelope for the host's workers. It returns once
// the request is queued, blocking while max_concurrency requests are queued
// or in progress (back-pressure) until ctx ends. reply is then called exactly
// once, from a worker, with the response (valid only during the call: copy it
// to keep it). Unlike Dispatch, a handler that overruns its deadline is
// answered HANDLER-002 at the deadline, without waiting for it. raw must not
// be modified afterwards.
func (h *Host) Submit(ctx context.Context, raw []byte, reply func(resp []byte, out *Outcome)) error {
	if reply == nil {
		return errors.New("runtime: Submit needs a reply function")
	}
	return h.enqueue(ctx, job{raw: raw, reply: reply})
}

// enqueue queues j for the workers. It blocks while max_concurrency requests
// are queued or in progress (each holds a unit of busy).
//
// Workers take requests from one queue and only go idle when it is empty, so
// a steady stream costs no goroutine wake-up per request. An idle worker is
// woken only when no other is waking already (the one woken wakes the next if
// requests are still waiting once it runs), and the one that went idle last
// goes first: a host with a large max_concurrency and quick handlers runs on
// about as many warm workers as it has cores, while handlers that block let
// the waiting requests wake more workers, up to max_concurrency. Workers
// never needed are never started.
func (h *Host) enqueue(ctx context.Context, j job) error {
	h.in.mu.RLock()
	defer h.in.mu.RUnlock()
	if h.in.closed || h.busy == nil {
		return ErrNotAccepting
	}
	if err := h.acquireBusy(ctx); err != nil {
		return fmt.Errorf("runtime: request not queued: %w", err)
	}
	h.qmu.Lock()
	h.queue.push(j)
	if h.waking == 0 {
		h.wakeLocked()
	}
	h.qmu.Unlock()
	return nil
}

// wakeLocked wakes the idle worker that went idle last, starting its
// goroutine on first use, if any worker is idle. The caller holds qmu.
func (h *Host) wakeLocked() {
	n := len(h.idle) - 1
	if n < 0 {
		return // every worker is busy: the first to finish takes the queue
	}
	w := h.idle[n]
	h.idle[n] = nil
	h.idle = h.idle[:n]
	h.waking++
	if !w.started {
		// A goroutine started here is added to workerWG while the
		// starting one (or enqueue, under in.mu) keeps the count above
		// zero: stopWorkers waits only after intake closed.
		w.started = true
		h.workerWG.Add(1)
		go w.run()
		return
	}
	w.wake <- struct{}{} // room for one: the worker was idle
}

// acquireBusy takes one unit of max_concurrency: at once when one is free,
// even under a context that has ended, else waiting until one is released or
// ctx ends.
func (h *Host) acquireBusy(ctx context.Context) error {
	if h.busy.TryAcquire(1) {
		return nil
	}
	return h.busy.Acquire(ctx, 1)
}

// onDelivery is the host's bus subscription: it queues the delivery for the
// workers (blocking while they are busy, which holds the bus back).
func (h *Host) onDelivery(ctx context.Context, d *bus.Delivery) {
	if err := h.enqueue(ctx, job{raw: d.Value, d: d}); err != nil {
		// Not acknowledged: a bus with redelivery offers it again.
		h.log.Warn("delivery not processed", "topic", d.Topic, "partition", d.Partition, "offset", d.Offset, "error", err.Error())
	}
}

// startWorkers makes max_concurrency workers, all idle; their goroutines
// start when they are first woken.
func (h *Host) startWorkers() {
	n := h.cfg.MaxConcurrency
	h.busy = semaphore.NewWeighted(int64(n))
	h.workers = make([]*worker, n)
	h.idle = make([]*worker, n)
	for i := range h.workers {
		w := &worker{h: h, wake: make(chan struct{}, 1)}
		h.workers[i] = w
		h.idle[n-1-i] = w // workers[0] on top
	}
}

// stopWorkers stops intake once no enqueue is in progress and waits for the
// workers to finish the queued requests.
func (h *Host) stopWorkers() {
	h.in.mu.Lock()
	stop := !h.in.closed && h.busy != nil
	h.in.closed = true
	h.in.mu.Unlock()
	if stop {
		h.qmu.Lock()
		h.qclosed = true
		// Idle workers wake to find the queue closed; busy ones see it
		// once the queue is empty.
		for len(h.idle) > 0 && h.idle[len(h.idle)-1].started {
			h.wakeLocked()
		}
		h.qmu.Unlock()
	}
	h.workerWG.Wait()
}

// abandon answers every request still in progress (HANDLER-004, retryable)
// when the drain timed out; their results are discarded when they return, and
// requests still queued are answered without invocation.
func (h *Host) abandon() {
	h.draining.Store(true)
	for _, w := range h.workers {
		w.answerFor(ruleid.HandlerUnavailable, "the host stopped before handler %s returned (drain_timeout %s)", h.cfg.DrainTimeout)
	}
}

// worker runs requests one at a time. Its watchdog answers a request whose
// handler is still running past its deadline, so a request is answered even
// when the handler ignores its context.
type worker struct {
	h       *Host
	wake    chan struct{} // signalled when the worker is woken from idle
	started bool          // its goroutine runs; under Host.qmu
	timer   *time.Timer
	buf     []byte
	st      *scratch
	out     Outcome
	send    sendBuf

	mu       sync.Mutex
	cur      job
	armed    bool
	answered bool
	c        call
	fireAt   time.Time // when the request in progress is answered for
	pending  bool      // the timer is set, to fire at timerAt
	timerAt  time.Time
}

// run takes requests from the queue until it is empty and closed; it starts
// as a woken worker.
func (w *worker) run() {
	h := w.h
	defer h.workerWG.Done()
	w.buf = make([]byte, 0, 512)
	w.st = newScratch()
	w.mu.Lock()
	w.timer = time.AfterFunc(time.Hour, w.expire)
	w.timer.Stop()
	w.mu.Unlock()
	defer w.timer.Stop()
	h.qmu.Lock()
	h.waking--
	for {
		j, ok := h.queue.pop()
		if !ok {
			if h.qclosed {
				h.qmu.Unlock()
				return
			}
			h.idle = append(h.idle, w)
			h.qmu.Unlock()
			<-w.wake
			h.qmu.Lock()
			h.waking--
			continue
		}
		if h.queue.len() > 0 && h.waking == 0 {
			h.wakeLocked() // more waiting: one more worker joins
		}
		h.qmu.Unlock()
		w.process(j)
		h.busy.Release(1)
		h.qmu.Lock()
	}
}

func (w *worker) process(j job) {
	h := w.h
	w.mu.Lock()
	w.cur = j
	w.mu.Unlock()
	out := &w.out
	*out = Outcome{}
	h.dispatch(h.runCtx, j.raw, w.buf[:0], w, w.st, out)
	if out.Response == nil {
		return // answered by the watchdog
	}
	w.buf = out.Response[:0]
	// delivery.Settles, asked without making a Failure: a request that is
	// simply answered costs nothing more.
	if j.d != nil && !out.Success && h.delivery != nil && (out.Retryable || delivery.Poison(out.RuleID)) && !w.settle(j) {
		return
	}
	h.deliver(j, out, &w.send)
}

// settle applies the delivery policy to the bus request j, whose attempt
// failed: retries on this worker, then the dead letter. It returns false
// when the request must not be answered here: answered by the watchdog
// already, or left unacknowledged for the bus to deliver again.
func (w *worker) settle(j job) bool {
	h, out := w.h, &w.out
	answered := false
	again := func() *delivery.Failure {
		*out = Outcome{}
		h.dispatch(h.runCtx, j.raw, w.buf[:0], w, w.st, out)
		if out.Response == nil {
			answered = true
			return nil
		}
		w.buf = out.Response[:0]
		if out.Success {
			return nil
		}
		return out.failure()
	}
	if _, err := h.delivery.Settle(h.runCtx, j.d, out.failure(), again); err != nil {
		h.log.Error("delivery left unacknowledged", "topic", j.d.Topic, "partition", j.d.Partition, "offset", j.d.Offset, "error", err.Error())
		return false
	}
	return !answered
}

// failure is the delivery policy's view of a failed outcome.
func (out *Outcome) failure() *delivery.Failure {
	return &delivery.Failure{RuleID: out.RuleID, Message: out.Message, Retryable: out.Retryable,
		Operation: out.Operation, Handler: out.Handler, CorrelationID: out.CorrelationID}
}

// sendBuf holds the parts of one response message besides its value. A
// worker reuses its own: buses copy what they keep of a published message.
type sendBuf struct {
	cid  []byte
	hs   [2]bus.Header
	msgs [1]bus.Message
}

// deliver hands the response of j to its requester: published to the response
// topic (then the delivery is acknowledged) or passed to the bridge's reply.
// sb is the caller's scratch.
func (h *Host) deliver(j job, out *Outcome, sb *sendBuf) {
	if j.reply != nil {
		j.reply(out.Response, out)
		return
	}
	sb.cid = append(sb.cid[:0], out.CorrelationID...) // the key and a header
	msg := bus.Message{Topic: h.cfg.ResponseTopic, Key: sb.cid, Value: out.Response,
		Headers: responseHeaders(j, out, sb)}
	// runCtx is the host's, never an invocation's: the runtime publishes.
	if ap, ok := h.bus.(bus.AsyncPublisher); ok {
		// The worker moves on while the broker stores the response; the
		// delivery is acknowledged only once it has.
		d, corr := j.d, out.CorrelationID
		ap.PublishAsync(h.runCtx, msg, func(err error) {
			if err != nil {
				h.log.Error("response not published; delivery left unacknowledged", "topic", h.cfg.ResponseTopic, "correlation_id", corr, "error", err.Error())
				return
			}
			d.Ack()
		})
		return
	}
	sb.msgs[0] = msg
	if err := h.bus.Publish(h.runCtx, sb.msgs[:]...); err != nil {
		h.log.Error("response not published; delivery left unacknowledged", "topic", h.cfg.ResponseTopic, "correlation_id", out.CorrelationID, "error", err.Error())
		return
	}
	j.d.Ack()
}

// grace is how long after its deadline a running handler is answered for.
func grace(timeout time.Duration) time.Duration {
	return min(max(timeout/20, 10*time.Millisecond), time.Second)
}

// arm watches the request in progress: it is answered at its deadline plus
// a grace period unless its handler returned by then. The worker's one timer
// is moved only when it would fire too late for this request; otherwise it
// stays set from an earlier request and, when it fires early, is set again for
// the request in progress. A steady stream of requests costs no timer
// operation per request.
func (w *worker) arm(c call, deadline time.Time) {
	fire := deadline.Add(grace(c.r.e.timeout))
	w.mu.Lock()
	w.armed, w.answered, w.c, w.fireAt = true, false, c, fire
	if !w.pending || fire.Before(w.timerAt) {
		w.timer.Reset(time.Until(fire))
		w.pending, w.timerAt = true, fire
	}
	w.mu.Unlock()
}

// disarm ends the watch and reports whether the watchdog answered already.
// The timer stays set: when it fires, nothing is armed, or the request then
// in progress is watched from there.
func (w *worker) disarm() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = false
	return w.answered
}

// expire is the timer's function: it answers the request in progress when
// its time is up, or sets the timer again for it.
func (w *worker) expire() {
	w.mu.Lock()
	w.pending = false
	if !w.armed || w.answered {
		w.mu.Unlock()
		return
	}
	if now := time.Now(); now.Before(w.fireAt) {
		// Set for an earlier request: watch this one.
		w.timer.Reset(w.fireAt.Sub(now))
		w.pending, w.timerAt = true, w.fireAt
		w.mu.Unlock()
		return
	}
	w.mu.Unlock()
	w.answerFor(ruleid.HandlerTimeout, "handler %s did not return within its deadline (%s); answered without its result", 0)
}

// answerFor answers the request in progress, if any and not answered yet.
func (w *worker) answerFor(rule handler.RuleID, format string, limit time.Duration) {
	w.mu.Lock()
	if !w.armed || w.answered {
		w.mu.Unlock()
		return
	}
	w.answered = true
	c, j := w.c, w.cur
	w.mu.Unlock()
	if limit == 0 {
		limit = c.r.e.timeout
	}
	var out Outcome
	h := w.h
	// The worker may be dispatching again by now: not its id source.
	st := h.scratch.Get().(*scratch)
	defer h.scratch.Put(st)
	c.gen = st.ids
	h.fail(&c, make([]byte, 0, 512), &out, &failure{rule: rule, retryable: true,
		msg: fmt.Sprintf(format, c.r.e.desc.Name, limit)})
	c.r.log.Warn("request answered while its handler still runs", "rule_id", rule, "correlation_id", c.correlationID())
	h.deliver(j, &out, new(sendBuf))
}

// responseHeaders carry the correlation id and the request's W3C traceparent
// (from the request's headers, else its metadata) on the response record, so
// that consumers can route and trace without decoding the value.
func responseHeaders(j job, out *Outcome, sb *sendBuf) []bus.Header {
	hs := sb.hs[:1]
	hs[0] = bus.Header{Key: "correlation_id", Value: sb.cid}
	if tp, ok := j.d.Header("traceparent"); ok && len(tp) > 0 {
		return append(hs, bus.Header{Key: "traceparent", Value: tp})
	}
	meta := out.Metadata
	if !out.read { // answered outside the pipeline (watchdog, drain): read it again
		var v envelope.View
		if envelope.Parse(j.raw, &v) == nil {
			meta = v.Metadata
		}
	}
	if meta == nil || !bytes.Contains(meta, []byte(`"traceparent"`)) {
		return hs
	}
	var md struct {
		Traceparent string `json:"traceparent"`
	}
	if json.Unmarshal(meta, &md) == nil && md.Traceparent != "" {
		hs = append(hs, bus.Header{Key: "traceparent", Value: []byte(md.Traceparent)})
	}
	return hs
}

// jobQueue is a FIFO of requests, a ring that grows as needed (never beyond
// max_concurrency: each queued request holds a unit of busy).
type jobQueue struct {
	buf  []job
	head int
	n    int
}

func (q *jobQueue) len() int { return q.n }

func (q *jobQueue) push(j job) {
	if q.n == len(q.buf) {
		grown := make([]job, max(16, 2*len(q.buf)))
		for i := 0; i < q.n; i++ {
			grown[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = grown, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = j
	q.n++
}

func (q *jobQueue) pop() (job, bool) {
	if q.n == 0 {
		return job{}, false
	}
	j := q.buf[q.head]
	q.buf[q.head] = job{} // the queue keeps no request alive
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return j, true
}
