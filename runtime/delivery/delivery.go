// Package delivery is the host's delivery policy, the same over every bus: a
// request whose handler fails with a retryable error is attempted again with
// exponential backoff, up to max_attempts; then — and at once for a record
// that cannot even be decoded (ENVELOPE-001 not JSON, ENVELOPE-005 too large)
// — it is written to the dead-letter topic (bus.DeadLetter: the original key,
// value and headers, and the provenance: topic, partition, offset, consumer
// group, rule id, attempts, last error). Other failures (unknown operation,
// rejected payload, policy denial) are only answered: retrying cannot change
// them.
//
// A dead letter that the bus does not accept is retried with the same
// backoff — never dropped — until it is, the context ends or the bus closes;
// meanwhile its delivery stays unacknowledged (on Kafka, its partition's
// commit waits). The response to a dead-lettered request is published after
// the dead letter, and the delivery is acknowledged only then: at least once.
//
// The host settles its deliveries on its workers (Policy.Settle); a consumer
// of its own wraps its subscriber (Policy.Handler). Buses know nothing of the
// policy: they deliver, publish and acknowledge.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
)

// Failure is how one attempt at a delivered request failed.
type Failure struct {
	// RuleID, Message and Retryable are the failure of the response.
	RuleID    handler.RuleID
	Message   string
	Retryable bool
	// Operation and Handler are the route the request took; both are empty
	// when it was refused before routing.
	Operation handler.Command
	Handler   string
	// CorrelationID is the response's correlation id.
	CorrelationID string
}

// Error returns the rule id and the message.
func (f *Failure) Error() string { return string(f.RuleID) + ": " + f.Message }

// Poison reports whether a failure with rule id is dead-lettered at once: the
// record could not even be decoded, so no attempt can ever succeed and no
// requester may be waiting for its answer.
func Poison(rule handler.RuleID) bool {
	return rule == ruleid.EnvelopeMalformed || rule == ruleid.EnvelopeTooLarge
}

// Key identifies a counter: the routed operation (empty when the request was
// refused before routing) and the rule id of the failure.
type Key struct {
	Operation handler.Command
	RuleID    handler.RuleID
}

// Counts are what a policy did since it was made.
type Counts struct {
	// Redeliveries counts the attempts after a retryable failure, by that
	// failure.
	Redeliveries map[Key]uint64
	// DeadLetters counts the requests written to the dead-letter topic, by
	// their last failure.
	DeadLetters map[Key]uint64
}

// Policy applies a Config over one bus for one consumer group. Build it with
// New; it is safe for concurrent use.
type Policy struct {
	cfg   Config
	pub   bus.Publisher
	group string
	log   *slog.Logger

	mu           sync.Mutex
	redeliveries map[Key]uint64
	deadLetters  map[Key]uint64
}

// New makes the policy of the consumer group that reads deliveries from a bus
// and publishes dead letters through pub. cfg should be valid
// (Config.Validate); logger may be nil.
func New(cfg Config, pub bus.Publisher, group string, logger *slog.Logger) *Policy {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Policy{cfg: cfg, pub: pub, group: group, log: logger,
		redeliveries: map[Key]uint64{}, deadLetters: map[Key]uint64{}}
}

// Config returns the policy's configuration.
func (p *Policy) Config() Config { return p.cfg }

// Counts returns a snapshot of the counters.
func (p *Policy) Counts() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := Counts{Redeliveries: make(map[Key]uint64, len(p.redeliveries)), DeadLetters: make(map[Key]uint64, len(p.deadLetters))}
	for k, n := range p.redeliveries {
		c.Redeliveries[k] = n
	}
	for k, n := range p.deadLetters {
		c.DeadLetters[k] = n
	}
	return c
}

func (p *Policy) count(m map[Key]uint64, f *Failure) {
	p.mu.Lock()
	m[Key{Operation: f.Operation, RuleID: f.RuleID}]++
	p.mu.Unlock()
}

// Settles reports whether Settle has anything to do with a first attempt that
// failed with f: a retryable or a poison failure. The host asks first, so a
// request that is simply answered costs nothing more.
func Settles(f *Failure) bool { return f.Retryable || Poison(f.RuleID) }

