package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/testkit"
)

// publisher records what is published and refuses as told.
type publisher struct {
	mu      sync.Mutex
	refuse  int   // writes refused before one is accepted
	err     error // the refusal
	tries   int
	written []bus.Message
}

func (p *publisher) Publish(_ context.Context, msgs ...bus.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tries++
	if p.refuse != 0 {
		if p.refuse > 0 {
			p.refuse--
		}
		return p.err
	}
	p.written = append(p.written, msgs...)
	return nil
}

func fast(maxAttempts int) Config {
	return Config{MaxAttempts: maxAttempts, DeadLetterTopic: "dlq",
		Backoff: Backoff{Initial: time.Microsecond, Max: 10 * time.Microsecond, Multiplier: 2}}
}

func transient(op handler.Command) *Failure {
	return &Failure{RuleID: "HANDLER-001", Message: "backend busy", Retryable: true, Operation: op, Handler: "db", CorrelationID: "c-1"}
}

func TestSettle(t *testing.T) {
	closed := context.Background()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name     string
		max      int
		first    *Failure
		then     []*Failure // what the attempts after the first return, in turn
		ctx      context.Context
		refuse   int   // dead-letter writes refused first (-1: all)
		refusal  error // why
		attempts int
		err      bool
		dead     *Key // the dead letter's counter, nil for none
		redelivs uint64
	}{
		{name: "succeeds on the third attempt", max: 5, first: transient("db.query"),
			then: []*Failure{transient("db.query"), nil}, attempts: 3, redelivs: 2},
		{name: "attempts spent", max: 3, first: transient("db.query"),
			then: []*Failure{transient("db.query"), transient("db.query")}, attempts: 3, redelivs: 2,
			dead: &Key{"db.query", "HANDLER-001"}},
		{name: "one attempt allowed", max: 1, first: transient("db.query"), attempts: 1,
			dead: &Key{"db.query", "HANDLER-001"}},
		{name: "poison at once", max: 5, first: &Failure{RuleID: "ENVELOPE-001", Message: "not JSON"}, attempts: 1,
			dead: &Key{"", "ENVELOPE-001"}},
		{name: "too large at once", max: 5, first: &Failure{RuleID: "ENVELOPE-005", Message: "too large"}, attempts: 1,
			dead: &Key{"", "ENVELOPE-005"}},
		{name: "not retryable: answered only", max: 5, first: &Failure{RuleID: "HANDLER-006", Message: "bad payload", Operation: "db.query"},
			attempts: 1},
		{name: "a retry that fails for good: answered only", max: 5, first: transient("db.query"),
			then: []*Failure{{RuleID: "HANDLER-006", Message: "bad payload", Operation: "db.query"}}, attempts: 2, redelivs: 1},
		{name: "answered elsewhere on a retry", max: 5, first: transient("db.query"), then: []*Failure{nil}, attempts: 2, redelivs: 1},
		{name: "context ended: unacknowledged", max: 5, first: transient("db.query"), ctx: canceled, attempts: 1, err: true},
		{name: "dead letter refused, then written", max: 2, first: transient("db.query"), then: []*Failure{transient("db.query")},
			refuse: 2, refusal: errors.New("topic authorization failed"), attempts: 2, redelivs: 1,
			dead: &Key{"db.query", "HANDLER-001"}},
		{name: "bus closed: not written", max: 1, first: transient("db.query"),
			refuse: -1, refusal: bus.ErrClosed, attempts: 1, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = closed
			}
			var l testkit.Logs
			pub := &publisher{refuse: tc.refuse, err: tc.refusal}
			p := New(fast(tc.max), pub, "onex", slog.New(slog.NewJSONHandler(&l, nil)))
			d := bus.NewDelivery(bus.Message{Topic: "requests", Key: []byte("k"), Value: []byte(`{"operation":"db.query"}`),
				Headers: []bus.Header{{Key: "traceparent", Value: []byte("tp")}}}, 2, 41, nil)
			calls := 0
			again := func() *Failure {
				if calls >= len(tc.then) {
					t.Fatalf("attempt %d was not expected", calls+2)
				}
				calls++
				return tc.then[calls-1]
			}
			n, err := p.Settle(ctx, d, tc.first, again)
			if n != tc.attempts || (err != nil) != tc.err {
				t.Fatalf("Settle = %d, %v; want %d attempts, error %v", n, err, tc.attempts, tc.err)
			}
			c := p.Counts()
			var redelivs uint64
			for _, k := range c.Redeliveries {
				redelivs += k
			}
			if redelivs != tc.redelivs {
				t.Errorf("redeliveries %v, want %d", c.Redeliveries, tc.redelivs)
			}
			if tc.dead == nil {
				if len(pub.written) != 0 || len(c.DeadLetters) != 0 {
					t.Errorf("dead letters %v (counted %v), want none", pub.written, c.DeadLetters)
				}
				return
			}
			if len(pub.written) != 1 || c.DeadLetters[*tc.dead] != 1 || len(c.DeadLetters) != 1 {
				t.Fatalf("dead letters %v (counted %v), want one for %+v", pub.written, c.DeadLetters, *tc.dead)
			}
			m := pub.written[0]
			dl, err := bus.ParseDeadLetter(m)
			if err != nil {
				t.Fatal(err)
			}
			if m.Topic != "dlq" || dl.Topic != "requests" || dl.Partition != 2 || dl.Offset != 41 || dl.Group != "onex" ||
				dl.RuleID != string(tc.dead.RuleID) || dl.Attempts != tc.attempts || dl.LastError == "" || dl.Time.IsZero() ||
				string(dl.Key) != "k" || string(dl.Value) != string(d.Value) || fmt.Sprint(dl.Headers) != fmt.Sprint(d.Headers) {
				t.Errorf("dead letter on %s: %+v", m.Topic, dl)
			}
			if want := tc.refuse; l.Count("dead letter not written; retrying (the request stays unacknowledged)") != want {
				t.Errorf("retry records %d, want %d", l.Count("dead letter not written; retrying (the request stays unacknowledged)"), want)
			}
			if l.Count("request dead-lettered") != 1 {
				t.Error("the dead letter was not logged")
			}
		})
	}
}

