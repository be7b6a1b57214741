package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/handler"
)

// handlerSet is one generation of registered handlers with its route table.
// The host serves from exactly one current set; a reload builds the next set
// aside and swaps it in with one atomic store. Every dispatch holds a
// reference on the set it routed through, so a set replaced by a reload closes
// its handlers only once the last envelope it was serving has finished: an
// envelope never sees its handler closed under it, and none is routed twice.
type handlerSet struct {
	gen     uint64
	entries []*entry
	routes  map[string]*route
	ops     []string // sorted operations, for did-you-mean
	names   []string // sorted handler names

	// refs is the host's own reference while the set is current, plus one per
	// dispatch routed through it. Once it reaches zero it never rises again
	// (acquire refuses to increment from zero) and idle closes.
	refs atomic.Int64
	idle chan struct{}
}

func newHandlerSet(gen uint64, entries []*entry) *handlerSet {
	s := &handlerSet{gen: gen, entries: entries, routes: map[string]*route{}, idle: make(chan struct{})}
	for _, e := range entries {
		s.names = append(s.names, e.desc.Name)
		for _, c := range e.desc.Commands {
			s.routes[string(c)] = &route{op: c, e: e, log: e.log.With("operation", string(c)),
				fields: envelope.RouteFields(string(c), e.desc.Name)}
			s.ops = append(s.ops, string(c))
		}
	}
	sort.Strings(s.ops)
	sort.Strings(s.names)
	s.refs.Store(1)
	return s
}

// acquire returns the current handler set with a reference held for the
// caller, who must release it. A set whose count already reached zero was
// replaced (the successor is stored before the old set is released), so the
// loop finds the successor.
func (h *Host) acquire() *handlerSet {
	for {
		s := h.set.Load()
		n := s.refs.Load()
		if n > 0 && s.refs.CompareAndSwap(n, n+1) {
			return s
		}
	}
}

// release drops one reference; the last one marks the set idle.
func (s *handlerSet) release() {
	if s.refs.Add(-1) == 0 {
		close(s.idle)
	}
}

// current returns the serving handler set, or nil before Start.
func (h *Host) current() *handlerSet { return h.set.Load() }

// reloader serialises reloads and lets Stop cancel one in progress.
type reloader struct {
	mu       sync.Mutex // held for a whole reload, and by Stop before closing
	ctx      context.Context
	cancel   context.CancelFunc
	gen      uint64          // generation of the current set
	retiring []chan struct{} // one per replaced set, closed once its handlers are
}

// ReloadOutcome says what a reload did.
type ReloadOutcome string

// Reload outcomes.
const (
	// ReloadApplied: the new handler set replaced the old one.
	ReloadApplied ReloadOutcome = "applied"
	// ReloadRefused: the new set had blocking problems (validation or a
	// required handler's initialisation); the old set keeps serving.
	ReloadRefused ReloadOutcome = "refused"
	// ReloadFailed: the reload could not run (discovery failed, the host is
	// not ready, it was canceled); the old set keeps serving.
	ReloadFailed ReloadOutcome = "failed"
)

// ReloadResult describes one reload.
type ReloadResult struct {
	// Trigger is why the reload ran (signal, contract change, registry
	// change, …), as given to Reload.
	Trigger string
	Outcome ReloadOutcome
	// Generation is the generation of the handler set serving after the
	// reload (1 is the set of Start).
	Generation uint64
	// HandlerCount is the number of handlers serving after the reload.
	HandlerCount int
	// Added, Removed and Changed name the handlers that differ between the old
	// and new set (by descriptor); empty unless applied.
	Added, Removed, Changed []string
	// Report holds the diagnostics of a refused reload (and the warnings of
	// an applied one).
	Report *diag.Report
	// Duration is how long the reload took.
	Duration time.Duration
}

// Reload re-resolves the handler set through the host's source and replaces
// the serving set with it, the way Start builds the first one: discover,
// validate the whole set (descriptor, security and architecture registration
// rules, bootstrap hardening), construct and initialise every handler aside.
// Only a clean set is swapped in, atomically: requests already routed finish
// on the handlers they started with, which are closed (in reverse order) once
// the last of them returns. Otherwise the old set keeps serving untouched and
// the error is a *diag.ReportError holding the aggregated report. Reloads are
// serialised; Stop cancels one in progress. Every reload is passed to
// Options.OnReload and then logged ("handlers reloaded": trigger, outcome,
// counts, duration).
func (h *Host) Reload(ctx context.Context, trigger string) (ReloadResult, error) {
	h.reload.mu.Lock()
	defer h.reload.mu.Unlock()
	start := time.Now()
	res := ReloadResult{Trigger: trigger, Outcome: ReloadFailed, Report: &diag.Report{}}
	old := h.current()
	if old != nil {
		res.Generation, res.HandlerCount = old.gen, len(old.entries)
	}
	err := h.reloadLocked(ctx, old, &res)
	res.Duration = time.Since(start)
	if h.opts.OnReload != nil {
		h.opts.OnReload(res, err)
	}
	h.logReload(&res, err)
	return res, err
}

