package runtime

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onexhost/onex/config"
)

// step is one event in a breaker's life, on an explicit clock.
type step struct {
	at        time.Duration // since t0
	admit     bool          // call Admit (true) or RecordOutcome (false)
	failed    bool
	retryable bool
	// for admit steps
	wantRefused bool
	wantState   BreakerState
}

func TestBreakerTransitions(t *testing.T) {
	cfg := BreakerConfig{FailureThreshold: 3, CoolDown: 10 * time.Second, HalfOpenProbes: 1}
	retryFail := func(at time.Duration) step { return step{at: at, failed: true, retryable: true} }
	admit := func(at time.Duration, refused bool, state BreakerState) step {
		return step{at: at, admit: true, wantRefused: refused, wantState: state}
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"opens after the threshold of consecutive retryable failures", []step{
			retryFail(0), retryFail(1), admit(2, false, BreakerClosed), retryFail(2), admit(3, true, BreakerOpen),
		}},
		{"a success resets the count", []step{
			retryFail(0), retryFail(1), {at: 2}, retryFail(3), retryFail(4), admit(5, false, BreakerClosed),
		}},
		{"permanent failures do not count and reset", []step{
			retryFail(0), retryFail(1), {at: 2, failed: true}, retryFail(3), retryFail(4), admit(5, false, BreakerClosed),
			{at: 6, failed: true}, {at: 7, failed: true}, {at: 8, failed: true}, admit(9, false, BreakerClosed),
		}},
		{"half-opens after the cool-down; a successful probe closes", []step{
			retryFail(0), retryFail(0), retryFail(0), admit(9, true, BreakerOpen),
			admit(10, false, BreakerHalfOpen), admit(10, true, BreakerHalfOpen), // one probe at a time
			{at: 11}, admit(11, false, BreakerClosed), admit(11, false, BreakerClosed),
		}},
		{"a failed probe opens again for a full cool-down", []step{
			retryFail(0), retryFail(0), retryFail(0), admit(10, false, BreakerHalfOpen),
			retryFail(12), admit(21, true, BreakerOpen), admit(22, false, BreakerHalfOpen),
		}},
		{"a probe that never reports does not wedge the circuit", []step{
			retryFail(0), retryFail(0), retryFail(0), admit(10, false, BreakerHalfOpen),
			admit(15, true, BreakerHalfOpen), admit(20, false, BreakerHalfOpen),
		}},
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBreaker("db", cfg)
			for i, s := range tt.steps {
				now := t0.Add(s.at * time.Second)
				if !s.admit {
					b.RecordOutcome(now, s.failed, s.retryable)
					continue
				}
				state := b.State(now)
				refusal := b.Admit(now)
				if (refusal != nil) != s.wantRefused || state != s.wantState {
					t.Fatalf("step %d at %ds: state %s refused %v, want %s refused %v", i, s.at, state, refusal, s.wantState, s.wantRefused)
				}
				if refusal != nil {
					if refusal.RuleID != "HANDLER-005" || refusal.HandlerIdentity != "db" || refusal.RemediationHint == "" ||
						refusal.Details["retry_after_ms"] == nil || !strings.Contains(refusal.Message, "db") {
						t.Fatalf("refusal = %+v", refusal)
					}
				}
			}
		})
	}
}

func TestBreakerRecordWithoutRetryability(t *testing.T) {
	b := NewBreaker("x", BreakerConfig{FailureThreshold: 2, CoolDown: time.Minute})
	now := time.Now()
	b.Record(now, true)
	b.Record(now, true)
	if b.Admit(now) == nil {
		t.Fatal("Record(failed) from a plain Guard host must count")
	}
}

func TestBreakerConcurrentUse(t *testing.T) {
	b := NewBreaker("x", BreakerConfig{FailureThreshold: 1000, CoolDown: time.Minute, HalfOpenProbes: 1})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				now := time.Now()
				if b.Admit(now) == nil {
					b.RecordOutcome(now, true, true)
				}
			}
		}()
	}
	wg.Wait()
	if b.State(time.Now()) != BreakerOpen {
		t.Fatalf("state %s after 4000 retryable failures, want open", b.State(time.Now()))
	}
}

