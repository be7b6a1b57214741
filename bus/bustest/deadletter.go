package bustest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/onexhost/onex/bus"
)

// Attempt is one attempt at a delivery: nil when it succeeded, else why it
// failed (a failure worth retrying).
type Attempt func(ctx context.Context, d *bus.Delivery) error

// Layer is the delivery layer that the dead-letter contract runs over a bus;
// the host's is runtime/delivery, which runs the contract over every bus. It
// returns a subscriber for consumer group group on b that runs attempt on
// each delivery: a delivery whose attempt failed is attempted again, up to
// maxAttempts attempts in all, then published to deadLetterTopic as a
// bus.DeadLetter (with a rule id, Attempts the attempts made and LastError
// the last error's message) and acknowledged.
type Layer func(b bus.Bus, group, deadLetterTopic string, maxAttempts int, attempt Attempt) bus.HandlerFunc

// RunDeadLetters runs the dead-letter contract against buses made by newBus,
// through layer: a message that fails every attempt lands on the dead-letter
// topic exactly once, with its provenance (topic, partition and offset as
// delivered, key, value and headers byte for byte, group, attempts, last
// error); a message that succeeds is attempted once and never dead-lettered;
// nothing is lost. Each case gets a fresh bus, closes it, and checks that no
// goroutine outlives it.
func RunDeadLetters(t *testing.T, newBus func(t *testing.T) bus.Bus, f Features, layer Layer) {
	f = f.withDefaults()
	for _, c := range []struct {
		name        string
		maxAttempts int
	}{
		{"ThreeAttempts", 3},
		{"OneAttempt", 1},
	} {
		t.Run("DeadLetters/"+c.name, func(t *testing.T) {
			b := newBus(t)
			defer func() {
				if err := b.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				goleak.VerifyNone(t, f.IgnoreGoroutines...)
			}()
			testDeadLetters(t, &suite{f: f, bus: b, topic: f.Topic(t)}, f.Topic(t), c.maxAttempts, layer)
		})
	}
}

// attempts records, per message value, every delivery attempted.
type attempts struct {
	mu   sync.Mutex
	seen map[string][]*bus.Delivery
}

func (a *attempts) add(d *bus.Delivery) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen[string(d.Value)] = append(a.seen[string(d.Value)], d)
}

func (a *attempts) of(value string) []*bus.Delivery {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seen[value]
}

