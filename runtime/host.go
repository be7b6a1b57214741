// Package runtime is the onex host: it resolves descriptors through a handler
// source, validates them, builds and initialises the handlers through their
// factories with the capabilities the policy grants, routes request envelopes
// by operation, invokes handlers, and publishes their responses. Handlers never
// publish: nothing they receive can.
//
// Lifecycle: New, then Start (discover → validate → harden → build → route →
// subscribe → ready), then Stop (stop intake → drain → close handlers in
// reverse order → close the bus). Requests arrive from the bus, from bridges
// (ServeNDJSON for --stdin) and from in-process callers (Dispatch, Submit); all
// go through one pipeline: decode → validate envelope → route → SECURITY-312 →
// guard → invoke (deadline, bounded concurrency, panic recovery) → encode.
//
// A request from the bus that fails with a retryable error is attempted again
// with backoff up to max_attempts, then written to the dead-letter topic; a
// record that cannot be decoded is dead-lettered at once (runtime/delivery:
// the same policy over every bus). Its response is published after that, and
// the delivery acknowledged only once the bus accepted the response.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/runtime/delivery"
	"github.com/onexhost/onex/source"
	"github.com/onexhost/onex/validate"
)

// Policy grants each handler the capabilities its descriptor earned.
type Policy interface {
	Grant(d *handler.Descriptor) (handler.Capabilities, error)
}

// Guard admits or refuses the invocations of one handler and learns from their
// outcomes; a per-handler circuit breaker (HANDLER-005) is a Guard.
type Guard interface {
	// Admit is called before the handler runs; a non-nil error refuses the
	// invocation and becomes the response (its rule id, message and hint).
	Admit(now time.Time) *diag.ValidationError
	// Record is called after each admitted invocation; failed is true for a
	// handler error, timeout or panic (not for a rejected payload).
	Record(now time.Time, failed bool)
}

// GuardFactory returns the Guard of a handler, or nil for none.
type GuardFactory func(d *handler.Descriptor) Guard

// Options configure a Host beyond its collaborators.
type Options struct {
	// Config is the runtime section of onex.yaml; the zero value means
	// DefaultConfig().
	Config Config
	// Environment is the environment the host runs in (production hardening).
	Environment handler.Environment
	// Source is the handler_source configuration: the bootstrap override and
	// its expiry, for the production hardening gate (RUNTIME-003). Its Mode is
	// taken from the source itself.
	Source source.Config
	// Guard makes per-handler guards (circuit breakers); nil for none.
	Guard GuardFactory
	// Now is the clock of startup decisions (hardening); default time.Now.
	Now func() time.Time
	// Observer sees every request and its outcome (metrics, tracing); nil for
	// none.
	Observer Observer
	// OnReload, when set, is called by every Reload with its result before
	// the reload is logged, whatever triggered it (metrics count reloads
	// here, so a reader of the log finds them counted).
	OnReload func(ReloadResult, error)
}

// Status of a handler in the host.
type Status string

// Handler statuses.
const (
	StatusRegistered Status = "registered"
	StatusFailed     Status = "failed"
)

// HandlerInfo describes one handler of a started host.
type HandlerInfo struct {
	Descriptor *handler.Descriptor
	Status     Status
	Required   bool
	// Error is why the handler failed to initialise.
	Error *diag.ValidationError
}

type state int32

const (
	stateNew state = iota
	stateStarting
	stateReady
	stateStopping
	stateStopped
)

// Host runs handlers. Build it with New; it is safe for concurrent use once
// started.
type Host struct {
	src        source.HandlerSource
	validators []validate.Validator
	policy     Policy
	bus        bus.Bus
	log        *slog.Logger
	opts       Options
	cfg        Config

	state atomic.Int32

	// set is the serving handler set: stored by Start, replaced by Reload.
	set    atomic.Pointer[handlerSet]
	reload reloader

	// delivery settles the bus deliveries that failed (retries, dead
	// letters); nil without a bus.
	delivery *delivery.Policy

	// Set by Start, read-only afterwards.
	sub   bus.Subscription
	stats *stats

	inflight sync.WaitGroup // synchronous dispatches
	in       intake
	busy     *semaphore.Weighted // one unit per request queued or in progress, or a synchronous dispatch invokes
	qmu      sync.Mutex          // guards queue, qclosed, idle, waking and each worker's started
	queue    jobQueue
	qclosed  bool
	idle     []*worker // idle workers, the last one to become idle on top
	waking   int       // workers woken and not yet running
	workers  []*worker
	workerWG sync.WaitGroup
	runCtx   context.Context // invocations of queued requests run under it
	cancel   context.CancelFunc
	draining atomic.Bool // drain timed out: answer queued requests without invoking
	scratch  sync.Pool   // *scratch, for dispatches without a worker
}

