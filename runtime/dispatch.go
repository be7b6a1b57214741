package runtime

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/suggest"
	"github.com/onexhost/onex/internal/text"
)

// Outcome is the result of dispatching one request: the encoded response and
// what a bus needs to decide on retries and dead letters.
type Outcome struct {
	// Response is the response envelope: one line of JSON, without newline.
	Response []byte
	Success  bool
	// RuleID, Message and Retryable describe a failure.
	RuleID    handler.RuleID
	Message   string
	Retryable bool
	// Operation and Handler are the route the request took, if any.
	Operation handler.Command
	Handler   string
	// CorrelationID is the response's correlation id.
	CorrelationID string
	// Metadata is the request's metadata object as sent (a slice of the
	// request), when the request was readable and had one.
	Metadata []byte

	// read is set by the pipeline, which parses the request once (Metadata
	// is then all there is to know); a response made outside it (the
	// watchdog's, the drain's) parses the request for its metadata.
	read bool
}

// Dispatch runs one request envelope through the pipeline on the calling
// goroutine and returns its response envelope (one line of JSON). Every call
// returns exactly one response: malformed and refused requests, handler errors,
// panics and timeouts are answered with a structured error. Dispatch keeps
// references into raw (the payload handed to the handler): the caller must not
// modify raw afterwards.
//
// The invocation's deadline reaches the handler through its context; a handler
// that ignores its context keeps the caller waiting until it returns (and is
// then answered HANDLER-002). Submit answers such requests at the deadline.
func (h *Host) Dispatch(ctx context.Context, raw []byte) []byte {
	var out Outcome
	h.inflight.Add(1)
	defer h.inflight.Done()
	st := h.scratch.Get().(*scratch)
	// The response buffer is sized after the last response of this scratch:
	// usually one allocation of about the response's size, without a copy.
	h.dispatch(ctx, raw, make([]byte, 0, st.respSize), nil, st, &out)
	st.respSize = max(len(out.Response), minResponseSize)
	h.scratch.Put(st)
	return out.Response
}

// minResponseSize is the least capacity Dispatch allocates for a response.
const minResponseSize = 256

// DispatchOutcome is Dispatch with the whole Outcome; the response is appended
// to buf.
func (h *Host) DispatchOutcome(ctx context.Context, raw []byte, buf []byte) Outcome {
	var out Outcome
	h.inflight.Add(1)
	defer h.inflight.Done()
	st := h.scratch.Get().(*scratch)
	h.dispatch(ctx, raw, buf, nil, st, &out)
	h.scratch.Put(st)
	return out
}

// call is the state of one request in the pipeline.
type call struct {
	start     time.Time
	gen       *idSource // the dispatching goroutine's, for new ids
	idbuf     [72]byte  // request envelope_id + correlation_id, canonical, 36 bytes each
	ids       string    // idbuf as a string, once one is needed (idString)
	envNote   string    // why the request's envelope_id was replaced
	corrNote  string    // why its correlation_id was replaced
	operation string    // as sent, for error responses
	r         *route
	octx      context.Context // the request's context for Options.Observer
	begun     bool            // Observer.Begin was called
}

// idString returns the ids as one string. A request that reaches its handler
// has it already, made with its invocation context (invoke); others make it
// here.
func (c *call) idString() string {
	if c.ids == "" {
		c.ids = string(c.idbuf[:])
	}
	return c.ids
}

func (c *call) envelopeID() string    { return c.idString()[:36] }
func (c *call) correlationID() string { return c.idString()[36:] }

// failure is a refused or failed request.
type failure struct {
	rule      handler.RuleID
	msg       string
	hint      string // overrides the catalog's remediation when set
	retryable bool
	details   map[string]any
}

