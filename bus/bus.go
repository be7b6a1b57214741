// Package bus defines the event bus that the runtime — and only the runtime —
// publishes to and consumes from. Handlers never see it: they return results.
//
// Implementations: bus/memory (the embedded default) and bus/kafka; both pass the
// conformance suite in bus/bustest.
//
// A bus moves records and knows nothing of the runtime. Retries and dead
// letters are the runtime's delivery policy, the same over every bus: it reads
// a delivery's provenance (Delivery: topic, partition, offset), publishes a
// DeadLetter to the dead-letter topic, and acknowledges the delivery.
package bus

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
)

// Default topics.
const (
	DefaultRequestTopic    = "onex.cmd.requests.v1"
	DefaultResponseTopic   = "onex.evt.responses.v1"
	DefaultDeadLetterTopic = "onex.dlq.requests.v1"
)

// ErrClosed is returned by operations on a closed bus or subscription.
var ErrClosed = errors.New("bus: closed")

// Header is a message header.
type Header struct {
	Key   string
	Value []byte
}

// Message is one record on a topic. Messages with the same Key keep their order.
type Message struct {
	Topic   string
	Key     []byte
	Value   []byte
	Headers []Header
}

// Header returns the value of the first header named key.
func (m *Message) Header(key string) ([]byte, bool) {
	for _, h := range m.Headers {
		if h.Key == key {
			return h.Value, true
		}
	}
	return nil, false
}

// Publisher publishes messages. Handlers never hold one (ARCH-002).
type Publisher interface {
	// Publish returns when the bus has accepted every message (for Kafka: when the
	// broker acknowledged them). It blocks while buffers are full (back-pressure)
	// until ctx is done. A publish under an invocation context fails with an
	// *diag.ArchitectureViolationError (ARCH-002) and publishes nothing.
	Publish(ctx context.Context, msgs ...Message) error
}

// Delivery is a message handed to a subscriber, with its provenance.
type Delivery struct {
	Message
	Partition int32
	Offset    int64
	ack       func()
	acked     atomic.Bool
}

// NewDelivery is used by bus implementations; ack runs once, on the first Ack.
func NewDelivery(m Message, partition int32, offset int64, ack func()) *Delivery {
	return &Delivery{Message: m, Partition: partition, Offset: offset, ack: ack}
}

// Ack marks the delivery fully handled (its response or dead letter accepted by
// the bus). A bus forgets or commits a delivery only after Ack; later calls are
// no-ops.
func (d *Delivery) Ack() {
	if d.acked.CompareAndSwap(false, true) && d.ack != nil {
		d.ack()
	}
}

// Acked reports whether Ack was called.
func (d *Delivery) Acked() bool { return d.acked.Load() }

// HandlerFunc receives deliveries. The bus calls it from its own goroutines, in
// order within a partition; it may return before processing finishes (handing the
// work on) and blocks to apply back-pressure. It must Ack each delivery once.
type HandlerFunc func(ctx context.Context, d *Delivery)

// Subscriber subscribes to topics in consumer groups: every group receives every
// message; within a group each message goes to exactly one member.
type Subscriber interface {
	Subscribe(ctx context.Context, topic, group string, fn HandlerFunc) (Subscription, error)
}

// Subscription is one member of a consumer group.
type Subscription interface {
	// Stop stops intake: fn is not called again after Stop returns. Deliveries
	// already handed out may still be acked. Stop waits for in-progress calls of
	// fn to return, or for ctx.
	Stop(ctx context.Context) error
}

// Bus is a publisher and subscriber that can be closed.
type Bus interface {
	Publisher
	Subscriber
	// Close stops every subscription and releases the bus; Publish after Close
	// returns ErrClosed.
	Close() error
}

// AsyncPublisher is implemented by buses that can take a message without
// waiting until it is stored. PublishAsync returns once the message is
// queued (blocking while the bus's buffer is full, until ctx ends) and calls
// done exactly once: nil when the bus accepted the message (for Kafka: the
// broker acknowledged it), else why not. The bus copies what it keeps. Under
// an invocation context done gets ARCH-002 and nothing is published.
type AsyncPublisher interface {
	PublishAsync(ctx context.Context, msg Message, done func(error))
}

// HealthChecker is implemented by buses that can tell whether they are
// connected (a Kafka bus reaching a broker, a memory bus not closed); the
// host's readiness (/readyz) consults it. Health returns nil when connected.
type HealthChecker interface {
	Health(ctx context.Context) error
}

type invocationKey struct{}

// WithInvocation marks ctx as the context of a handler invocation. The runtime
// marks every invocation; buses refuse to publish under the mark.
func WithInvocation(ctx context.Context) context.Context {
	return context.WithValue(ctx, invocationKey{}, true)
}

// InInvocation reports whether ctx is (derived from) a handler invocation.
func InInvocation(ctx context.Context) bool {
	v, _ := ctx.Value(invocationKey{}).(bool)
	return v
}

// CheckPublish is called by every bus at the start of Publish: under an invocation
// context it returns ARCH-002, and the bus publishes nothing.
func CheckPublish(ctx context.Context) error {
	if !InInvocation(ctx) {
		return nil
	}
	e := diag.New(ruleid.ArchHandlerPublish, "publish attempted from inside a handler invocation; handlers return results and the runtime publishes them")
	return &diag.ArchitectureViolationError{ValidationError: e}
}
