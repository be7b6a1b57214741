// Package memory is the embedded, in-process event bus: the default of a host
// that needs no broker.
//
// Each topic has a fixed number of partitions; a message goes to the partition
// of its key (round robin without a key), and keeps its order there. Every
// consumer group that exists when a message is published receives it; within a
// group, each partition is assigned to one member at a time (members share the
// partitions in turn), so a message reaches exactly one member and messages of
// one partition are handed out in order. A group keeps its own bounded queue per
// partition: when a consumer falls behind and the queue is full, Publish blocks
// (back-pressure) until there is room, its context ends, or the bus closes.
// Nothing is buffered without bound.
//
// The bus keeps no log: a message published to a topic that no group subscribes
// to is accepted and discarded, and a group that subscribes later starts with the
// messages published after it. A group outlives its members: messages queued for
// a group without members wait for the next member.
//
// Published messages are copied, so publishers may reuse their buffers; the
// delivered Key, Value and Headers are shared by all groups and must be treated
// as read-only.
//
// Retries and dead letters are the host's, as on every bus (runtime/delivery):
// a request that fails retryably is attempted up to max_attempts and then
// published to the dead-letter topic, where, the bus keeping no log, only a
// group subscribed at that moment receives it.
package memory

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
)

// Config is the memory section of the bus configuration.
type Config struct {
	// Partitions is the number of partitions of every topic.
	Partitions int `yaml:"partitions" json:"partitions"`
	// Buffer is how many messages a consumer group may have queued per
	// partition before Publish blocks.
	Buffer int `yaml:"buffer" json:"buffer"`
}

// Defaults.
const (
	DefaultPartitions = 4
	DefaultBuffer     = 1024
	maxPartitions     = 1024
	maxBuffer         = 1 << 20
)

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{Partitions: DefaultPartitions, Buffer: DefaultBuffer} }

// Validate checks the values; path is the key path of the section in onex.yaml
// (e.g. bus.memory), f locates the errors (nil is allowed).
func (c Config) Validate(f *config.File, path string) []*diag.ValidationError {
	var errs []*diag.ValidationError
	if c.Partitions < 1 || c.Partitions > maxPartitions {
		errs = append(errs, f.Errorf(path+".partitions", "must be between 1 and %d, got %d", maxPartitions, c.Partitions))
	}
	if c.Buffer < 1 || c.Buffer > maxBuffer {
		errs = append(errs, f.Errorf(path+".buffer", "must be between 1 and %d, got %d", maxBuffer, c.Buffer))
	}
	return errs
}

// Bus is the in-memory bus. Its zero value is not usable: call New.
type Bus struct {
	cfg     Config
	seed    maphash.Seed
	closing chan struct{}

	mu     sync.Mutex
	closed bool
	topics map[string]*topic
	// known is a copy of topics for lookups without the lock (every publish
	// looks its topic up); replaced under mu when a topic is added.
	known atomic.Pointer[map[string]*topic]

	pumps sync.WaitGroup
}

var _ bus.Bus = (*Bus)(nil)

// New returns a bus; invalid values in cfg are replaced by the defaults.
func New(cfg Config) *Bus {
	if cfg.Partitions < 1 || cfg.Partitions > maxPartitions {
		cfg.Partitions = DefaultPartitions
	}
	if cfg.Buffer < 1 || cfg.Buffer > maxBuffer {
		cfg.Buffer = DefaultBuffer
	}
	b := &Bus{cfg: cfg, seed: maphash.MakeSeed(), closing: make(chan struct{}), topics: map[string]*topic{}}
	b.known.Store(&map[string]*topic{})
	return b
}

type topic struct {
	name   string
	parts  []partition
	rr     atomic.Uint32
	groups atomic.Pointer[[]*group] // copy on write, read without locks by Publish
	byName map[string]*group        // under Bus.mu
}

type partition struct {
	// mu serialises publishes to the partition, so offsets and queue order agree.
	mu   sync.Mutex
	next int64
}

type group struct {
	name   string
	queues []chan *bus.Delivery

	mu      sync.Mutex
	members []*subscription
	changed chan struct{} // closed and replaced whenever members change
}