// dispatch runs raw through the pipeline into out, appending the response to
// buf; w is the worker running it, if any, and st the caller's scratch (the
// worker's own, or one borrowed from the host).
func (h *Host) dispatch(ctx context.Context, raw []byte, buf []byte, w *worker, st *scratch, out *Outcome) {
	c := call{start: st.clock.now(), gen: st.ids}
	out.read = true
	if h.opts.Observer != nil {
		c.octx = ctx
	}
	h.stats.requests.Add(1)
	if s := state(h.state.Load()); s != stateReady && s != stateStopping {
		c.setIDs(nil)
		h.fail(&c, buf, out, &failure{rule: ruleid.HandlerUnavailable, msg: "the host is " + s.String(), retryable: true})
		return
	}
	if len(raw) > h.cfg.MaxEnvelopeBytes {
		c.setIDs(nil)
		h.fail(&c, buf, out, &failure{rule: ruleid.EnvelopeTooLarge,
			msg:     fmt.Sprintf("envelope of %d bytes exceeds runtime.max_envelope_bytes (%d); it was not read", len(raw), h.cfg.MaxEnvelopeBytes),
			details: map[string]any{"size": len(raw), "limit": h.cfg.MaxEnvelopeBytes}})
		return
	}
	var v envelope.View
	if err := envelope.Parse(raw, &v); err != nil {
		c.setIDs(&v)
		f := &failure{rule: ruleid.EnvelopeMalformed, msg: err.Error()}
		var se *envelope.SyntaxError
		if errors.As(err, &se) && se.Field != "" {
			f.details = map[string]any{"field": se.Field}
		}
		h.fail(&c, buf, out, f)
		return
	}
	c.setIDs(&v)
	out.Metadata = v.Metadata
	if obs := h.opts.Observer; obs != nil {
		ctx = obs.Begin(ctx, c.start, v.Metadata)
		c.octx, c.begun = ctx, true
	}
	if h.draining.Load() {
		h.fail(&c, buf, out, &failure{rule: ruleid.HandlerUnavailable, retryable: true,
			msg: fmt.Sprintf("the host stopped before the request was invoked (drain_timeout %s)", h.cfg.DrainTimeout)})
		return
	}
	if len(v.Operation) == 0 {
		h.fail(&c, buf, out, &failure{rule: ruleid.EnvelopeNoOperation, msg: "the envelope has no operation"})
		return
	}
	// The handler set is held until the invocation returns: a reload that
	// replaces it meanwhile closes its handlers only after that.
	set := h.acquire()
	defer set.release()
	r, ok := set.routes[string(v.Operation)]
	if !ok {
		c.operation = printable(v.Operation)
		h.fail(&c, buf, out, h.unknownOperation(set, c.operation))
		return
	}
	c.r = r
	if v.Handler != nil && string(v.Handler) != r.e.desc.Name {
		name := printable(v.Handler)
		h.fail(&c, buf, out, &failure{rule: ruleid.EnvelopeWrongHandler,
			msg:     fmt.Sprintf("handler %q does not accept operation %s; %s does", name, r.op, r.e.desc.Name),
			details: map[string]any{"handler": name, "accepted_by": r.e.desc.Name}})
		return
	}
	class := h.cfg.DefaultDataClassification
	if v.DataClassification != nil {
		if class = classificationOf(v.DataClassification); class == handler.ClassificationUnset {
			name := printable(v.DataClassification)
			h.fail(&c, buf, out, &failure{rule: ruleid.EnvelopeClassification,
				msg:     fmt.Sprintf("unknown data_classification %q (valid: public, internal, confidential, restricted, secret)", name),
				details: map[string]any{"data_classification": name}})
			return
		}
	}
	if r.e.status != StatusRegistered {
		f := &failure{rule: ruleid.HandlerUnavailable, msg: fmt.Sprintf("handler %s is unavailable: it failed to initialise", r.e.desc.Name), retryable: false}
		if r.e.err != nil {
			f.details = map[string]any{"cause": r.e.err.Message}
		}
		h.fail(&c, buf, out, f)
		return
	}
	if class.Exceeds(r.e.class) {
		h.fail(&c, buf, out, &failure{rule: ruleid.SecurityClassification,
			msg:     fmt.Sprintf("envelope classified %s is above handler %s's classification %s; the handler was not invoked", class, r.e.desc.Name, r.e.class),
			details: map[string]any{"data_classification": class.String(), "handler_classification": r.e.class.String()}})
		return
	}
	if g := r.e.guard; g != nil {
		if refusal := g.Admit(c.start); refusal != nil {
			h.fail(&c, buf, out, &failure{rule: refusal.RuleID, msg: refusal.Message, hint: refusal.RemediationHint,
				retryable: true, details: refusal.Details})
			return
		}
	}
	h.invoke(ctx, &c, &v, class, buf, w, st, out)
}

// setIDs takes the request's ids from v when they are UUIDs, or makes new ones
// (noting why, for failed responses).
func (c *call) setIDs(v *envelope.View) {
	var env, corr []byte
	if v != nil {
		env, corr = v.EnvelopeID, v.CorrelationID
	}
	c.envNote = c.putID(c.idbuf[:36], env, "envelope_id")
	c.corrNote = c.putID(c.idbuf[36:], corr, "correlation_id")
	c.ids = ""
}