func testDeadLetters(t *testing.T, s *suite, dlqTopic string, maxAttempts int, layer Layer) {
	const keys, perKey = 4, 6
	// The reader joins first: a bus without a log only delivers to groups
	// that exist when a message is published.
	dlq := newCollector(keys * perKey)
	defer stop(t, s.subscribeTo(t, dlqTopic, "dlq-reader", dlq.fn))

	seen := &attempts{seen: map[string][]*bus.Delivery{}}
	attempt := func(_ context.Context, d *bus.Delivery) error {
		seen.add(d)
		if v := string(d.Value); strings.Contains(v, "fail") {
			return errors.New("refused " + v)
		}
		return nil
	}
	defer stop(t, s.subscribe(t, "g", layer(s.bus, "g", dlqTopic, maxAttempts, attempt)))

	// Per key, messages that succeed and messages that fail every attempt,
	// the last of them failing: one key stays on one partition, in order,
	// so once its last dead letter arrived every earlier one did.
	var failing, succeeding []string
	last := map[string]string{}
	for i := 0; i < perKey; i++ {
		var msgs []bus.Message
		for k := 0; k < keys; k++ {
			key := fmt.Sprintf("key-%d", k)
			value := fmt.Sprintf("%s/%d/ok", key, i)
			if i%2 == 1 {
				value = fmt.Sprintf("%s/%d/fail", key, i)
				failing = append(failing, value)
				last[key] = value
			} else {
				succeeding = append(succeeding, value)
			}
			msgs = append(msgs, bus.Message{Topic: s.topic, Key: []byte(key), Value: []byte(value), Headers: headersOf(value)})
		}
		s.publish(t, msgs...)
	}

	got := map[string]*bus.DeadLetter{}
	pending := len(last)
	timeout := time.NewTimer(s.f.Wait)
	defer timeout.Stop()
	for pending > 0 {
		select {
		case d := <-dlq.ch:
			dl, err := bus.ParseDeadLetter(d.Message)
			if err != nil {
				t.Fatalf("dead-letter topic holds %q: %v", d.Value, err)
			}
			if _, dup := got[string(dl.Value)]; dup {
				t.Fatalf("%s dead-lettered twice", dl.Value)
			}
			got[string(dl.Value)] = dl
			if key := string(dl.Key); last[key] == string(dl.Value) {
				pending--
			}
		case <-timeout.C:
			t.Fatalf("%d of %d dead letters before the hang guard (%s)", len(got), len(failing), s.f.Wait)
		}
	}
	if n := dlq.overflow.Load(); n > 0 {
		t.Fatalf("%d dead letters more than messages", n)
	}
	if len(got) != len(failing) {
		t.Errorf("%d dead letters, want %d (one per failing message)", len(got), len(failing))
	}
	for _, value := range failing {
		dl, ok := got[value]
		if !ok {
			t.Errorf("%s failed every attempt and was not dead-lettered", value)
			continue
		}
		ds := seen.of(value)
		if len(ds) != maxAttempts {
			t.Errorf("%s attempted %d times, want %d", value, len(ds), maxAttempts)
		}
		d := ds[len(ds)-1]
		if dl.Topic != s.topic || dl.Partition != d.Partition || dl.Offset != d.Offset {
			t.Errorf("%s dead-lettered from %s/%d@%d, delivered from %s/%d@%d", value, dl.Topic, dl.Partition, dl.Offset, s.topic, d.Partition, d.Offset)
		}
		if key, _, _ := strings.Cut(value, "/"); string(dl.Key) != key || string(dl.Value) != value || !sameHeaders(dl.Headers, headersOf(value)) {
			t.Errorf("%s: dead letter key %q value %q headers %v, want the original record's %q %q %v", value, dl.Key, dl.Value, dl.Headers, key, value, headersOf(value))
		}
		if dl.Group != "g" || dl.RuleID == "" || dl.Attempts != maxAttempts || dl.LastError != "refused "+value || dl.Time.IsZero() {
			t.Errorf("%s: dead letter %+v, want group g, a rule id, %d attempts, last error %q and a time", value, dl, maxAttempts, "refused "+value)
		}
		// Every earlier message of its key was settled before the last
		// one's dead letter was written.
		if key := string(d.Key); last[key] != value && !d.Acked() {
			t.Errorf("%s: dead-lettered and not acknowledged", value)
		}
	}
	for _, value := range succeeding {
		ds := seen.of(value)
		if len(ds) != 1 {
			t.Errorf("%s succeeded and was attempted %d times, want once", value, len(ds))
			continue
		}
		// Each key ends with a failing message: this one was settled first.
		if !ds[0].Acked() {
			t.Errorf("%s: succeeded and not acknowledged", value)
		}
		if _, ok := got[value]; ok {
			t.Errorf("%s succeeded and was dead-lettered", value)
		}
	}
}

// headersOf are the headers published with the message value: one that
// names it, one of bytes that are not text.
func headersOf(value string) []bus.Header {
	return []bus.Header{{Key: "origin", Value: []byte(value)}, {Key: "binary", Value: []byte{0, 0xff}}}
}

// sameHeaders reports whether a dead letter kept the original headers, in
// order, byte for byte.
func sameHeaders(got, want []bus.Header) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i].Key != want[i].Key || !bytes.Equal(got[i].Value, want[i].Value) {
			return false
		}
	}
	return true
}