func TestBreakerConfig(t *testing.T) {
	tests := []struct {
		yaml    string
		wantKey string
		want    BreakerConfig
	}{
		{"", "", DefaultBreakerConfig()},
		{"runtime:\n  circuit_breaker:\n    failure_threshold: 3\n    cool_down: 5s\n    half_open_probes: 2\n", "",
			BreakerConfig{FailureThreshold: 3, CoolDown: 5 * time.Second, HalfOpenProbes: 2}},
		{"runtime:\n  circuit_breaker:\n    failure_threshold: 0\n", "", BreakerConfig{CoolDown: DefaultBreakerCoolDown, HalfOpenProbes: 1}},
		{"runtime:\n  circuit_breaker:\n    failure_threshold: -1\n", "runtime.circuit_breaker.failure_threshold", BreakerConfig{}},
		{"runtime:\n  circuit_breaker:\n    cool_down: 0s\n", "runtime.circuit_breaker.cool_down", BreakerConfig{}},
		{"runtime:\n  circuit_breaker:\n    half_open_probes: 0\n", "runtime.circuit_breaker.half_open_probes", BreakerConfig{}},
		{"runtime:\n  circuit_breaker:\n    cooldown: 1s\n", "runtime.circuit_breaker", BreakerConfig{}},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			f, errs := config.Parse("onex.yaml", []byte(tt.yaml))
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			c, errs := LoadConfig(f)
			if tt.wantKey == "" {
				if len(errs) > 0 || c.CircuitBreaker != tt.want {
					t.Fatalf("got %+v, %v; want %+v", c.CircuitBreaker, errs, tt.want)
				}
				return
			}
			if len(errs) == 0 || errs[0].RuleID != "RUNTIME-002" || !strings.HasPrefix(errs[0].Details["key"].(string), tt.wantKey) ||
				errs[0].Line == 0 || errs[0].RemediationHint == "" {
				t.Fatalf("errs = %v, want a located RUNTIME-002 at %s", errs, tt.wantKey)
			}
		})
	}
	if Breakers(BreakerConfig{}) != nil {
		t.Fatal("failure_threshold 0 must disable the breakers")
	}
}

// TestBreakerInHost opens a handler's circuit through the dispatch pipeline:
// retryable failures count, permanent ones do not, and an open circuit answers
// HANDLER-005 without invoking the handler.
func TestBreakerInHost(t *testing.T) {
	opts := Options{Config: testConfig(), Guard: Breakers(BreakerConfig{FailureThreshold: 2, CoolDown: time.Hour, HalfOpenProbes: 1})}
	h := startHost(t, nil, opts, desc("behave", behavePath, "b.ok", "b.fail", "b.transient"))
	dispatch := func(op string) (rule string, retryable bool, hint string) {
		r := mustDecode(t, h.Dispatch(context.Background(), []byte(`{"operation":"`+op+`"}`)))
		if r.Success {
			return "", false, ""
		}
		return r.Error.RuleID, r.Error.Retryable, r.Error.RemediationHint
	}
	for _, s := range []struct{ op, want string }{
		{"b.fail", "HANDLER-001"}, {"b.fail", "HANDLER-001"}, {"b.fail", "HANDLER-001"}, // permanent: circuit stays closed
		{"b.transient", "HANDLER-001"}, {"b.ok", ""}, // a success resets
		{"b.transient", "HANDLER-001"}, {"b.transient", "HANDLER-001"}, // two in a row: open
		{"b.ok", "HANDLER-005"}, {"b.fail", "HANDLER-005"},
	} {
		rule, retryable, hint := dispatch(s.op)
		if rule != s.want {
			t.Fatalf("%s answered %q, want %q", s.op, rule, s.want)
		}
		if rule == "HANDLER-005" && (!retryable || hint == "") {
			t.Fatalf("HANDLER-005 must be retryable with a hint: %v %q", retryable, hint)
		}
	}
}