// Settle settles delivery d after its first attempt failed with f. A
// retryable failure is attempted again — again runs the request once more and
// returns its failure, or nil when it succeeded or was answered elsewhere —
// after a backoff, until an attempt succeeds, fails in a way that is not
// retryable, or max_attempts were made. If the last failure is retryable, or
// a poison failure (Poison), d is then written to the dead-letter topic. The
// caller answers the request with its last attempt and acknowledges d once
// Settle returned nil.
//
// Settle returns how many attempts were made, and an error when ctx ended
// first or the dead letter could not be written: d must then stay
// unacknowledged, for the bus to deliver it again.
func (p *Policy) Settle(ctx context.Context, d *bus.Delivery, f *Failure, again func() *Failure) (int, error) {
	attempts := 0
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		attempts++
		if attempts > 1 { // the first attempt was made by the caller
			p.count(p.redeliveries, f)
			f = again()
		}
		switch {
		case f == nil:
			return struct{}{}, nil
		case !f.Retryable:
			return struct{}{}, backoff.Permanent(f)
		}
		return struct{}{}, f
	}, backoff.WithBackOff(p.cfg.Backoff.backOff()), backoff.WithMaxTries(uint(max(p.cfg.MaxAttempts, 1))), backoff.WithMaxElapsedTime(0))
	if err == nil {
		return attempts, nil
	}
	if !errors.As(err, new(*Failure)) {
		return attempts, fmt.Errorf("delivery: %s/%d@%d not settled after %d attempts: %w", d.Topic, d.Partition, d.Offset, attempts, err)
	}
	if !Settles(f) {
		return attempts, nil
	}
	return attempts, p.deadLetter(ctx, d, f, attempts)
}

// deadLetter writes d to the dead-letter topic, retrying a write the bus
// refuses until it is accepted, ctx ends or the bus closes.
func (p *Policy) deadLetter(ctx context.Context, d *bus.Delivery, f *Failure, attempts int) error {
	dl := bus.DeadLetter{
		Topic: d.Topic, Partition: d.Partition, Offset: d.Offset,
		Key: d.Key, Value: d.Value, Headers: d.Headers,
		Group:  p.group,
		RuleID: string(f.RuleID), Attempts: attempts, LastError: f.Message,
		Handler: f.Handler, CorrelationID: f.CorrelationID,
		Time: time.Now(),
	}
	msgs := []bus.Message{dl.Message(p.cfg.DeadLetterTopic)}
	try := 0
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		try++
		err := p.pub.Publish(ctx, msgs...)
		var av *diag.ArchitectureViolationError
		if errors.Is(err, bus.ErrClosed) || errors.As(err, &av) {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, err
	}, backoff.WithBackOff(p.cfg.Backoff.backOff()), backoff.WithMaxElapsedTime(0), backoff.WithNotify(func(err error, next time.Duration) {
		p.log.Error("dead letter not written; retrying (the request stays unacknowledged)", "dead_letter_topic", p.cfg.DeadLetterTopic,
			"original_topic", d.Topic, "partition", d.Partition, "offset", d.Offset, "try", try, "retry_in", next.String(), "error", err.Error())
	}))
	if err != nil {
		return fmt.Errorf("delivery: dead letter for %s/%d@%d not written: %w", d.Topic, d.Partition, d.Offset, err)
	}
	p.count(p.deadLetters, f)
	p.log.Warn("request dead-lettered", "dead_letter_topic", p.cfg.DeadLetterTopic,
		"original_topic", d.Topic, "partition", d.Partition, "offset", d.Offset,
		"rule_id", string(f.RuleID), "attempts", attempts, "correlation_id", f.CorrelationID)
	return nil
}

// Attempt runs the request of a delivery once and returns how it failed, or
// nil when it succeeded (or failed in a way that needs no settling).
type Attempt func(ctx context.Context, d *bus.Delivery) *Failure

// Handler wraps attempt into a subscriber that applies the policy on the
// bus's goroutine: each delivery is attempted and settled (Settle), then
// acknowledged; one whose settling failed is left unacknowledged. It is the
// policy for consumers other than the host, which settles on its workers.
func (p *Policy) Handler(attempt Attempt) bus.HandlerFunc {
	return func(ctx context.Context, d *bus.Delivery) {
		if f := attempt(ctx, d); f != nil && Settles(f) {
			if _, err := p.Settle(ctx, d, f, func() *Failure { return attempt(ctx, d) }); err != nil {
				p.log.Error("delivery left unacknowledged", "topic", d.Topic, "partition", d.Partition, "offset", d.Offset, "error", err.Error())
				return
			}
		}
		d.Ack()
	}
}
