package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
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

// Tracker collects the responses of one round of generated requests and then
// checks them: each must be well formed, answer a request of this round,
// carry its correlation id and echo its payload, exactly once. Collecting
// costs a lock and an append per response, so the clock of a round measures
// the pipeline, not the checks, which run once the round is over. The
// tracker also bounds the requests in flight: Acquire before sending, and
// every response releases a slot.
type Tracker struct {
	reqs   []Request
	window chan struct{}
	done   chan struct{}

	mu    sync.Mutex
	resps [][]byte // in arrival order; kept, never modified
}

// maxErrs bounds the errors a check reports (it counts them all).
const maxErrs = 5

// NewTracker tracks reqs with at most window requests in flight.
func NewTracker(reqs []Request, window int) *Tracker {
	t := &Tracker{reqs: reqs, resps: make([][]byte, 0, len(reqs)), window: make(chan struct{}, window), done: make(chan struct{})}
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

// Record collects one response; raw is kept and must not be modified. It is
// safe for concurrent use.
func (t *Tracker) Record(raw []byte) {
	select {
	case <-t.window: // a response of any kind frees a slot
	default:
	}
	t.mu.Lock()
	t.resps = append(t.resps, raw)
	n := len(t.resps)
	t.mu.Unlock()
	if n == len(t.reqs) {
		close(t.done)
	}
}

// Wait waits until there are as many responses as requests, or timeout has
// passed (the missing ones then count as lost in Err), or ctx ends.
func (t *Tracker) Wait(ctx context.Context, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-t.done:
	case <-timer.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// Late reports responses beyond one per request, which arrive after a round
// that was complete (duplicates or strays); Err names them.
func (t *Tracker) Late() error {
	t.mu.Lock()
	n := len(t.resps)
	t.mu.Unlock()
	if n > len(t.reqs) {
		return errors.Join(wrongf("%d responses for %d requests", n, len(t.reqs)), t.Err())
	}
	return nil
}

// Err checks every response collected so far and reports what is wrong: bad
// responses, duplicates and strays, and requests not answered (lost).
func (t *Tracker) Err() error {
	t.mu.Lock()
	resps := t.resps[:len(t.resps):len(t.resps)]
	t.mu.Unlock()
	index := make(map[string]int, len(t.reqs))
	for i, r := range t.reqs {
		index[r.EnvelopeID] = i
	}
	seen := make([]bool, len(t.reqs))
	var bad []error
	nbad := 0
	for _, raw := range resps {
		if err := t.check(raw, index, seen); err != nil {
			nbad++
			if len(bad) < maxErrs {
				bad = append(bad, err)
			}
		}
	}
	var errs []error
	if nbad > 0 {
		errs = append(errs, wrongf("%d bad responses of %d requests", nbad, len(t.reqs)))
		errs = append(errs, bad...)
	}
	lost := 0
	for _, ok := range seen {
		if !ok {
			lost++
		}
	}
	if lost > 0 {
		errs = append(errs, wrongf("%d of %d requests never answered (lost)", lost, len(t.reqs)))
	}
	return errors.Join(errs...)
}

func (t *Tracker) check(raw []byte, index map[string]int, seen []bool) error {
	var r responseView
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("malformed response %.120q: %v", raw, err)
	}
	i, ok := index[r.InReplyTo]
	if !ok {
		return fmt.Errorf("response in reply to unknown request %q", r.InReplyTo)
	}
	if seen[i] {
		return fmt.Errorf("duplicate response to request %d (%s)", i, r.InReplyTo)
	}
	seen[i] = true
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