func (b *Bus) topic(name string) (*topic, error) {
	select {
	case <-b.closing:
		return nil, bus.ErrClosed
	default:
	}
	if t, ok := (*b.known.Load())[name]; ok {
		return t, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, bus.ErrClosed
	}
	t, ok := b.topics[name]
	if !ok {
		t = &topic{name: name, parts: make([]partition, b.cfg.Partitions), byName: map[string]*group{}}
		t.groups.Store(&[]*group{})
		b.topics[name] = t
		known := maps.Clone(b.topics)
		b.known.Store(&known)
	}
	return t, nil
}

func (b *Bus) partitionOf(t *topic, key []byte) int {
	n := len(t.parts)
	if n == 1 {
		return 0
	}
	if key == nil {
		return int(t.rr.Add(1) % uint32(n))
	}
	return int(maphash.Bytes(b.seed, key) % uint64(n))
}

// Publish hands each message to every consumer group of its topic, in order. It
// blocks while a group's queue for the message's partition is full, until ctx
// ends (the error wraps ctx.Err(); messages before the blocked one are
// published) or the bus closes (bus.ErrClosed). Under a handler invocation
// context it publishes nothing and returns ARCH-002.
func (b *Bus) Publish(ctx context.Context, msgs ...bus.Message) error {
	if err := bus.CheckPublish(ctx); err != nil {
		return err
	}
	for i := range msgs {
		if msgs[i].Topic == "" {
			return errors.New("memory bus: message without a topic")
		}
	}
	for i := range msgs {
		if err := b.publish(ctx, &msgs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (b *Bus) publish(ctx context.Context, m *bus.Message) error {
	t, err := b.topic(m.Topic)
	if err != nil {
		return err
	}
	pi := b.partitionOf(t, m.Key)
	msg := copyMessage(m)
	p := &t.parts[pi]
	p.mu.Lock()
	defer p.mu.Unlock()
	off := p.next
	p.next++
	for _, g := range *t.groups.Load() {
		d := bus.NewDelivery(msg, int32(pi), off, nil)
		select {
		case g.queues[pi] <- d:
			continue
		default:
		}
		select {
		case g.queues[pi] <- d:
		case <-ctx.Done():
			return fmt.Errorf("memory bus: publish to %s: %w", m.Topic, ctx.Err())
		case <-b.closing:
			return bus.ErrClosed
		}
	}
	return nil
}

func copyMessage(m *bus.Message) bus.Message {
	c := bus.Message{Topic: m.Topic}
	size := len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		size += len(h.Value)
	}
	buf := make([]byte, size) // one buffer for key, value and header values
	off := 0
	take := func(b []byte) []byte {
		s := buf[off : off+len(b) : off+len(b)]
		copy(s, b)
		off += len(b)
		return s
	}
	if m.Key != nil {
		c.Key = take(m.Key)
	}
	c.Value = take(m.Value)
	if len(m.Headers) > 0 {
		c.Headers = make([]bus.Header, len(m.Headers))
		for i, h := range m.Headers {
			c.Headers[i] = bus.Header{Key: h.Key}
			if h.Value != nil {
				c.Headers[i].Value = take(h.Value)
			}
		}
	}
	return c
}

// Subscribe adds a member to the consumer group of topic, creating the group
// (and its queues) on first use. fn is called from the bus's goroutines, one call
// at a time per partition, with a context that ends when the subscription stops.
// ctx bounds only the call itself: the subscription lasts until Stop or Close.
func (b *Bus) Subscribe(ctx context.Context, topicName, groupName string, fn bus.HandlerFunc) (bus.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if topicName == "" || groupName == "" || fn == nil {
		return nil, errors.New("memory bus: subscribe needs a topic, a group and a function")
	}
	t, err := b.topic(topicName)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	s := &subscription{fn: fn, ctx: sctx, cancel: cancel, idle: make(chan struct{})}

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		cancel()
		return nil, bus.ErrClosed
	}
	g, ok := t.byName[groupName]
	if !ok {
		g = &group{name: groupName, queues: make([]chan *bus.Delivery, len(t.parts)), changed: make(chan struct{})}
		for i := range g.queues {
			g.queues[i] = make(chan *bus.Delivery, b.cfg.Buffer)
		}
		t.byName[groupName] = g
		// Publishers take the group list without locks: copy on write, under
		// every partition lock so no publish sees half a registration.
		for i := range t.parts {
			t.parts[i].mu.Lock()
		}
		groups := append(slices.Clone(*t.groups.Load()), g)
		t.groups.Store(&groups)
		for i := range t.parts {
			t.parts[i].mu.Unlock()
		}
		for i := range g.queues {
			b.pumps.Add(1)
			go b.pump(g, i)
		}
	}
	s.group = g
	g.mu.Lock()
	g.members = append(g.members, s)
	g.notifyLocked()
	g.mu.Unlock()
	return s, nil
}

func (g *group) notifyLocked() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// assign returns the member that partition p is assigned to, counting the call
// as in progress, or nil and a channel that closes when members change.
func (g *group) assign(p int) (*subscription, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.members) == 0 {
		return nil, g.changed
	}
	s := g.members[p%len(g.members)]
	s.inflight++
	return s, nil
}