func (c *call) putID(dst []byte, id []byte, field string) (note string) {
	if id != nil {
		if canonicalUUID(id) {
			copy(dst, id)
			return ""
		}
		if u, err := uuid.ParseBytes(id); err == nil {
			envelope.AppendUUID(dst[:0], u) // other accepted spellings, canonicalised
			return ""
		}
		note = fmt.Sprintf("%s %q is not a UUID; a new one was generated", field, text.Truncate(printable(id), 80))
	}
	envelope.AppendUUID(dst[:0], c.gen.newUUID())
	return note
}

// canonicalUUID reports whether b is a UUID in canonical form (lowercase hex,
// 8-4-4-4-12): the form clients send and responses carry, accepted without
// parsing. Any other spelling goes through uuid.ParseBytes. Five overlapping
// eight-byte words cover the 36 bytes; the four dashes are checked and then
// read as '0', so every word is tested for lowercase hex at once.
func canonicalUUID(b []byte) bool {
	if len(b) != 36 {
		return false
	}
	w1, w2 := binary.LittleEndian.Uint64(b[8:]), binary.LittleEndian.Uint64(b[16:])
	// Dashes at 8 and 13 (bytes 0 and 5 of w1), 18 and 23 (bytes 2 and 7 of w2).
	const m1, m2 = 0xff | 0xff<<40, 0xff<<16 | 0xff<<56
	if w1&m1 != '-'|'-'<<40 || w2&m2 != '-'<<16|'-'<<56 {
		return false
	}
	w1 = w1&^m1 | '0' | '0'<<40
	w2 = w2&^m2 | '0'<<16 | '0'<<56
	return lowerHexWord(binary.LittleEndian.Uint64(b)) && lowerHexWord(w1) && lowerHexWord(w2) &&
		lowerHexWord(binary.LittleEndian.Uint64(b[24:])) && lowerHexWord(binary.LittleEndian.Uint64(b[28:]))
}

// lowerHexWord reports whether each byte of w is 0-9 or a-f. With every byte
// below 0x80, adding 0x80-c to a byte sets its high bit exactly when it is at
// least c, and never carries into the next byte.
func lowerHexWord(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	if w&highs != 0 {
		return false
	}
	digit := (w + ones*(0x80-'0')) &^ (w + ones*(0x80-'9'-1))
	letter := (w + ones*(0x80-'a')) &^ (w + ones*(0x80-'f'-1))
	return (digit|letter)&highs == highs
}

func classificationOf(b []byte) handler.Classification {
	switch string(b) {
	case "public":
		return handler.ClassificationPublic
	case "internal":
		return handler.ClassificationInternal
	case "confidential":
		return handler.ClassificationConfidential
	case "restricted":
		return handler.ClassificationRestricted
	case "secret":
		return handler.ClassificationSecret
	}
	return handler.ClassificationUnset
}

func (h *Host) unknownOperation(set *handlerSet, op string) *failure {
	f := &failure{rule: ruleid.EnvelopeUnknownOperation, details: map[string]any{"operation": op}}
	if !handler.Command(op).Valid() {
		f.msg = fmt.Sprintf("operation %q is not a command (<namespace>.<verb>, %s)", op, handler.CommandPattern)
		return f
	}
	f.msg = fmt.Sprintf("no registered handler accepts operation %q%s", op, suggest.Hint(op, set.ops))
	if s, ok := suggest.Closest(op, set.ops); ok {
		f.details["did_you_mean"] = s
	}
	return f
}

// scratch is what a dispatch reuses from one request to the next: the
// Invocation (reset per call), a logger that adds the correlation id, the id
// source and buffers. Each worker owns one; Dispatch borrows one from the
// host's pool. It serves one dispatch at a time.
type scratch struct {
	inv      *handler.Invocation
	lh       corrHandler
	log      *slog.Logger
	ids      *idSource
	clock    clock
	res      []byte // the handler's result, encoded
	respSize int    // the size of the last response Dispatch made
}

func newScratch() *scratch {
	s := &scratch{inv: handler.NewInvocation(handler.InvocationParams{}), ids: newIDSource(), respSize: minResponseSize}
	s.lh.inner = slog.DiscardHandler
	s.log = slog.New(&s.lh)
	return s
}

// corrHandler adds the correlation id to every record of an invocation's
// logger. It is pooled with the invocation, so tagging costs nothing unless
// the handler logs.
type corrHandler struct {
	inner slog.Handler
	corr  string
}

func (c *corrHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return c.inner.Enabled(ctx, l)
}

func (c *corrHandler) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(slog.String("correlation_id", c.corr))
	return c.inner.Handle(ctx, r)
}

