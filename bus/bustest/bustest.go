// Package bustest is the conformance suite every bus implementation passes:
//
//	func TestConformance(t *testing.T) {
//		bustest.Run(t, func(t *testing.T) bus.Bus { return memory.New(memory.DefaultConfig()) },
//			bustest.Features{Partitions: 4, MaxBuffered: 1024})
//	}
//
// Each case gets a fresh bus from newBus, closes it, and checks that no
// goroutine outlives it.
//
// RunDeadLetters is the dead-letter contract: retries and dead letters are
// the runtime's delivery policy, not the bus's, so the contract runs a
// delivery layer (Layer) over the bus. runtime/delivery runs it over every
// bus; a new bus is added there.
package bustest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
)

// Features describe what the bus under test does, where buses may differ.
type Features struct {
	// Partitions is how many partitions a new topic has. With more than one,
	// members of a group must share the load.
	Partitions int
	// Persistent buses deliver to a group the messages published before it
	// subscribed (a log); others only those published after.
	Persistent bool
	// MaxBuffered bounds how many messages the bus accepts for one partition of
	// a group whose consumer does not return; beyond it Publish must block. 0
	// skips the back-pressure case (say why in the calling test).
	MaxBuffered int
	// Topic returns a fresh topic name; the default is a random name.
	Topic func(t *testing.T) string
	// Leak options for goroutines the bus's own libraries keep.
	IgnoreGoroutines []goleak.Option
	// Wait bounds how long a case waits for a delivery before failing (a hang
	// guard, not a timing assertion); the default is 30s.
	Wait time.Duration
}

// withDefaults fills in what the caller left out.
func (f Features) withDefaults() Features {
	if f.Partitions < 1 {
		f.Partitions = 1
	}
	if f.Topic == nil {
		f.Topic = func(*testing.T) string { return "bustest." + uuid.NewString() }
	}
	if f.Wait <= 0 {
		f.Wait = 30 * time.Second
	}
	return f
}

// Run runs every conformance case against buses made by newBus. The
// dead-letter contract, which needs a delivery layer, is RunDeadLetters.
func Run(t *testing.T, newBus func(t *testing.T) bus.Bus, f Features) {
	f = f.withDefaults()
	cases := []struct {
		name string
		fn   func(*testing.T, *suite)
	}{
		{"PublishSubscribe", testPublishSubscribe},
		{"MessageIsolation", testMessageIsolation},
		{"OrderPerKey", testOrderPerKey},
		{"EveryGroup", testEveryGroup},
		{"GroupLoadBalance", testGroupLoadBalance},
		{"StopHandsOver", testStopHandsOver},
		{"ConcurrentPublishers", testConcurrentPublishers},
		{"Provenance", testProvenance},
		{"BackPressure", testBackPressure},
		{"PublishUnderInvocation", testPublishUnderInvocation},
		{"PublishBeforeSubscribe", testPublishBeforeSubscribe},
		{"Close", testClose},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &suite{f: f, bus: newBus(t), topic: f.Topic(t)}
			defer func() {
				if err := s.bus.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				goleak.VerifyNone(t, f.IgnoreGoroutines...)
			}()
			c.fn(t, s)
		})
	}
}

type suite struct {
	f     Features
	bus   bus.Bus
	topic string
}

// collector records deliveries and acks them. It never blocks the bus: a
// delivery beyond its capacity (a bus delivering more than was published) is
// counted as overflow.
type collector struct {
	ch       chan *bus.Delivery
	overflow atomic.Int64
}

func newCollector(n int) *collector { return &collector{ch: make(chan *bus.Delivery, n)} }

func (c *collector) fn(_ context.Context, d *bus.Delivery) {
	d.Ack()
	select {
	case c.ch <- d:
	default:
		c.overflow.Add(1)
	}
}

// take waits for n deliveries.
func (s *suite) take(t *testing.T, c *collector, n int) []*bus.Delivery {
	t.Helper()
	out := make([]*bus.Delivery, 0, n)
	timeout := time.NewTimer(s.f.Wait)
	defer timeout.Stop()
	for len(out) < n {
		select {
		case d := <-c.ch:
			out = append(out, d)
		case <-timeout.C:
			t.Fatalf("received %d of %d messages before the hang guard (%s)", len(out), n, s.f.Wait)
		}
	}
	if k := c.overflow.Load(); k > 0 {
		t.Fatalf("%d deliveries more than published", k)
	}
	return out
}

func (s *suite) subscribe(t *testing.T, group string, fn bus.HandlerFunc) bus.Subscription {
	t.Helper()
	return s.subscribeTo(t, s.topic, group, fn)
}