func TestHandler(t *testing.T) {
	for _, tc := range []struct {
		name   string
		closed bool // the bus refuses the dead letter: closed
		fails  int  // attempts that fail before one succeeds
		acked  bool
		tries  int
		letter bool
	}{
		{name: "succeeds", acked: true, tries: 1},
		{name: "succeeds on a retry", fails: 2, acked: true, tries: 3},
		{name: "dead-lettered", fails: 9, acked: true, tries: 3, letter: true},
		{name: "dead letter not written: unacknowledged", fails: 9, closed: true, tries: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub := &publisher{}
			if tc.closed {
				pub.refuse, pub.err = -1, bus.ErrClosed
			}
			p := New(fast(3), pub, "onex", nil)
			tries := 0
			fn := p.Handler(func(context.Context, *bus.Delivery) *Failure {
				tries++
				if tries <= tc.fails {
					return transient("db.query")
				}
				return nil
			})
			d := bus.NewDelivery(bus.Message{Topic: "requests", Value: []byte("v")}, 0, 7, nil)
			fn(context.Background(), d)
			if d.Acked() != tc.acked || tries != tc.tries || (len(pub.written) == 1) != tc.letter {
				t.Errorf("acked %v after %d attempts, %d dead letters; want %v, %d, %v", d.Acked(), tries, len(pub.written), tc.acked, tc.tries, tc.letter)
			}
		})
	}
}

// TestBackoff: each delay lies between half and all of the exponential
// value, capped at max.
func TestBackoff(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Multiplier: 3}
	want := []struct{ min, max time.Duration }{
		{50 * time.Millisecond, 100 * time.Millisecond},
		{150 * time.Millisecond, 300 * time.Millisecond},
		{450 * time.Millisecond, 900 * time.Millisecond},
		{500 * time.Millisecond, time.Second}, // capped at max
		{500 * time.Millisecond, time.Second},
	}
	for run := 0; run < 50; run++ {
		eb := b.backOff()
		for i, w := range want {
			if d := eb.NextBackOff(); d < w.min || d > w.max {
				t.Fatalf("delay %d = %s, want within [%s, %s]", i+1, d, w.min, w.max)
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		keys   []string
	}{
		{"defaults", func(*Config) {}, nil},
		{"attempts", func(c *Config) { c.MaxAttempts = 0 }, []string{"runtime.max_attempts"}},
		{"too many attempts", func(c *Config) { c.MaxAttempts = 101 }, []string{"runtime.max_attempts"}},
		{"backoff", func(c *Config) { c.Backoff = Backoff{Initial: 0, Max: -1, Multiplier: 0.5} },
			[]string{"runtime.backoff.initial", "runtime.backoff.max", "runtime.backoff.multiplier"}},
		{"no dead-letter topic", func(c *Config) { c.DeadLetterTopic = "" }, []string{"runtime.dead_letter_topic"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.change(&c)
			errs := c.Validate(config.Empty(), "runtime")
			if len(errs) != len(tc.keys) {
				t.Fatalf("errors %v, want %v", errs, tc.keys)
			}
			for i, e := range errs {
				if e.RuleID != "RUNTIME-002" || e.Details["key"] != tc.keys[i] || e.RemediationHint == "" {
					t.Errorf("error %d: %s %v %q, want RUNTIME-002 at %s with a hint", i, e.RuleID, e.Details["key"], e.RemediationHint, tc.keys[i])
				}
			}
		})
	}
}