func (c *corrHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &corrHandler{inner: c.inner.WithAttrs(as), corr: c.corr}
}

func (c *corrHandler) WithGroup(name string) slog.Handler {
	return &corrHandler{inner: c.inner.WithGroup(name), corr: c.corr}
}

func (h *Host) invoke(ctx context.Context, c *call, v *envelope.View, class handler.Classification, buf []byte, w *worker, st *scratch, out *Outcome) {
	// max_concurrency bounds the invocations of workers and synchronous
	// dispatches together: a worker holds one unit of busy already,
	// a synchronous dispatch takes one for its invocation (leaving a worker
	// idle meanwhile).
	if w == nil {
		if err := h.acquireBusy(ctx); err != nil {
			h.fail(c, buf, out, &failure{rule: ruleid.HandlerUnavailable, retryable: true,
				msg: fmt.Sprintf("no invocation capacity before the request was canceled (runtime.max_concurrency %d): %v", h.cfg.MaxConcurrency, err)})
			return
		}
	}
	e := c.r.e
	deadline := c.start.Add(e.timeout)
	// The ids' string lives in the invocation context's allocation.
	ictx := newInvocationContext(ctx, deadline, &c.idbuf)
	c.ids = ictx.idString()
	st.lh.inner, st.lh.corr = c.r.log.Handler(), c.correlationID()
	st.inv.Reset(handler.InvocationParams{
		HandlerName:    e.desc.Name,
		Operation:      c.r.op,
		Payload:        v.Payload,
		EnvelopeID:     c.envelopeID(),
		CorrelationID:  c.correlationID(),
		Classification: class,
		Logger:         st.log,
		Deadline:       deadline,
		Capabilities:   e.caps,
	})
	if w != nil {
		w.arm(*c, deadline)
	}
	h.stats.inflight.Add(1)
	output, err, panicked := callHandler(ictx, e.h, st.inv)
	h.stats.inflight.Add(-1)
	ictx.finish()
	if w == nil {
		h.busy.Release(1)
	}
	took := time.Since(c.start) // one reading of the monotonic clock
	if w != nil && w.disarm() {
		// The watchdog answered at the deadline; this late result goes nowhere.
		c.r.log.Warn("late result discarded: the request was answered at its deadline",
			"correlation_id", c.correlationID(), "duration_ms", took.Milliseconds())
		st.inv.Reset(handler.InvocationParams{})
		out.Response = nil
		return
	}
	var f *failure
	switch {
	case panicked != nil:
		f = &failure{rule: ruleid.HandlerPanic, msg: fmt.Sprintf("handler %s panicked", e.desc.Name),
			details: map[string]any{"panic": text.Truncate(fmt.Sprint(panicked.value), 200)}}
		c.r.log.Error("handler panicked", "correlation_id", c.correlationID(), "panic", text.Truncate(fmt.Sprint(panicked.value), 200), "stack", string(panicked.stack))
	case err != nil:
		f = h.handlerFailure(e, err, took >= e.timeout, ctx)
	default:
		res, rerr := envelope.AppendResult(st.res[:0], output.Result)
		st.res = res
		if rerr != nil {
			f = &failure{rule: ruleid.HandlerError, msg: fmt.Sprintf("handler %s returned a result that cannot be encoded as JSON: %v", e.desc.Name, rerr)}
			break
		}
		if e.guard != nil {
			e.guard.Record(c.start.Add(took), false)
		}
		h.stats.succeeded.Add(1)
		// The ids are canonical UUIDs (setIDs), the route's fields encoded
		// once: nothing here needs escaping.
		out.Response = envelope.AppendSuccess(buf, c.gen.newUUID(), c.correlationID(), c.envelopeID(), c.r.fields, res, took.Microseconds())
		out.Success, out.Operation, out.Handler, out.CorrelationID = true, c.r.op, e.desc.Name, c.correlationID()
		if h.opts.Observer != nil {
			h.observed(c, out, c.start.Add(took))
		}
		st.inv.Reset(handler.InvocationParams{})
		return
	}
	if og, ok := e.guard.(OutcomeGuard); ok {
		og.RecordOutcome(c.start.Add(took), f.rule != ruleid.HandlerPayloadRejected, f.retryable)
	} else if e.guard != nil {
		e.guard.Record(c.start.Add(took), f.rule != ruleid.HandlerPayloadRejected)
	}
	st.inv.Reset(handler.InvocationParams{})
	h.fail(c, buf, out, f)
}

type panicValue struct {
	value any
	stack []byte
}

