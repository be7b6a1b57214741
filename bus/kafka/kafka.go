// Package kafka is the event bus on Apache Kafka (franz-go): the bus of hosts
// that share their work, on one machine or many, through consumer groups.
//
// Delivery is at least once. Each member of a group polls the partitions the
// group assigned to it (cooperative-sticky balancing), hands the records of a
// partition to the subscriber in order, and commits a partition's offset only
// over the longest prefix of records the subscriber acknowledged — for the
// runtime host, after the response (or dead letter) was acknowledged by the
// broker. Nothing acknowledged is answered again by a well-behaved group, and
// nothing unacknowledged is lost: a crashed member's uncommitted records go to
// the member that takes its partitions over.
//
// Records delivered and not yet acknowledged are bounded per member
// (max_in_flight). When a rebalance takes partitions away, or the member
// stops, the member waits up to revoke_timeout for the records it delivered
// from them, commits what was acknowledged and leaves the rest to the next
// owner.
//
// Publish returns when the broker acknowledged every record (acks=all, the
// idempotent producer, so the client's retries never duplicate a record).
//
// Retries and dead letters are the runtime's (runtime/delivery), the same on
// every bus: the host acknowledges a record once its response — or, before
// that, its dead letter — was acknowledged by the broker, so a dead letter
// that cannot be written holds its partition's commit. Records for the
// configured dead-letter topic are produced on a client of their own, so
// that a dead-letter topic refusing writes never disturbs the responses.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/onexhost/onex/bus"
)

// Bus is the Kafka bus. Build it with New.
type Bus struct {
	cfg  Config
	log  *slog.Logger
	opts []kgo.Opt // shared by every client: brokers, TLS, SASL, logger
	prod *kgo.Client
	// dlq produces the records of the dead-letter topic: one that refuses
	// writes (deleted, unauthorised) is retried on its own client, apart
	// from the response traffic.
	dlq *kgo.Client

	closing chan struct{} // closed by Close

	// outs are the records of PublishAsync, reused once produced; published
	// is their promise (one function value for every record).
	outs      sync.Pool
	published func(*kgo.Record, error)

	mu     sync.Mutex
	closed bool
	subs   map[*subscription]struct{}
}

var _ bus.Bus = (*Bus)(nil)

// New connects a bus. cfg must be valid (Config.Validate); logger may be nil.
// When cfg.CreateTopics asks for it, the request, response and dead-letter
// topics are created if missing (ctx bounds that).
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Bus, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("bus", "kafka")
	if errs := cfg.Validate(nil, "bus.kafka"); len(errs) > 0 {
		return nil, fmt.Errorf("kafka: invalid configuration: %s", errs[0].Message)
	}
	opts, err := cfg.clientOpts(kgoLogger{logger})
	if err != nil {
		return nil, err
	}
	popts := append(opts[:len(opts):len(opts)],
		kgo.RequiredAcks(kgo.AllISRAcks()), // the idempotent producer needs acks from every in-sync replica
		kgo.ProducerLinger(time.Millisecond),
	)
	prod, err := kgo.NewClient(popts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: producer: %w", err)
	}
	dlq, err := kgo.NewClient(popts...)
	if err != nil {
		prod.Close()
		return nil, fmt.Errorf("kafka: dead-letter producer: %w", err)
	}
	b := &Bus{cfg: cfg, log: logger, opts: opts, prod: prod, dlq: dlq, closing: make(chan struct{}), subs: map[*subscription]struct{}{}}
	b.outs.New = func() any { return new(outRecord) }
	b.published = b.onPublished
	if cfg.CreateTopics.Partitions > 0 {
		if err := b.createTopics(ctx); err != nil {
			prod.Close()
			dlq.Close()
			return nil, err
		}
	}
	return b, nil
}

// createTopics creates the configured topics that do not exist yet.
func (b *Bus) createTopics(ctx context.Context) error {
	var topics []string
	for _, t := range []string{b.cfg.Topics.Requests, b.cfg.Topics.Responses, b.cfg.Topics.DeadLetters} {
		if t != "" {
			topics = append(topics, t)
		}
	}
	return EnsureTopics(ctx, b.prod, int32(b.cfg.CreateTopics.Partitions), int16(b.cfg.CreateTopics.ReplicationFactor), topics...)
}