// release ends a call of s.fn.
func (g *group) release(s *subscription) {
	g.mu.Lock()
	s.inflight--
	if s.stopped && s.inflight == 0 {
		close(s.idle)
	}
	g.mu.Unlock()
}

// pump hands the deliveries of one partition of one group to its members, in
// order, until the bus closes.
func (b *Bus) pump(g *group, p int) {
	defer b.pumps.Done()
	q := g.queues[p]
	for {
		var d *bus.Delivery
		select {
		case d = <-q: // the queue is seldom empty under load: no select on two
		default:
			select {
			case d = <-q:
			case <-b.closing:
				return
			}
		}
		// After Close the group has no member: deliver returns false.
		if !b.deliver(g, p, d) {
			return
		}
	}
}

func (b *Bus) deliver(g *group, p int, d *bus.Delivery) bool {
	for {
		s, changed := g.assign(p)
		if s == nil {
			select {
			case <-changed:
				continue
			case <-b.closing:
				return false
			}
		}
		s.fn(s.ctx, d)
		g.release(s)
		return true
	}
}

// Close stops every subscription (their contexts end), waits for the bus's
// goroutines, and discards queued messages. Publish and Subscribe then return
// bus.ErrClosed. Close is idempotent.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.closing)
	var subs []*subscription
	for _, t := range b.topics {
		for _, g := range t.byName {
			g.mu.Lock()
			subs = append(subs, g.members...)
			g.members = nil
			g.mu.Unlock()
		}
	}
	b.mu.Unlock()
	for _, s := range subs {
		s.cancel()
	}
	b.pumps.Wait()
	return nil
}

// Lag returns, per topic and group ("topic/group"), how many messages are queued
// and not yet handed to a member.
func (b *Bus) Lag() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]int{}
	for _, t := range b.topics {
		for _, g := range t.byName {
			n := 0
			for _, q := range g.queues {
				n += len(q)
			}
			out[t.name+"/"+g.name] = n
		}
	}
	return out
}

type subscription struct {
	group  *group
	fn     bus.HandlerFunc
	ctx    context.Context
	cancel context.CancelFunc
	// Under group.mu: calls of fn in progress, and whether Stop was called;
	// idle closes when both say the member is done.
	inflight int
	stopped  bool
	idle     chan struct{}
}

// Stop removes the member from its group (its partitions pass to the other
// members, or wait for the next one), waits for its calls in progress to return
// or for ctx, and ends its context. fn is not called after Stop returns.
func (s *subscription) Stop(ctx context.Context) error {
	g := s.group
	g.mu.Lock()
	if !s.stopped {
		s.stopped = true
		if i := slices.Index(g.members, s); i >= 0 {
			g.members = slices.Delete(g.members, i, i+1)
			g.notifyLocked()
		}
		if s.inflight == 0 {
			close(s.idle)
		}
	}
	g.mu.Unlock()
	select {
	case <-s.idle:
		s.cancel()
		return nil
	case <-ctx.Done():
		// The call in progress learns through its context that it should end.
		s.cancel()
		return fmt.Errorf("memory bus: stop: %w", ctx.Err())
	}
}