func (s *suite) subscribeTo(t *testing.T, topic, group string, fn bus.HandlerFunc) bus.Subscription {
	t.Helper()
	sub, err := s.bus.Subscribe(context.Background(), topic, group, fn)
	if err != nil {
		t.Fatalf("Subscribe(%s, %s): %v", topic, group, err)
	}
	return sub
}

func (s *suite) publish(t *testing.T, msgs ...bus.Message) {
	t.Helper()
	if err := s.bus.Publish(context.Background(), msgs...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

func (s *suite) msg(key string, value string) bus.Message {
	m := bus.Message{Topic: s.topic, Value: []byte(value)}
	if key != "" {
		m.Key = []byte(key)
	}
	return m
}

func stop(t *testing.T, sub bus.Subscription) {
	t.Helper()
	if err := sub.Stop(context.Background()); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

func testPublishSubscribe(t *testing.T, s *suite) {
	c := newCollector(16)
	defer stop(t, s.subscribe(t, "g", c.fn))
	want := bus.Message{Topic: s.topic, Key: []byte("k"), Value: []byte(`{"n":1}`),
		Headers: []bus.Header{{Key: "h1", Value: []byte("v1")}, {Key: "h2", Value: []byte("")}}}
	s.publish(t, want)
	d := s.take(t, c, 1)[0]
	if d.Topic != s.topic || !bytes.Equal(d.Key, want.Key) || !bytes.Equal(d.Value, want.Value) {
		t.Errorf("delivered %s %q %q, want %s %q %q", d.Topic, d.Key, d.Value, want.Topic, want.Key, want.Value)
	}
	for _, h := range want.Headers {
		if v, ok := d.Header(h.Key); !ok || !bytes.Equal(v, h.Value) {
			t.Errorf("header %s = %q (present %v), want %q", h.Key, v, ok, h.Value)
		}
	}
	if !d.Acked() {
		t.Error("Ack did not mark the delivery")
	}
}

func testMessageIsolation(t *testing.T, s *suite) {
	c := newCollector(4)
	defer stop(t, s.subscribe(t, "g", c.fn))
	buf := []byte("original")
	s.publish(t, bus.Message{Topic: s.topic, Value: buf})
	copy(buf, "MUTATED!")
	if d := s.take(t, c, 1)[0]; string(d.Value) != "original" {
		t.Errorf("delivered %q: the bus kept the publisher's buffer", d.Value)
	}
}

func testOrderPerKey(t *testing.T, s *suite) {
	const keys, perKey = 5, 200
	c := newCollector(keys * perKey)
	defer stop(t, s.subscribe(t, "g", c.fn))
	for i := 0; i < perKey; i++ {
		msgs := make([]bus.Message, 0, keys)
		for k := 0; k < keys; k++ {
			msgs = append(msgs, s.msg("key-"+strconv.Itoa(k), strconv.Itoa(i)))
		}
		s.publish(t, msgs...)
	}
	last := map[string]int{}
	for _, d := range s.take(t, c, keys*perKey) {
		n, _ := strconv.Atoi(string(d.Value))
		if prev, ok := last[string(d.Key)]; ok && n != prev+1 {
			t.Fatalf("key %s: message %d after %d", d.Key, n, prev)
		}
		last[string(d.Key)] = n
	}
	if s.f.Partitions == 1 {
		// One partition: the whole topic keeps publish order.
		// A persistent bus replays the first part's messages to the new group
		// first; the order checked is the one of the messages that follow.
		skip := 0
		if s.f.Persistent {
			skip = keys * perKey
		}
		c2 := newCollector(skip + 100)
		defer stop(t, s.subscribe(t, "g2", c2.fn))
		for i := 0; i < 100; i++ {
			s.publish(t, s.msg("k"+strconv.Itoa(i), strconv.Itoa(i)))
		}
		for i, d := range s.take(t, c2, skip+100)[skip:] {
			if string(d.Value) != strconv.Itoa(i) {
				t.Fatalf("topic order broken at %d: got %s", i, d.Value)
			}
		}
	}
}

func testEveryGroup(t *testing.T, s *suite) {
	const n = 50
	a, b := newCollector(n), newCollector(n)
	defer stop(t, s.subscribe(t, "a", a.fn))
	defer stop(t, s.subscribe(t, "b", b.fn))
	for i := 0; i < n; i++ {
		s.publish(t, s.msg("k"+strconv.Itoa(i), strconv.Itoa(i)))
	}
	for name, c := range map[string]*collector{"a": a, "b": b} {
		seen := map[string]bool{}
		for _, d := range s.take(t, c, n) {
			if seen[string(d.Value)] {
				t.Errorf("group %s got %s twice", name, d.Value)
			}
			seen[string(d.Value)] = true
		}
	}
}

// tagged records which member received each message.
type tagged struct {
	member string
	d      *bus.Delivery
}

func testGroupLoadBalance(t *testing.T, s *suite) {
	const n = 400
	ch := make(chan tagged, n)
	member := func(name string) bus.HandlerFunc {
		return func(_ context.Context, d *bus.Delivery) {
			d.Ack()
			select {
			case ch <- tagged{name, d}:
			default: // more deliveries than messages: reported below as a duplicate
			}
		}
	}
	defer stop(t, s.subscribe(t, "g", member("m1")))
	defer stop(t, s.subscribe(t, "g", member("m2")))
	for i := 0; i < n; i++ {
		s.publish(t, s.msg("key-"+strconv.Itoa(i), strconv.Itoa(i)))
	}
	got := map[string]string{}
	perMember := map[string]int{}
	timeout := time.NewTimer(s.f.Wait)
	defer timeout.Stop()
	for len(got) < n {
		select {
		case m := <-ch:
			if prev, dup := got[string(m.d.Value)]; dup {
				t.Fatalf("message %s delivered to %s and %s", m.d.Value, prev, m.member)
			}
			got[string(m.d.Value)] = m.member
			perMember[m.member]++
		case <-timeout.C:
			t.Fatalf("received %d of %d messages", len(got), n)
		}
	}
	if s.f.Partitions > 1 && (perMember["m1"] == 0 || perMember["m2"] == 0) {
		t.Errorf("one member did all the work: %v", perMember)
	}
	t.Logf("split between members: %v", perMember)
}

func testStopHandsOver(t *testing.T, s *suite) {
	const n = 100
	var stopped atomic.Bool
	var lateCalls atomic.Int32
	first := newCollector(n)
	sub1 := s.subscribe(t, "g", func(ctx context.Context, d *bus.Delivery) {
		if stopped.Load() {
			lateCalls.Add(1)
		}
		first.fn(ctx, d)
	})
	second := newCollector(n)
	defer stop(t, s.subscribe(t, "g", second.fn))
	stop(t, sub1)
	stopped.Store(true)
	for i := 0; i < n; i++ {
		s.publish(t, s.msg("key-"+strconv.Itoa(i), strconv.Itoa(i)))
	}
	s.take(t, second, n)
	if k := lateCalls.Load(); k > 0 {
		t.Errorf("a stopped member was called %d times", k)
	}
	if err := sub1.Stop(context.Background()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func testConcurrentPublishers(t *testing.T, s *suite) {
	const publishers, each = 4, 250
	c := newCollector(publishers * each)
	defer stop(t, s.subscribe(t, "g", c.fn))
	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	for p := 0; p < publishers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				m := s.msg(fmt.Sprintf("p%d", p), fmt.Sprintf("%d-%d", p, i))
				if err := s.bus.Publish(context.Background(), m); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Publish: %v", err)
	}
	seen := map[string]bool{}
	next := map[string]int{}
	for _, d := range s.take(t, c, publishers*each) {
		if seen[string(d.Value)] {
			t.Fatalf("%s delivered twice", d.Value)
		}
		seen[string(d.Value)] = true
		var p, i int
		fmt.Sscanf(string(d.Value), "%d-%d", &p, &i)
		if i != next[string(d.Key)] {
			t.Fatalf("publisher %d: message %d arrived when %d was expected", p, i, next[string(d.Key)])
		}
		next[string(d.Key)]++
	}
}

func testProvenance(t *testing.T, s *suite) {
	const n = 60
	c := newCollector(n)
	defer stop(t, s.subscribe(t, "g", c.fn))
	for i := 0; i < n; i++ {
		s.publish(t, s.msg("key-"+strconv.Itoa(i%7), strconv.Itoa(i)))
	}
	lastOffset := map[int32]int64{}
	for _, d := range s.take(t, c, n) {
		if d.Topic != s.topic {
			t.Errorf("delivery topic %q, want %q", d.Topic, s.topic)
		}
		if d.Partition < 0 || int(d.Partition) >= s.f.Partitions {
			t.Errorf("partition %d outside [0,%d)", d.Partition, s.f.Partitions)
		}
		if prev, ok := lastOffset[d.Partition]; ok && d.Offset <= prev {
			t.Errorf("partition %d: offset %d after %d", d.Partition, d.Offset, prev)
		}
		lastOffset[d.Partition] = d.Offset
	}
}

func testBackPressure(t *testing.T, s *suite) {
	if s.f.MaxBuffered <= 0 {
		t.Skip("the bus declares no bound on buffered messages (Features.MaxBuffered = 0)")
	}
	release := make(chan struct{})
	var received atomic.Int64
	all := make(chan struct{})
	var accepted int64 = -1
	var mu sync.Mutex
	sub := s.subscribe(t, "g", func(ctx context.Context, d *bus.Delivery) {
		select {
		case <-release:
		case <-ctx.Done():
			return
		}
		d.Ack()
		n := received.Add(1)
		mu.Lock()
		if n == accepted {
			close(all)
		}
		mu.Unlock()
	})
	defer stop(t, sub)
	var releaseOnce sync.Once
	defer releaseOnce.Do(func() { close(release) }) // before Stop, also when failing
	// One key, so one partition: the consumer holds the first message and the
	// rest queue. A bounded bus refuses to queue more than MaxBuffered; the
	// deadline only ends the blocked Publish (it is not what the case measures).
	limit := s.f.MaxBuffered + 16
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	type result struct {
		n   int64
		err error
	}
	published := make(chan result, 1)
	go func() {
		var r result
		for r.n = 0; r.n < int64(limit); r.n++ {
			if r.err = s.bus.Publish(ctx, s.msg("one-key", strconv.FormatInt(r.n, 10))); r.err != nil {
				break
			}
		}
		published <- r
	}()
	var r result
	select {
	case r = <-published:
	case <-time.After(s.f.Wait):
		t.Fatalf("Publish did not return after its context ended")
	}
	n, err := r.n, r.err
	if err == nil {
		t.Fatalf("published %d messages to a consumer that does not return; the bus buffers without bound", limit)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blocked Publish ended with %v, want an error wrapping context.DeadlineExceeded", err)
	}
	// The consumer holds one message and the bus may have taken one more off
	// the queue to hand it over.
	if n > int64(s.f.MaxBuffered)+2 {
		t.Fatalf("accepted %d messages for a consumer that does not return, more than MaxBuffered (%d) allows", n, s.f.MaxBuffered)
	}
	t.Logf("Publish blocked after %d messages", n)
	mu.Lock()
	accepted = n
	if received.Load() == n {
		close(all)
	}
	mu.Unlock()
	releaseOnce.Do(func() { close(release) })
	select {
	case <-all:
	case <-time.After(s.f.Wait):
		t.Fatalf("delivered %d of the %d accepted messages", received.Load(), n)
	}
}

func testPublishUnderInvocation(t *testing.T, s *suite) {
	c := newCollector(4)
	defer stop(t, s.subscribe(t, "g", c.fn))
	ctx := bus.WithInvocation(context.Background())
	err := s.bus.Publish(ctx, s.msg("k", "smuggled"))
	var av *diag.ArchitectureViolationError
	if !errors.As(err, &av) || av.RuleID != ruleid.ArchHandlerPublish || av.RemediationHint == "" {
		t.Fatalf("Publish under an invocation = %v, want ARCH-002 ArchitectureViolationError with a hint", err)
	}
	// Same key, so same partition: were the refused message published, it
	// would arrive before the sentinel.
	s.publish(t, s.msg("k", "sentinel"))
	if d := s.take(t, c, 1)[0]; string(d.Value) != "sentinel" {
		t.Fatalf("first delivery is %q: the refused message was published", d.Value)
	}
}

func testPublishBeforeSubscribe(t *testing.T, s *suite) {
	s.publish(t, s.msg("k", "early"))
	c := newCollector(4)
	defer stop(t, s.subscribe(t, "g", c.fn))
	s.publish(t, s.msg("k", "late"))
	got := s.take(t, c, 1)
	if s.f.Persistent {
		if string(got[0].Value) != "early" {
			t.Errorf("persistent bus delivered %q first, want the earlier message", got[0].Value)
		}
		s.take(t, c, 1)
		return
	}
	if string(got[0].Value) != "late" {
		t.Errorf("delivered %q, want only messages published after subscribing", got[0].Value)
	}
}

func testClose(t *testing.T, s *suite) {
	blocked := make(chan struct{})
	sub := s.subscribe(t, "g", func(ctx context.Context, d *bus.Delivery) {
		close(blocked)
		<-ctx.Done() // Close must end the subscription's context
	})
	s.publish(t, s.msg("k", "x"))
	<-blocked
	if err := s.bus.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.bus.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.bus.Publish(context.Background(), s.msg("k", "after")); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Publish after Close = %v, want bus.ErrClosed", err)
	}
	if _, err := s.bus.Subscribe(context.Background(), s.topic, "g2", func(context.Context, *bus.Delivery) {}); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Subscribe after Close = %v, want bus.ErrClosed", err)
	}
	_ = sub.Stop(context.Background()) // allowed after Close; nothing left to stop
}