type entry struct {
	desc     *handler.Descriptor
	h        handler.Handler
	required bool
	status   Status
	err      *diag.ValidationError
	timeout  time.Duration
	class    handler.Classification
	caps     handler.Capabilities
	guard    Guard
	log      *slog.Logger
}

type route struct {
	op     handler.Command
	e      *entry
	log    *slog.Logger // tagged with handler and operation
	fields []byte       // the route's response fields (envelope.RouteFields)
}

// New makes a host. validators run over the resolved descriptor set at Start
// (security and architecture registration rules); policy may be nil (no
// handler is granted anything: no egress, no secrets); b may be nil for a host
// that serves only bridges and in-process calls, and is owned by the host from
// here on (Stop, or a failed Start, closes it); logger may be nil.
func New(src source.HandlerSource, validators []validate.Validator, policy Policy, b bus.Bus, logger *slog.Logger, opts Options) *Host {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg := opts.Config
	if cfg.MaxConcurrency == 0 && cfg.MaxEnvelopeBytes == 0 {
		cfg = DefaultConfig()
	}
	h := &Host{
		src: src, validators: slices.Clone(validators), policy: policy, bus: b, log: logger,
		opts: opts, cfg: cfg, stats: newStats(),
	}
	h.scratch.New = func() any { return newScratch() }
	if b != nil {
		h.delivery = delivery.New(cfg.Delivery, b, cfg.ConsumerGroup, logger)
	}
	h.reload.ctx, h.reload.cancel = context.WithCancel(context.Background())
	return h
}

// Start resolves, validates and registers the handlers, then starts consuming.
// A blocking validation problem returns a *diag.ReportError holding the
// aggregated report (nothing is constructed); a required handler that fails to
// initialise returns one with RUNTIME-004 (handlers already initialised are
// closed). ctx bounds the start only.
func (h *Host) Start(ctx context.Context) error {
	if !h.state.CompareAndSwap(int32(stateNew), int32(stateStarting)) {
		return errors.New("runtime: host already started")
	}
	err := h.start(ctx)
	if err != nil {
		h.state.Store(int32(stateStopped))
		if h.bus != nil {
			// The host owns the bus from New on; a host that does not start
			// releases it.
			if cerr := h.bus.Close(); cerr != nil {
				h.log.Warn("closing the bus after a failed start", "error", cerr.Error())
			}
		}
		return err
	}
	h.state.Store(int32(stateReady))
	set := h.current()
	h.log.Info("host ready", "handler_count", len(set.entries), "operation_count", len(set.routes),
		"request_topic", h.cfg.RequestTopic, "response_topic", h.cfg.ResponseTopic, "max_concurrency", h.cfg.MaxConcurrency)
	return nil
}

func (h *Host) start(ctx context.Context) error {
	report := &diag.Report{}
	report.Add(h.cfg.Validate(h.cfg.file)...)
	if report.Blocking() {
		return report.Err()
	}
	descs, err := h.resolve(ctx, report)
	if err != nil {
		return err
	}
	if report.Blocking() {
		report.Sort()
		return report.Err()
	}

	entries, err := h.build(ctx, descs)
	if err != nil {
		return err
	}
	h.reload.gen = 1
	h.set.Store(newHandlerSet(1, entries))
	h.runCtx, h.cancel = context.WithCancel(context.WithoutCancel(ctx))
	h.startWorkers()
	if h.bus != nil {
		sub, err := h.bus.Subscribe(ctx, h.cfg.RequestTopic, h.cfg.ConsumerGroup, h.onDelivery)
		if err != nil {
			h.stopWorkers()
			h.closeEntries(context.WithoutCancel(ctx), entries)
			return fmt.Errorf("runtime: subscribe to %s: %w", h.cfg.RequestTopic, err)
		}
		h.sub = sub
	}
	return nil
}

