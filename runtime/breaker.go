package runtime

import (
	"fmt"
	"sync"
	"time"

	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
)

// BreakerConfig configures the per-handler circuit breakers (runtime.circuit_breaker
// in onex.yaml).
type BreakerConfig struct {
	// FailureThreshold is how many consecutive retryable failures (transient
	// errors, timeouts) open a handler's circuit; 0 disables the breakers.
	FailureThreshold int `yaml:"failure_threshold"`
	// CoolDown is how long an open circuit refuses invocations (HANDLER-005)
	// before it half-opens and lets a probe through.
	CoolDown time.Duration `yaml:"cool_down"`
	// HalfOpenProbes is how many invocations may run at once while half-open.
	HalfOpenProbes int `yaml:"half_open_probes"`
}

// Defaults of the circuit breakers.
const (
	DefaultBreakerFailureThreshold = 5
	DefaultBreakerCoolDown         = 30 * time.Second
	DefaultBreakerHalfOpenProbes   = 1
)

// DefaultBreakerConfig returns the defaults.
func DefaultBreakerConfig() BreakerConfig {
	return BreakerConfig{
		FailureThreshold: DefaultBreakerFailureThreshold,
		CoolDown:         DefaultBreakerCoolDown,
		HalfOpenProbes:   DefaultBreakerHalfOpenProbes,
	}
}

// Validate checks the values (RUNTIME-002 naming the key under prefix); f may be nil.
func (c BreakerConfig) Validate(f *config.File, prefix string) []*diag.ValidationError {
	var errs []*diag.ValidationError
	if c.FailureThreshold < 0 || c.FailureThreshold > 1_000_000 {
		errs = append(errs, f.Errorf(prefix+".failure_threshold", "must be between 0 (off) and 1000000, got %d", c.FailureThreshold))
	}
	if c.FailureThreshold > 0 {
		if c.CoolDown <= 0 {
			errs = append(errs, f.Errorf(prefix+".cool_down", "must be a positive duration such as 30s, got %s", c.CoolDown))
		}
		if c.HalfOpenProbes < 1 || c.HalfOpenProbes > 1000 {
			errs = append(errs, f.Errorf(prefix+".half_open_probes", "must be between 1 and 1000, got %d", c.HalfOpenProbes))
		}
	}
	return errs
}

// Breakers returns a GuardFactory making one circuit breaker per handler, or
// nil when c disables them.
func Breakers(c BreakerConfig) GuardFactory {
	if c.FailureThreshold <= 0 {
		return nil
	}
	return func(d *handler.Descriptor) Guard { return NewBreaker(d.Name, c) }
}

// OutcomeGuard is a Guard that also learns whether a failure was retryable. The
// host calls RecordOutcome instead of Record on guards that implement it.
type OutcomeGuard interface {
	Guard
	// RecordOutcome is called after each admitted invocation: failed as for
	// Record, retryable when the failure may pass on a retry.
	RecordOutcome(now time.Time, failed, retryable bool)
}

// BreakerState is the state of a circuit.
type BreakerState uint8

// Circuit states.
const (
	// BreakerClosed admits every invocation.
	BreakerClosed BreakerState = iota
	// BreakerOpen refuses every invocation until the cool-down has passed.
	BreakerOpen
	// BreakerHalfOpen admits a few probes; one success closes the circuit, one
	// retryable failure opens it again.
	BreakerHalfOpen
)

func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half_open"
	}
	return fmt.Sprintf("BreakerState(%d)", uint8(s))
}

// Breaker is the circuit breaker of one handler. Only retryable failures count:
// a permanent error (a rejected statement, a 404) means the dependency answered.
// It is safe for concurrent use.
type Breaker struct {
	name string
	cfg  BreakerConfig

	mu        sync.Mutex
	state     BreakerState
	failures  int       // consecutive retryable failures while closed
	openedAt  time.Time // when the circuit last opened
	probes    int       // probes in flight while half-open
	probeSent time.Time // when the last probe was admitted
}

var _ OutcomeGuard = (*Breaker)(nil)

// NewBreaker returns a closed breaker for handler name. Zero fields of c take
// their defaults.
func NewBreaker(name string, c BreakerConfig) *Breaker {
	d := DefaultBreakerConfig()
	if c.FailureThreshold <= 0 {
		c.FailureThreshold = d.FailureThreshold
	}
	if c.CoolDown <= 0 {
		c.CoolDown = d.CoolDown
	}
	if c.HalfOpenProbes <= 0 {
		c.HalfOpenProbes = d.HalfOpenProbes
	}
	return &Breaker{name: name, cfg: c}
}

// State returns the current state as of now (an open circuit whose cool-down
// has passed reports half-open).
func (b *Breaker) State(now time.Time) BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen && !now.Before(b.openedAt.Add(b.cfg.CoolDown)) {
		return BreakerHalfOpen
	}
	return b.state
}

// Admit refuses an invocation with HANDLER-005 while the circuit is open, and
// beyond the probe budget while it is half-open.
func (b *Breaker) Admit(now time.Time) *diag.ValidationError {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerClosed:
		return nil
	case BreakerOpen:
		if now.Before(b.openedAt.Add(b.cfg.CoolDown)) {
			return b.refusal(b.openedAt.Add(b.cfg.CoolDown).Sub(now))
		}
		b.state, b.probes = BreakerHalfOpen, 0
	}
	// Half-open. A probe whose outcome never came back (answered by the
	// watchdog, canceled before it ran) must not wedge the circuit: after a
	// cool-down without news, another probe goes.
	if b.probes >= b.cfg.HalfOpenProbes && now.Before(b.probeSent.Add(b.cfg.CoolDown)) {
		return b.refusal(b.probeSent.Add(b.cfg.CoolDown).Sub(now))
	}
	if b.probes >= b.cfg.HalfOpenProbes {
		b.probes = 0
	}
	b.probes++
	b.probeSent = now
	return nil
}

func (b *Breaker) refusal(retryAfter time.Duration) *diag.ValidationError {
	e := diag.New(ruleid.HandlerCircuitOpen, "circuit open for handler %s after %d consecutive retryable failures; retry in %s",
		b.name, b.cfg.FailureThreshold, retryAfter.Round(time.Millisecond))
	e.HandlerIdentity = b.name
	e.Details = map[string]any{
		"handler":           b.name,
		"state":             b.state.String(),
		"failure_threshold": b.cfg.FailureThreshold,
		"retry_after_ms":    retryAfter.Milliseconds(),
	}
	return e
}

// Record is the Guard method for hosts that do not report retryability: every
// failure counts as retryable.
func (b *Breaker) Record(now time.Time, failed bool) { b.RecordOutcome(now, failed, failed) }

// RecordOutcome counts consecutive retryable failures: reaching the threshold
// (or failing a half-open probe) opens the circuit; a success or a permanent
// failure closes it and resets the count.
func (b *Breaker) RecordOutcome(now time.Time, failed, retryable bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !(failed && retryable) {
		b.state, b.failures, b.probes = BreakerClosed, 0, 0
		return
	}
	switch b.state {
	case BreakerHalfOpen:
		b.state, b.openedAt, b.probes = BreakerOpen, now, 0
	case BreakerClosed:
		b.failures++
		if b.failures >= b.cfg.FailureThreshold {
			b.state, b.openedAt, b.failures = BreakerOpen, now, 0
		}
	case BreakerOpen:
		// An invocation admitted before the circuit opened: nothing to learn.
	}
}