// EnsureTopics creates the topics that do not exist yet, with the given
// partitions and replication factor (-1: the broker's default), through cl.
func EnsureTopics(ctx context.Context, cl *kgo.Client, partitions int32, replicationFactor int16, topics ...string) error {
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, partitions, replicationFactor, nil, topics...)
	if err != nil {
		return fmt.Errorf("kafka: create topics: %w", err)
	}
	var errs []error
	for _, t := range resp.Sorted() {
		if t.Err != nil && !errors.Is(t.Err, kerr.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("kafka: create topic %s: %w", t.Topic, t.Err))
		}
	}
	return errors.Join(errs...)
}

// Config returns the bus's configuration.
func (b *Bus) Config() Config { return b.cfg }

// Publish produces msgs and returns when the broker acknowledged all of them.
// Messages without a key are spread over the partitions; messages with one go
// to the partition of their key (murmur2, as the Java client does), so they
// keep their order. It blocks while the producer's buffer is full, until ctx
// ends. Messages that all go to the dead-letter topic (Topics.DeadLetters)
// are produced on the dead-letter client.
func (b *Bus) Publish(ctx context.Context, msgs ...bus.Message) error {
	if err := bus.CheckPublish(ctx); err != nil {
		return err
	}
	if b.isClosed() {
		return bus.ErrClosed
	}
	if len(msgs) == 0 {
		return nil
	}
	cl := b.prod
	if b.deadLetters(msgs) {
		cl = b.dlq
	}
	return b.produce(ctx, cl, msgs)
}

// deadLetters reports whether every message goes to the dead-letter topic.
func (b *Bus) deadLetters(msgs []bus.Message) bool {
	dlq := b.cfg.Topics.DeadLetters
	if dlq == "" {
		return false
	}
	for i := range msgs {
		if msgs[i].Topic != dlq {
			return false
		}
	}
	return true
}

func (b *Bus) produce(ctx context.Context, cl *kgo.Client, msgs []bus.Message) error {
	recs := make([]*kgo.Record, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		if m.Topic == "" {
			return fmt.Errorf("kafka: publish: message %d has no topic", i)
		}
		recs[i] = &kgo.Record{Topic: m.Topic, Key: m.Key, Value: m.Value, Headers: recordHeaders(m.Headers)}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		if errors.Is(err, kgo.ErrClientClosed) {
			return bus.ErrClosed
		}
		return fmt.Errorf("kafka: publish: %w", err)
	}
	return nil
}

var _ bus.AsyncPublisher = (*Bus)(nil)

// PublishAsync produces m without waiting for the broker: it returns once the
// record is buffered (blocking while the producer's buffer is full, until ctx
// ends) and calls done once the broker acknowledged it or it failed. m is
// copied. Records of one key keep their order.
func (b *Bus) PublishAsync(ctx context.Context, m bus.Message, done func(error)) {
	if err := bus.CheckPublish(ctx); err != nil {
		done(err)
		return
	}
	if b.isClosed() {
		done(bus.ErrClosed)
		return
	}
	if m.Topic == "" {
		done(errors.New("kafka: publish: message has no topic"))
		return
	}
	o := b.outs.Get().(*outRecord)
	o.fill(&m)
	o.done = done
	b.prod.Produce(ctx, &o.rec, b.published)
}

// outRecord is a record of PublishAsync: a copy of the message (key, value
// and header values in one buffer) and the caller's done. It is reused once
// its promise ran: the producer does not touch a record after calling its
// promise. rec is the first field, so the promise, which is handed &rec,
// finds its outRecord without a closure per record.
type outRecord struct {
	rec  kgo.Record
	buf  []byte
	hs   [2]kgo.RecordHeader
	done func(error)
}

