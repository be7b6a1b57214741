package runtime

import (
	"context"
	"time"

	"github.com/onexhost/onex/handler"
)

// Observer watches the requests the host dispatches; metrics and tracing hook
// in here. For every request the host calls Begin once, then Done once, when
// the request's response is made. A host without an observer (Options.Observer
// nil) pays nothing for the seam.
//
// Both methods run on the goroutine that dispatches the request, except that
// Done runs on a worker's watchdog for a request answered at its deadline while
// its handler still runs. They must be quick and safe for concurrent use.
type Observer interface {
	// Begin is called when a request enters the pipeline: as soon as its
	// envelope is decoded, or just before its error response is made when it
	// is refused earlier (too large, malformed, host not ready). metadata is
	// the envelope's raw metadata object (nil when absent or unreadable),
	// valid only during the call. The context returned is the request's from
	// then on: the handler's invocation context derives from it (a tracer
	// returns one that holds the request's span) and Done receives it.
	Begin(ctx context.Context, start time.Time, metadata []byte) context.Context
	// Done is called exactly once per attempt at a request, with what its
	// response says: a bus request the delivery policy retries is seen once
	// per attempt (its retries and dead letters are counted apart).
	Done(ctx context.Context, r Result)
}

// Result is what an Observer learns about one answered request.
type Result struct {
	// Start is when the request entered the pipeline; Duration is how long it
	// took until its response was made.
	Start    time.Time
	Duration time.Duration
	// Operation and Handler are the route the request took; both are empty
	// when it was refused before routing (malformed, unknown operation), so
	// they only ever hold registered names.
	Operation handler.Command
	Handler   string
	Success   bool
	// RuleID, Message and Retryable describe a failure.
	RuleID    handler.RuleID
	Message   string
	Retryable bool
	// EnvelopeID is the request's envelope_id (generated when it had none);
	// CorrelationID the response's correlation_id.
	EnvelopeID, CorrelationID string
}

// observed reports the outcome of c to the observer, calling Begin first for a
// request refused before it was decoded.
func (h *Host) observed(c *call, out *Outcome, end time.Time) {
	obs := h.opts.Observer
	ctx := c.octx
	if ctx == nil {
		ctx = context.Background()
	}
	if !c.begun {
		ctx = obs.Begin(ctx, c.start, nil)
		c.octx, c.begun = ctx, true
	}
	r := Result{
		Start: c.start, Duration: end.Sub(c.start), Success: out.Success,
		RuleID: out.RuleID, Message: out.Message, Retryable: out.Retryable,
		EnvelopeID: c.envelopeID(), CorrelationID: out.CorrelationID,
	}
	if c.r != nil {
		r.Operation, r.Handler = c.r.op, c.r.e.desc.Name
	}
	obs.Done(ctx, r)
}