func (h *Host) reloadLocked(ctx context.Context, old *handlerSet, res *ReloadResult) error {
	if s := state(h.state.Load()); s != stateReady {
		return fmt.Errorf("runtime: reload: host is %s", s)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(h.reload.ctx, cancel)()

	descs, err := h.resolve(ctx, res.Report)
	if err != nil {
		return fmt.Errorf("runtime: reload: %w", err)
	}
	if res.Report.Blocking() {
		res.Outcome = ReloadRefused
		res.Report.Sort()
		return res.Report.Err()
	}
	entries, err := h.build(ctx, descs)
	if err != nil {
		var re *diag.ReportError
		if errors.As(err, &re) {
			res.Outcome = ReloadRefused
			res.Report.Merge(re.Report)
		}
		return err
	}
	next := newHandlerSet(h.reload.gen+1, entries)
	if s := state(h.state.Load()); s != stateReady || ctx.Err() != nil {
		// Stop began while the set was being built: it is never served.
		h.closeEntries(context.WithoutCancel(ctx), entries)
		if ctx.Err() != nil {
			return fmt.Errorf("runtime: reload: %w", ctx.Err())
		}
		return fmt.Errorf("runtime: reload: host is %s", s)
	}
	h.reload.gen++
	h.set.Store(next)
	res.Outcome, res.Generation, res.HandlerCount = ReloadApplied, next.gen, len(next.entries)
	res.Added, res.Removed, res.Changed = diffSets(old, next)
	h.retire(old)
	return nil
}

// retire drops the host's reference on a replaced set and closes its handlers,
// in reverse order, once the dispatches still holding it have finished. Stop
// waits for every retirement.
func (h *Host) retire(s *handlerSet) {
	if s == nil {
		return
	}
	pending := h.reload.retiring[:0]
	for _, d := range h.reload.retiring {
		select {
		case <-d: // closed already
		default:
			pending = append(pending, d)
		}
	}
	done := make(chan struct{})
	h.reload.retiring = append(pending, done)
	s.release()
	go func() {
		defer close(done)
		<-s.idle
		ctx, cancel := context.WithTimeout(context.Background(), h.cfg.DrainTimeout)
		defer cancel()
		if err := h.closeEntries(ctx, s.entries); err != nil {
			h.log.Warn("closing the handlers of a replaced set failed", "generation", s.gen, "error", err.Error())
		}
	}()
}

// waitRetired waits until every replaced set is closed, or ctx ends. The
// caller holds reload.mu.
func (h *Host) waitRetired(ctx context.Context) error {
	for _, done := range h.reload.retiring {
		select {
		case <-done:
			continue
		default:
		}
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("runtime: replaced handler sets still running: %w", ctx.Err())
		}
	}
	h.reload.retiring = h.reload.retiring[:0]
	return nil
}

// diffSets names the handlers added, removed and changed (descriptor differs)
// from old to next, each sorted.
func diffSets(old, next *handlerSet) (added, removed, changed []string) {
	before := map[string][]byte{}
	if old != nil {
		for _, e := range old.entries {
			before[e.desc.Name] = descriptorKey(e.desc)
		}
	}
	seen := map[string]bool{}
	for _, e := range next.entries {
		seen[e.desc.Name] = true
		b, ok := before[e.desc.Name]
		switch {
		case !ok:
			added = append(added, e.desc.Name)
		case string(b) != string(descriptorKey(e.desc)):
			changed = append(changed, e.desc.Name)
		}
	}
	for name := range before {
		if !seen[name] {
			removed = append(removed, name)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	slices.Sort(changed)
	return added, removed, changed
}

// descriptorKey is the comparable form of a descriptor: its JSON encoding
// (positions excluded, so moving a line is not a change).
func descriptorKey(d *handler.Descriptor) []byte {
	b, err := json.Marshal(d)
	if err != nil {
		return []byte(err.Error())
	}
	return b
}

// logDiagnostic is one diagnostic of a refused reload, as logged.
type logDiagnostic struct {
	RuleID   string `json:"rule_id"`
	Severity string `json:"severity"`
	Handler  string `json:"handler_identity,omitempty"`
	File     string `json:"file_path,omitempty"`
	Line     int    `json:"line,omitempty"`
	Message  string `json:"message"`
	Hint     string `json:"remediation_hint,omitempty"`
}

// logReload writes the record of one reload: trigger, outcome, generation,
// counts and duration; a refused reload carries its aggregated report.
func (h *Host) logReload(res *ReloadResult, err error) {
	attrs := []any{
		"trigger", res.Trigger, "outcome", string(res.Outcome), "generation", res.Generation,
		"handler_count", res.HandlerCount, "added_count", len(res.Added), "removed_count", len(res.Removed),
		"changed_count", len(res.Changed), "duration_ms", res.Duration.Milliseconds(),
	}
	switch res.Outcome {
	case ReloadApplied:
		attrs = append(attrs, "added", res.Added, "removed", res.Removed, "changed", res.Changed)
		h.log.Info("handlers reloaded", attrs...)
	case ReloadRefused:
		s := res.Report.Summary()
		ds := make([]logDiagnostic, 0, len(res.Report.Diagnostics))
		for _, e := range res.Report.Diagnostics {
			ds = append(ds, logDiagnostic{RuleID: string(e.RuleID), Severity: string(e.Severity), Handler: e.HandlerIdentity,
				File: e.FilePath, Line: e.Line, Message: e.Message, Hint: e.RemediationHint})
		}
		attrs = append(attrs, "error_count", s.Errors, "warning_count", s.Warnings, "summary", s.String(), "diagnostics", ds)
		h.log.Error("handlers reloaded", attrs...)
	default:
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		attrs = append(attrs, "error", msg)
		h.log.Error("handlers reloaded", attrs...)
	}
}