// fill makes o.rec a copy of m that shares no memory with it.
func (o *outRecord) fill(m *bus.Message) {
	n := len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		n += len(h.Value)
	}
	if cap(o.buf) < n {
		o.buf = make([]byte, 0, n)
	}
	buf := o.buf[:0]
	take := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		start := len(buf)
		buf = append(buf, b...) // within capacity: earlier slices stay valid
		return buf[start:len(buf):len(buf)]
	}
	o.rec = kgo.Record{Topic: m.Topic, Key: take(m.Key), Value: take(m.Value)}
	if len(m.Headers) > 0 {
		hs := o.hs[:0]
		if len(m.Headers) > len(o.hs) {
			hs = make([]kgo.RecordHeader, 0, len(m.Headers))
		}
		for _, h := range m.Headers {
			hs = append(hs, kgo.RecordHeader{Key: h.Key, Value: take(h.Value)})
		}
		o.rec.Headers = hs
	}
}

// onPublished is the promise of every PublishAsync record.
func (b *Bus) onPublished(r *kgo.Record, err error) {
	o := (*outRecord)(unsafe.Pointer(r)) // r is &o.rec, o's first field
	done := o.done
	o.done = nil
	o.rec = kgo.Record{}
	o.hs = [2]kgo.RecordHeader{}
	b.outs.Put(o)
	switch {
	case err == nil:
	case errors.Is(err, kgo.ErrClientClosed):
		err = bus.ErrClosed
	default:
		err = fmt.Errorf("kafka: publish: %w", err)
	}
	done(err)
}

func recordHeaders(hs []bus.Header) []kgo.RecordHeader {
	if len(hs) == 0 {
		return nil
	}
	out := make([]kgo.RecordHeader, len(hs))
	for i, h := range hs {
		out[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
	}
	return out
}

func busHeaders(hs []kgo.RecordHeader) []bus.Header {
	if len(hs) == 0 {
		return nil
	}
	out := make([]bus.Header, len(hs))
	for i, h := range hs {
		out[i] = bus.Header{Key: h.Key, Value: h.Value}
	}
	return out
}

// Subscribe joins the consumer group on topic: the group's partitions are
// shared among its members, on any host. It returns once the member has its
// first assignment, or, the member still joining, once no broker answered or
// after rebalance_timeout (each logged). fn is called from the member's poll
// goroutine, in order within a partition, with a context that ends when the
// subscription stops or the bus closes.
func (b *Bus) Subscribe(ctx context.Context, topic, group string, fn bus.HandlerFunc) (bus.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if topic == "" || group == "" || fn == nil {
		return nil, errors.New("kafka: subscribe needs a topic, a group and a function")
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, bus.ErrClosed
	}
	s, err := newSubscription(b, topic, group, fn)
	if err != nil {
		b.mu.Unlock()
		return nil, err
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	if err := s.awaitJoin(ctx, b.cfg.RebalanceTimeout); err != nil {
		_ = s.Stop(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("kafka: subscribe %s/%s: %w", topic, group, err)
	}
	return s, nil
}

// Lag returns, per "topic/group" of this bus's subscriptions, how many
// records wait in the partitions its members own: the broker's high watermark
// less the next offset to hand out, as of the members' last fetches. Other
// hosts of the group report their own partitions.
func (b *Bus) Lag() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]int, len(b.subs))
	for s := range b.subs {
		out[s.topic+"/"+s.group] += s.lag.total()
	}
	return out
}

func (b *Bus) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

func (b *Bus) forget(s *subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.subs, s)
}

// Close stops every subscription (each commits what was acknowledged and
// leaves its group) and closes the producer; Publish then returns ErrClosed.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.closing)
	subs := make([]*subscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	var errs []error
	for _, s := range subs {
		s.cancel() // end calls of fn that wait on their context
		ctx, cancel := context.WithTimeout(context.Background(), b.cfg.RevokeTimeout)
		if err := s.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
		cancel()
	}
	b.prod.Close()
	b.dlq.Close()
	return errors.Join(errs...)
}

// kgoLogger passes the client's warnings and errors to slog.
type kgoLogger struct{ l *slog.Logger }

func (k kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	switch level {
	case kgo.LogLevelError:
		k.l.Error(msg, keyvals...)
	case kgo.LogLevelWarn:
		k.l.Warn(msg, keyvals...)
	case kgo.LogLevelInfo:
		k.l.Info(msg, keyvals...)
	default:
		k.l.Debug(msg, keyvals...)
	}
}