// resolve discovers the descriptors through the source and adds to report
// every problem the host checks before constructing anything: the source's
// errors, the set validation (route conflicts, registration validators), the
// bootstrap hardening gate, runtime names that match no handler, and an empty
// set. Start and Reload share it, so a reloaded set passes exactly the checks
// of the first one.
func (h *Host) resolve(ctx context.Context, report *diag.Report) ([]*handler.Descriptor, error) {
	descs, derrs, err := h.src.Discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("runtime: discovery: %w", err)
	}
	descs = slices.Clone(descs)
	sort.SliceStable(descs, func(i, j int) bool { return descs[i].Name < descs[j].Name })
	h.logResolved(descs)

	report.Add(derrs...)
	report.Merge(validate.Set(descs, h.validators...))
	gate := h.opts.Source
	gate.Mode = h.src.SourceType()
	report.Add(gate.BootstrapAllowed(h.opts.Environment, h.opts.Now()))
	report.Add(h.cfg.checkNames(descs)...)
	if len(descs) == 0 {
		e := diag.New(ruleid.RuntimeNoHandlers, "no handler could be registered: source %s resolved no valid descriptor", h.src.SourceType())
		e.SourceType = h.src.SourceType()
		report.Add(e)
	}
	return descs, nil
}

// logResolved writes the startup record of SPEC §4: mode, counts (the source's
// own, where it reports them), compat_mode and the bootstrap override's expiry.
func (h *Host) logResolved(descs []*handler.Descriptor) {
	mode := h.src.SourceType()
	counts := map[string]int{}
	for _, d := range descs {
		counts[string(d.SourceType)]++
	}
	rec := map[string]any{
		"contract_handler_count":  counts[string(handler.SourceContract)] + counts[string(handler.SourceRegistry)],
		"bootstrap_handler_count": counts[string(handler.SourceBootstrap)],
		"fallback_handler_count":  0,
	}
	if mode == handler.SourceHybrid {
		rec["fallback_handler_count"] = counts[string(handler.SourceBootstrap)]
	}
	if sr, ok := h.src.(source.StatsReporter); ok {
		for k, v := range sr.Stats() {
			rec[k] = v
		}
	}
	keys := make([]string, 0, len(rec))
	for k := range rec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := []any{"handler_source_mode", string(mode), "handler_count", len(descs)}
	for _, k := range keys {
		attrs = append(attrs, k, rec[k])
	}
	expires := h.opts.Source.BootstrapExpiresAt
	var expiresAt any // JSON null when unset
	if !expires.IsZero() {
		expiresAt = expires.UTC().Format(time.RFC3339)
	}
	attrs = append(attrs,
		"compat_mode", counts[string(handler.SourceBootstrap)] > 0,
		"bootstrap_expires_at", expiresAt,
		"bootstrap_expired", !expires.IsZero() && !h.opts.Now().Before(expires),
	)
	h.log.Info("handlers resolved", attrs...)
}

