package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/bus/memory"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/testkit"
	"github.com/onexhost/onex/runtime/delivery"
)

// deliveries collects the deliveries of one topic for a consumer group of
// its own.
type deliveries struct{ ch chan *bus.Delivery }

func watchTopic(t *testing.T, b bus.Bus, topic string) *deliveries {
	t.Helper()
	w := &deliveries{ch: make(chan *bus.Delivery, 64)}
	sub, err := b.Subscribe(context.Background(), topic, "watch-"+topic, func(_ context.Context, d *bus.Delivery) {
		d.Ack()
		w.ch <- d
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Stop(context.Background()) })
	return w
}

func (w *deliveries) take(t *testing.T) *bus.Delivery {
	t.Helper()
	select {
	case d := <-w.ch:
		return d
	case <-time.After(time.Minute):
		t.Fatal("no delivery before the hang guard")
		return nil
	}
}

// flakyPath is a handler whose f.run fails (retryably) on its first two
// attempts per envelope id, then succeeds.
var flakyPath = unique("example.com/test/flaky")

var flakyCalls = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

func init() {
	handler.Register(handler.Factory{ImportPath: flakyPath, Verbs: []string{"run"},
		New: func(json.RawMessage) (handler.Handler, error) {
			return handlerFunc(func(_ context.Context, inv *handler.Invocation) (handler.Output, error) {
				flakyCalls.Lock()
				flakyCalls.n[inv.EnvelopeID()]++
				n := flakyCalls.n[inv.EnvelopeID()]
				flakyCalls.Unlock()
				if n <= 2 {
					return handler.Output{}, handler.Transient(nil, "backend busy (attempt %d)", n)
				}
				return handler.Output{Result: map[string]int{"attempts": n}}, nil
			}), nil
		}})
}