// callHandler runs Handle under a context marked as an invocation, turning a
// panic into a value.
func callHandler(ctx context.Context, hd handler.Handler, inv *handler.Invocation) (out handler.Output, err error, p *panicValue) {
	defer func() {
		if r := recover(); r != nil {
			p = &panicValue{value: r, stack: debug.Stack()}
		}
	}()
	out, err = hd.Handle(ctx, inv)
	return out, err, nil
}

// handlerFailure maps a handler's error to a response failure: a rejected
// payload (HANDLER-006), a policy denial through a capability (its SECURITY
// rule), a timeout (HANDLER-002), a canceled invocation (HANDLER-004), any
// other error (HANDLER-001, retryable when the handler says so).
func (h *Host) handlerFailure(e *entry, err error, pastDeadline bool, parent context.Context) *failure {
	var he *handler.Error
	isHE := errors.As(err, &he)
	if isHE && he.Kind == handler.KindInvalidPayload {
		f := &failure{rule: ruleid.HandlerPayloadRejected, msg: he.Error(), hint: he.Hint, details: cloneDetails(he.Details)}
		if he.Field != "" {
			f.details = withDetail(f.details, "field", he.Field)
		}
		return f
	}
	var ve *diag.ValidationError
	if errors.As(err, &ve) && ve.RuleID.Valid() {
		return &failure{rule: ve.RuleID, msg: ve.Message, hint: ve.RemediationHint, details: cloneDetails(ve.Details)}
	}
	if errors.Is(err, context.DeadlineExceeded) || pastDeadline {
		return &failure{rule: ruleid.HandlerTimeout, retryable: true,
			msg:     fmt.Sprintf("handler %s did not finish within %s", e.desc.Name, e.timeout),
			details: map[string]any{"timeout": e.timeout.String()}}
	}
	if errors.Is(err, context.Canceled) && parent.Err() != nil {
		return &failure{rule: ruleid.HandlerUnavailable, retryable: true, msg: fmt.Sprintf("invocation of %s canceled: %v", e.desc.Name, parent.Err())}
	}
	if isHE {
		msg := he.Message
		if msg == "" {
			msg = "handler failed"
		}
		f := &failure{rule: ruleid.HandlerError, msg: msg, hint: he.Hint, retryable: he.Retryable, details: cloneDetails(he.Details)}
		if he.Field != "" {
			f.details = withDetail(f.details, "field", he.Field)
		}
		return f
	}
	return &failure{rule: ruleid.HandlerError, msg: text.Truncate(err.Error(), 1000)}
}

func cloneDetails(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func withDetail(m map[string]any, k string, v any) map[string]any {
	if m == nil {
		m = map[string]any{}
	}
	m[k] = v
	return m
}

// fail writes the error response of f.
func (h *Host) fail(c *call, buf []byte, out *Outcome, f *failure) {
	rule, ok := diag.Lookup(f.rule)
	if !ok {
		rule = diag.Rule{ID: f.rule, ErrorType: handler.ErrInvocation}
	}
	hint := f.hint
	if hint == "" {
		hint = rule.Remediation
	}
	if c.envNote != "" {
		f.details = withDetail(f.details, "envelope_id_replaced", c.envNote)
	}
	if c.corrNote != "" {
		f.details = withDetail(f.details, "correlation_id_replaced", c.corrNote)
	}
	resp := envelope.Response{
		CorrelationID: c.correlationID(),
		Operation:     c.operation,
		Success:       false,
		DurationUS:    time.Since(c.start).Microseconds(),
		Error: &envelope.Error{
			RuleID: string(f.rule), ErrorType: string(rule.ErrorType), Message: f.msg,
			RemediationHint: hint, Retryable: f.retryable, Details: f.details,
		},
	}
	if c.envNote == "" {
		resp.InReplyTo = c.envelopeID()
	}
	if c.r != nil {
		resp.Operation, resp.Handler = string(c.r.op), c.r.e.desc.Name
		out.Operation, out.Handler = c.r.op, c.r.e.desc.Name
	}
	h.stats.fail(f.rule)
	out.Response = envelope.AppendResponseID(buf, c.gen.newUUID(), &resp)
	out.Success, out.RuleID, out.Message, out.Retryable, out.CorrelationID = false, f.rule, f.msg, f.retryable, resp.CorrelationID
	if h.opts.Observer != nil {
		h.observed(c, out, time.Now())
	}
}

// printable renders client bytes for messages: valid UTF-8 as is, anything else
// quoted.
func printable(b []byte) string {
	if utf8.Valid(b) {
		return text.Truncate(string(b), 200)
	}
	return text.Truncate(fmt.Sprintf("%q", b), 200)
}