// build constructs and initialises every handler, in name order. It returns a
// *diag.ReportError when a required handler failed or none is up (the handlers
// it initialised are closed again).
func (h *Host) build(ctx context.Context, descs []*handler.Descriptor) ([]*entry, error) {
	report := &diag.Report{}
	var entries []*entry
	up := 0
	for _, d := range descs {
		e := &entry{
			desc:     d,
			required: !slices.Contains(h.cfg.OptionalHandlers, d.Name),
			timeout:  h.cfg.timeout(d.Name),
			class:    d.Security.Classification(),
			log:      h.log.With("handler", d.Name),
		}
		if h.opts.Guard != nil {
			e.guard = h.opts.Guard(d)
		}
		if verr := h.initHandler(ctx, e); verr != nil {
			e.status, e.err = StatusFailed, verr
			if e.required {
				report.Add(verr)
			} else {
				w := *verr
				w.Severity = handler.SeverityWarning
				w.Message += " (optional handler: its operations answer HANDLER-004)"
				e.err = &w
				e.log.Warn("optional handler failed to initialise", "rule_id", string(verr.RuleID), "error", verr.Message)
			}
		} else {
			e.status = StatusRegistered
			up++
		}
		entries = append(entries, e)
	}
	if up == 0 && !report.Blocking() {
		e := diag.New(ruleid.RuntimeNoHandlers, "no handler could be registered: all %d failed to initialise", len(descs))
		e.SourceType = h.src.SourceType()
		report.Add(e)
	}
	if report.Blocking() {
		h.closeEntries(context.WithoutCancel(ctx), entries)
		report.Sort()
		return nil, report.Err()
	}
	return entries, nil
}

// initHandler grants capabilities, resolves the config's secret references
// through the granted reader, makes the handler through its factory and runs
// its Init. Any failure is a RUNTIME-004 naming the handler and the cause
// (never a secret value).
func (h *Host) initHandler(ctx context.Context, e *entry) (verr *diag.ValidationError) {
	d := e.desc
	fail := func(format string, args ...any) *diag.ValidationError {
		v := diag.New(ruleid.RuntimeInitFailed, "handler %s failed to initialise: %s", d.Name, fmt.Sprintf(format, args...))
		return validate.At(d, "", v)
	}
	defer func() {
		if r := recover(); r != nil {
			verr = fail("panic: %v", r)
		}
	}()
	f, ok := handler.Lookup(d.ImportPath)
	if !ok {
		return fail("import path %s is not registered in this binary", d.ImportPath)
	}
	if h.policy != nil {
		caps, err := h.policy.Grant(d)
		if err != nil {
			v := fail("capabilities refused: %v", err)
			var cause *diag.ValidationError
			if errors.As(err, &cause) {
				v.CausedBy = cause
			}
			return v
		}
		e.caps = caps
	}
	redacted, err := handler.RedactSecretRefs(d.Config)
	if err != nil {
		return fail("%v", err)
	}
	hd, err := f.New(redacted)
	if err != nil {
		return fail("config rejected: %v", err)
	}
	if hd == nil {
		return fail("factory %s returned no handler", f.ImportPath)
	}
	e.h = hd
	in, ok := hd.(handler.Initializer)
	if !ok {
		return nil
	}
	ictx, cancel := context.WithTimeout(ctx, h.cfg.InitTimeout)
	defer cancel()
	cfg, err := handler.ResolveSecretRefs(d.Config, func(path string, ref handler.SecretRef) (string, error) {
		if e.caps.Secrets == nil {
			return "", fmt.Errorf("%s: secret reference %s cannot be resolved: no secret reader was granted (declare scope %q in security.secret_scopes)", path, ref, ref.Scope)
		}
		s, err := e.caps.Secrets.ReadSecret(ictx, ref)
		if err != nil {
			return "", fmt.Errorf("%s: secret %s: %w", path, ref, err)
		}
		return s.Reveal(), nil
	})
	if err != nil {
		v := fail("%v", err)
		var cause *diag.ValidationError
		if errors.As(err, &cause) {
			v.CausedBy = cause
		}
		return v
	}
	env := handler.NewInitEnv(handler.InitParams{HandlerName: d.Name, Config: cfg, Logger: e.log, Capabilities: e.caps})
	if err := in.Init(ictx, env); err != nil {
		return fail("%v", err)
	}
	return nil
}