// TestBusDeliveryPolicy: on the memory bus, as on any, a retryable failure
// is attempted again up to max_attempts and then dead-lettered with its
// provenance, a record that cannot be decoded is dead-lettered at once, and
// other failures are only answered; every request gets one response, after
// its dead letter.
func TestBusDeliveryPolicy(t *testing.T) {
	envID := uuid.NewString
	for _, tc := range []struct {
		name        string
		maxAttempts int
		raw         func(id string) string
		success     bool
		rule        handler.RuleID // of the response and the dead letter
		op          handler.Command
		deadLetter  int // attempts recorded in the dead letter; 0: none
		redelivered uint64
	}{
		{name: "retried until it succeeds", maxAttempts: 5,
			raw:     func(id string) string { return `{"envelope_id":"` + id + `","operation":"f.run"}` },
			success: true, redelivered: 2},
		{name: "retries spent", maxAttempts: 2,
			raw:  func(id string) string { return `{"envelope_id":"` + id + `","operation":"f.run"}` },
			rule: "HANDLER-001", op: "f.run", deadLetter: 2, redelivered: 1},
		{name: "always failing", maxAttempts: 4,
			raw:  func(id string) string { return `{"envelope_id":"` + id + `","operation":"b.transient"}` },
			rule: "HANDLER-001", op: "b.transient", deadLetter: 4, redelivered: 3},
		{name: "one attempt", maxAttempts: 1,
			raw:  func(id string) string { return `{"envelope_id":"` + id + `","operation":"b.transient"}` },
			rule: "HANDLER-001", op: "b.transient", deadLetter: 1},
		{name: "not JSON: at once", maxAttempts: 5,
			raw:  func(string) string { return `this is not JSON` },
			rule: "ENVELOPE-001", deadLetter: 1},
		{name: "too large: at once", maxAttempts: 5,
			raw: func(id string) string {
				return `{"envelope_id":"` + id + `","payload":"` + strings.Repeat("x", 300) + `"}`
			},
			rule: "ENVELOPE-005", deadLetter: 1},
		{name: "not retryable: only answered", maxAttempts: 5,
			raw:  func(id string) string { return `{"envelope_id":"` + id + `","operation":"b.fail"}` },
			rule: "HANDLER-001"},
		{name: "unknown operation: only answered", maxAttempts: 5,
			raw:  func(id string) string { return `{"envelope_id":"` + id + `","operation":"b.nope"}` },
			rule: "ENVELOPE-003"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := memory.New(memory.DefaultConfig())
			cfg := testConfig()
			cfg.MaxEnvelopeBytes = 256
			cfg.Delivery.MaxAttempts = tc.maxAttempts
			h := startHost(t, b, Options{Config: cfg},
				desc("flaky", flakyPath, "f.run"), desc("behave", behavePath, "b.transient", "b.fail"))
			requests := watchTopic(t, b, cfg.RequestTopic)
			dlq := watchTopic(t, b, cfg.Delivery.DeadLetterTopic)
			rs := collectResponses(t, b, 1)
			msg := bus.Message{Topic: cfg.RequestTopic, Key: []byte("key-1"), Value: []byte(tc.raw(envID())),
				Headers: []bus.Header{{Key: "traceparent", Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")}}}
			if err := b.Publish(context.Background(), msg); err != nil {
				t.Fatal(err)
			}
			orig := requests.take(t)
			r := rs.take(t, 1)[0]
			if r.Success != tc.success || !tc.success && r.Error.RuleID != string(tc.rule) {
				t.Fatalf("answered %+v %+v, want success %v rule %s", r, r.Error, tc.success, tc.rule)
			}
			// The response goes out after the dead letter: the counts are
			// final now.
			st := h.Stats()
			var redelivered uint64
			for _, n := range st.Redeliveries {
				redelivered += n
			}
			if redelivered != tc.redelivered {
				t.Errorf("%d redeliveries %v, want %d", redelivered, st.Redeliveries, tc.redelivered)
			}
			if tc.deadLetter == 0 {
				if len(st.DeadLetters) != 0 {
					t.Errorf("dead letters %v, want none", st.DeadLetters)
				}
				return
			}
			if n := st.DeadLetters[delivery.Key{Operation: tc.op, RuleID: tc.rule}]; n != 1 || len(st.DeadLetters) != 1 {
				t.Errorf("dead letters %v, want one for %s/%s", st.DeadLetters, tc.op, tc.rule)
			}
			dl, err := bus.ParseDeadLetter(dlq.take(t).Message)
			if err != nil {
				t.Fatal(err)
			}
			if dl.Topic != cfg.RequestTopic || dl.Partition != orig.Partition || dl.Offset != orig.Offset || dl.Group != cfg.ConsumerGroup ||
				string(dl.Key) != "key-1" || string(dl.Value) != string(msg.Value) ||
				dl.RuleID != string(tc.rule) || dl.Attempts != tc.deadLetter || dl.LastError == "" ||
				dl.CorrelationID != r.CorrelationID || dl.Time.IsZero() {
				t.Errorf("dead letter %+v, want %s/%d@%d of group %s, %s after %d attempts", dl, cfg.RequestTopic, orig.Partition, orig.Offset, cfg.ConsumerGroup, tc.rule, tc.deadLetter)
			}
			if tc.op != "" && dl.Handler == "" {
				t.Errorf("dead letter of a routed request names no handler: %+v", dl)
			}
			if len(dl.Headers) != 1 || dl.Headers[0].Key != "traceparent" {
				t.Errorf("original headers not kept: %+v", dl.Headers)
			}
		})
	}
}

// refusingBus is a memory bus that refuses the first writes to one topic and
// records the order of the publishes.
type refusingBus struct {
	*memory.Bus
	topic   string
	refuse  int
	mu      sync.Mutex
	order   []string
	refused chan struct{}
}

func (b *refusingBus) Publish(ctx context.Context, msgs ...bus.Message) error {
	for _, m := range msgs {
		b.mu.Lock()
		refuse := m.Topic == b.topic && b.refuse > 0
		if refuse {
			b.refuse--
			b.order = append(b.order, "refused "+m.Topic)
		} else {
			b.order = append(b.order, m.Topic)
		}
		b.mu.Unlock()
		if refuse {
			b.refused <- struct{}{}
			return errors.New("topic authorization failed")
		}
	}
	return b.Bus.Publish(ctx, msgs...)
}

// TestDeadLetterRefusedIsRetried: a dead letter the bus refuses is written
// again with backoff, never dropped, and the request is answered only after
// it was accepted.
func TestDeadLetterRefusedIsRetried(t *testing.T) {
	cfg := testConfig()
	b := &refusingBus{Bus: memory.New(memory.DefaultConfig()), topic: cfg.Delivery.DeadLetterTopic, refuse: 3, refused: make(chan struct{}, 3)}
	var logs testkit.Logs
	h := New(&fakeSource{descs: []*handler.Descriptor{desc("behave", behavePath, "b.ok")}}, nil, nil, b, logs.Logger(), Options{Config: cfg})
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer h.Stop(context.Background())
	dlq := watchTopic(t, b, cfg.Delivery.DeadLetterTopic)
	rs := collectResponses(t, b, 1)
	if err := b.Publish(context.Background(), bus.Message{Topic: cfg.RequestTopic, Value: []byte("secret-looking value, not JSON")}); err != nil {
		t.Fatal(err)
	}
	r := rs.take(t, 1)[0]
	if r.Success || r.Error.RuleID != "ENVELOPE-001" {
		t.Fatalf("answered %+v", r)
	}
	if dl, err := bus.ParseDeadLetter(dlq.take(t).Message); err != nil || dl.RuleID != "ENVELOPE-001" {
		t.Fatalf("dead letter %+v, %v", dl, err)
	}
	b.mu.Lock()
	order := strings.Join(b.order, ", ")
	b.mu.Unlock()
	dlqTopic, request := cfg.Delivery.DeadLetterTopic, cfg.RequestTopic
	want := strings.Join([]string{request, "refused " + dlqTopic, "refused " + dlqTopic, "refused " + dlqTopic, dlqTopic, cfg.ResponseTopic}, ", ")
	if order != want {
		t.Errorf("publishes %s, want %s", order, want)
	}
	if n := len(logs.Records(t, "dead letter not written; retrying (the request stays unacknowledged)")); n != 3 {
		t.Errorf("%d retry records, want 3:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "secret-looking") {
		t.Error("the record's value reached the logs")
	}
}
