package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Request is one generated request of a message workload: its envelope, and
// the ids its response must carry.
type Request struct {
	EnvelopeID    string
	CorrelationID string
	Raw           []byte
}

// echoOperation is the operation of the echo handler both sides run.
const echoOperation = "bench.echo"

// textPad makes every request the same, realistic size (about 300 bytes).
const textPad = "the quick brown fox jumps over the lazy dog; the quick brown fox jumps over the lazy dog; 0123456789"

// NewRequests generates n request envelopes with fresh ids; the payload of
// request i carries n = i, which its response must echo.
func NewRequests(n int) []Request {
	reqs := make([]Request, n)
	for i := range reqs {
		id, corr := uuid.NewString(), uuid.NewString()
		reqs[i] = Request{EnvelopeID: id, CorrelationID: corr,
			Raw: []byte(`{"envelope_id":"` + id + `","correlation_id":"` + corr + `","operation":"` + echoOperation +
				`","payload":{"n":` + strconv.Itoa(i) + `,"text":"` + textPad + `"},"data_classification":"internal"}`)}
	}
	return reqs
}

// responseView is what the harness checks in a response envelope.
type responseView struct {
	CorrelationID string          `json:"correlation_id"`
	InReplyTo     string          `json:"in_reply_to"`
	Operation     string          `json:"operation"`
	Success       bool            `json:"success"`
	Status        string          `json:"status"`
	Result        json.RawMessage `json:"result"`
	Error         *struct {
		RuleID  string `json:"rule_id"`
		Message string `json:"message"`
	} `json:"error"`
}

// echoResult is the result of the echo handler: the request's payload.
type echoResult struct {
	N    *int   `json:"n"`
	Text string `json:"text"`
}

// Tracker checks the responses of one round of generated requests: each must
// be well formed, answer a request of this round, carry its correlation id and
// echo its payload, exactly once. It also bounds the requests in flight:
// Acquire before sending, and every response releases a slot.
type Tracker struct {
	reqs   []Request
	index  map[string]int
	seen   []atomic.Bool
	got    atomic.Int64
	window chan struct{}
	done   chan struct{}

	mu     sync.Mutex
	errs   []error
	nwrong int
}

// maxErrs bounds the errors a tracker keeps (it still counts them all).
const maxErrs = 5

// NewTracker tracks reqs with at most window requests in flight.
func NewTracker(reqs []Request, window int) *Tracker {
	t := &Tracker{reqs: reqs, index: make(map[string]int, len(reqs)), seen: make([]atomic.Bool, len(reqs)),
		window: make(chan struct{}, window), done: make(chan struct{})}
	for i, r := range reqs {
		t.index[r.EnvelopeID] = i
	}
	if len(reqs) == 0 {
		close(t.done)
	}
	return t
}

// Acquire waits for a free slot in the window.
func (t *Tracker) Acquire(ctx context.Context) error {
	select {
	case t.window <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Record checks one response. It is safe for concurrent use.
func (t *Tracker) Record(raw []byte) {
	select {
	case <-t.window: // a response of any kind frees a slot
	default:
	}
	if err := t.check(raw); err != nil {
		t.fail(err)
	}
	if t.got.Add(1) == int64(len(t.reqs)) {
		close(t.done)
	}
}

func (t *Tracker) check(raw []byte) error {
	var r responseView
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("malformed response %.120q: %v", raw, err)
	}
	i, ok := t.index[r.InReplyTo]
	if !ok {
		return fmt.Errorf("response in reply to unknown request %q", r.InReplyTo)
	}
	if t.seen[i].Swap(true) {
		return fmt.Errorf("duplicate response to request %d (%s)", i, r.InReplyTo)
	}
	if r.CorrelationID != t.reqs[i].CorrelationID {
		return fmt.Errorf("response to request %d has correlation id %q, want %q", i, r.CorrelationID, t.reqs[i].CorrelationID)
	}
	if !r.Success || r.Status != "success" || r.Error != nil {
		msg := "no error object"
		if r.Error != nil {
			msg = r.Error.RuleID + ": " + r.Error.Message
		}
		return fmt.Errorf("request %d failed (status %q): %s", i, r.Status, msg)
	}
	if r.Operation != echoOperation {
		return fmt.Errorf("response to request %d names operation %q, want %s", i, r.Operation, echoOperation)
	}
	var res echoResult
	if err := json.Unmarshal(r.Result, &res); err != nil || res.N == nil || *res.N != i || res.Text != textPad {
		return fmt.Errorf("response to request %d has result %.80s, want its payload echoed", i, r.Result)
	}
	return nil
}

func (t *Tracker) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nwrong++
	if len(t.errs) < maxErrs {
		t.errs = append(t.errs, err)
	}
}

// Wait waits for one response per request, then reports anything wrong: bad
// responses, and requests without a response (lost) once timeout has passed
// without the last one.
func (t *Tracker) Wait(ctx context.Context, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-t.done:
	case <-timer.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	return t.Err()
}

// Err reports what is wrong so far: bad responses and requests not answered.
func (t *Tracker) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	if t.nwrong > 0 {
		errs = append(errs, wrongf("%d bad responses of %d requests", t.nwrong, len(t.reqs)))
		errs = append(errs, t.errs...)
	}
	lost := 0
	for i := range t.seen {
		if !t.seen[i].Load() {
			lost++
		}
	}
	if lost > 0 {
		errs = append(errs, wrongf("%d of %d requests never answered (lost)", lost, len(t.reqs)))
	}
	return errors.Join(errs...)
}