// Ready returns nil when the host is started and every required handler is
// registered and healthy, else why not.
func (h *Host) Ready(ctx context.Context) error {
	if s := state(h.state.Load()); s != stateReady {
		return fmt.Errorf("runtime: host is %s", s)
	}
	var errs []error
	for _, e := range h.current().entries {
		if !e.required {
			continue
		}
		if e.status != StatusRegistered {
			errs = append(errs, fmt.Errorf("handler %s: %s", e.desc.Name, e.status))
			continue
		}
		if hc, ok := e.h.(handler.HealthChecker); ok {
			if err := hc.Health(ctx); err != nil {
				errs = append(errs, fmt.Errorf("handler %s: unhealthy: %w", e.desc.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Handlers describes the handlers of a started host, by name.
func (h *Host) Handlers() []HandlerInfo {
	set := h.current()
	if set == nil {
		return nil
	}
	out := make([]HandlerInfo, 0, len(set.entries))
	for _, e := range set.entries {
		out = append(out, HandlerInfo{Descriptor: e.desc.Clone(), Status: e.status, Required: e.required, Error: e.err})
	}
	return out
}

// Operations lists the routed operations, sorted.
func (h *Host) Operations() []string {
	if set := h.current(); set != nil {
		return slices.Clone(set.ops)
	}
	return nil
}

func (s state) String() string {
	switch s {
	case stateNew:
		return "not started"
	case stateStarting:
		return "starting"
	case stateReady:
		return "ready"
	case stateStopping:
		return "stopping"
	}
	return "stopped"
}

// Stop stops intake (the bus subscription), lets requests in progress finish
// for up to drain_timeout (then answers those still running with HANDLER-004,
// retryable, and cancels their contexts), closes the handlers in reverse order
// and closes the bus. ctx bounds the whole stop as well.
func (h *Host) Stop(ctx context.Context) error {
	if !h.state.CompareAndSwap(int32(stateReady), int32(stateStopping)) {
		return fmt.Errorf("runtime: stop: host is %s", state(h.state.Load()))
	}
	start := time.Now()
	// A reload in progress is canceled; once it has returned, the serving set
	// is final.
	h.reload.cancel()
	h.reload.mu.Lock()
	defer h.reload.mu.Unlock()
	dctx, cancel := context.WithTimeout(ctx, h.cfg.DrainTimeout)
	defer cancel()
	var errs []error
	if h.sub != nil {
		if err := h.sub.Stop(dctx); err != nil {
			errs = append(errs, fmt.Errorf("runtime: stop intake: %w", err))
		}
	}
	idle := h.drain()
	drained := true
	select {
	case <-idle:
	case <-dctx.Done():
		drained = false
		h.log.Warn("drain timeout: answering the requests still in progress", "drain_timeout", h.cfg.DrainTimeout.String())
		h.abandon()
	}
	h.cancel()
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.DrainTimeout)
	defer ccancel()
	if !drained {
		// Their contexts are canceled now; handlers that honour them return.
		select {
		case <-idle:
		case <-cctx.Done():
			h.log.Error("handlers still running after cancellation; their results will be discarded")
		}
	}
	if err := h.waitRetired(cctx); err != nil {
		h.log.Error("handlers of a replaced set still running; they were not closed", "error", err.Error())
		errs = append(errs, err)
	}
	if err := h.closeEntries(cctx, h.current().entries); err != nil {
		errs = append(errs, err)
	}
	if h.bus != nil {
		if err := h.bus.Close(); err != nil {
			errs = append(errs, fmt.Errorf("runtime: close bus: %w", err))
		}
	}
	h.state.Store(int32(stateStopped))
	h.log.Info("host stopped", "drained", drained, "duration_ms", time.Since(start).Milliseconds())
	return errors.Join(errs...)
}

// drain lets the workers finish the queued requests and returns a channel that
// closes when they and every synchronous dispatch are done.
func (h *Host) drain() <-chan struct{} {
	done := make(chan struct{})
	go func() {
		h.stopWorkers()
		h.inflight.Wait()
		close(done)
	}()
	return done
}

// closeEntries closes every initialised handler of entries in reverse order.
func (h *Host) closeEntries(ctx context.Context, entries []*entry) error {
	var errs []error
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		c, ok := e.h.(handler.Closer)
		if !ok || e.h == nil {
			continue
		}
		if err := safeClose(ctx, c); err != nil {
			e.log.Warn("handler close failed", "error", err.Error())
			errs = append(errs, fmt.Errorf("runtime: close handler %s: %w", e.desc.Name, err))
		}
	}
	return errors.Join(errs...)
}

func safeClose(ctx context.Context, c handler.Closer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return c.Close(ctx)
}
