package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/runtime"
)

// Headers of a dead-letter record. The record keeps the original key and
// value byte for byte (so it can be replayed by producing it again to the
// request topic); its provenance is in these headers, next to the original
// headers.
const (
	HeaderOriginalTopic     = "onex.dlq.original_topic"
	HeaderOriginalPartition = "onex.dlq.original_partition"
	HeaderOriginalOffset    = "onex.dlq.original_offset"
	HeaderGroup             = "onex.dlq.group"
	HeaderRuleID            = "onex.dlq.rule_id"
	HeaderAttempts          = "onex.dlq.attempts"
	HeaderLastError         = "onex.dlq.last_error"
	HeaderHandler           = "onex.dlq.handler"
	HeaderTimestamp         = "onex.dlq.timestamp"
	// HeaderCorrelationID and HeaderTraceparent are also set on responses.
	HeaderCorrelationID = "correlation_id"
	HeaderTraceparent   = "traceparent"

	headerPrefix = "onex.dlq."
)

// DeadLetter is a request record that the host gave up on, with where it came
// from and why.
type DeadLetter struct {
	// Topic, Partition and Offset locate the original record.
	Topic     string
	Partition int32
	Offset    int64
	// Key, Value and Headers are the original record's.
	Key     []byte
	Value   []byte
	Headers []bus.Header
	// Group is the consumer group that gave up.
	Group string
	// RuleID, Attempts and LastError say why: the rule of the last failure
	// (ENVELOPE-001 for a record that is not JSON, HANDLER-001 for a handler
	// error…), how many times the handler ran, and the last error message.
	RuleID    string
	Attempts  int
	LastError string
	// Handler and CorrelationID identify the request, when known.
	Handler       string
	CorrelationID string
	// Time is when the record was dead-lettered.
	Time time.Time
}

// Message encodes the dead letter as a record for topic.
func (dl *DeadLetter) Message(topic string) bus.Message {
	hs := make([]bus.Header, 0, len(dl.Headers)+11)
	for _, h := range dl.Headers {
		// A replayed dead letter that fails again gets fresh provenance.
		if !strings.HasPrefix(h.Key, headerPrefix) && (h.Key != HeaderCorrelationID || dl.CorrelationID == "") {
			hs = append(hs, h)
		}
	}
	add := func(k, v string) {
		if v != "" {
			hs = append(hs, bus.Header{Key: k, Value: []byte(v)})
		}
	}
	add(HeaderOriginalTopic, dl.Topic)
	add(HeaderOriginalPartition, strconv.FormatInt(int64(dl.Partition), 10))
	add(HeaderOriginalOffset, strconv.FormatInt(dl.Offset, 10))
	add(HeaderGroup, dl.Group)
	add(HeaderRuleID, dl.RuleID)
	add(HeaderAttempts, strconv.Itoa(dl.Attempts))
	add(HeaderLastError, dl.LastError)
	add(HeaderHandler, dl.Handler)
	add(HeaderTimestamp, dl.Time.UTC().Format(time.RFC3339Nano))
	add(HeaderCorrelationID, dl.CorrelationID)
	return bus.Message{Topic: topic, Key: dl.Key, Value: dl.Value, Headers: hs}
}

// ParseDeadLetter decodes a record of the dead-letter topic.
func ParseDeadLetter(m bus.Message) (*DeadLetter, error) {
	dl := &DeadLetter{Key: m.Key, Value: m.Value}
	var errs []error
	for _, h := range m.Headers {
		v := string(h.Value)
		var err error
		switch h.Key {
		case HeaderOriginalTopic:
			dl.Topic = v
		case HeaderOriginalPartition:
			var p int64
			p, err = strconv.ParseInt(v, 10, 32)
			dl.Partition = int32(p)
		case HeaderOriginalOffset:
			dl.Offset, err = strconv.ParseInt(v, 10, 64)
		case HeaderGroup:
			dl.Group = v
		case HeaderRuleID:
			dl.RuleID = v
		case HeaderAttempts:
			dl.Attempts, err = strconv.Atoi(v)
		case HeaderLastError:
			dl.LastError = v
		case HeaderHandler:
			dl.Handler = v
		case HeaderTimestamp:
			dl.Time, err = time.Parse(time.RFC3339Nano, v)
		case HeaderCorrelationID:
			dl.CorrelationID = v
		default:
			dl.Headers = append(dl.Headers, h)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("header %s: %w", h.Key, err))
		}
	}
	if dl.Topic == "" || dl.RuleID == "" {
		errs = append(errs, errors.New("not a dead letter: no original topic or rule id"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("kafka: dead letter: %w", err)
	}
	return dl, nil
}

// WriteDeadLetter writes dl to the dead-letter topic and returns once the
// broker acknowledged it. A failed write is retried with backoff — a dead
// letter is never dropped — until it succeeds, ctx ends or the bus closes;
// the delivery stays unacknowledged meanwhile, so its partition's commit
// waits.
func (b *Bus) WriteDeadLetter(ctx context.Context, dl *DeadLetter) error {
	if err := bus.CheckPublish(ctx); err != nil {
		return err
	}
	msgs := []bus.Message{dl.Message(b.cfg.Topics.DeadLetters)}
	for try := 1; ; try++ {
		err := bus.ErrClosed
		if !b.isClosed() {
			err = b.produce(ctx, b.dlq, msgs)
		}
		if err == nil {
			b.log.Warn("request dead-lettered", "dead_letter_topic", b.cfg.Topics.DeadLetters,
				"original_topic", dl.Topic, "partition", dl.Partition, "offset", dl.Offset,
				"rule_id", dl.RuleID, "attempts", dl.Attempts, "correlation_id", dl.CorrelationID)
			return nil
		}
		if errors.Is(err, bus.ErrClosed) || ctx.Err() != nil {
			return fmt.Errorf("kafka: dead letter for %s/%d@%d not written: %w", dl.Topic, dl.Partition, dl.Offset, err)
		}
		delay := b.cfg.Backoff.Initial
		for i := 1; i < try && delay < b.cfg.Backoff.Max; i++ {
			delay = time.Duration(float64(delay) * b.cfg.Backoff.Multiplier)
		}
		delay = min(delay, b.cfg.Backoff.Max)
		b.log.Error("dead letter not written; retrying (the partition's commit waits)", "dead_letter_topic", b.cfg.Topics.DeadLetters,
			"original_topic", dl.Topic, "partition", dl.Partition, "offset", dl.Offset, "try", try, "retry_in", delay.String(), "error", err.Error())
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("kafka: dead letter for %s/%d@%d not written: %w", dl.Topic, dl.Partition, dl.Offset, ctx.Err())
		case <-b.closing:
			t.Stop()
			return fmt.Errorf("kafka: dead letter for %s/%d@%d not written: %w", dl.Topic, dl.Partition, dl.Offset, bus.ErrClosed)
		}
	}
}

// Redelivery is the host's redelivery policy on this bus: a retryable
// failure is attempted up to max_attempts with exponential backoff, then
// dead-lettered; a record that cannot be decoded at all (ENVELOPE-001 not
// JSON, ENVELOPE-005 too large) is dead-lettered at once. Other failures
// (unknown operation, rejected payload, policy denial) are answered and not
// dead-lettered: the requester has its answer, and retrying cannot change it.
func (b *Bus) Redelivery() runtime.Redelivery { return redelivery{b} }

type redelivery struct{ b *Bus }

var _ runtime.PoisonFilter = redelivery{}

func (r redelivery) Retry(next int, _ *runtime.Outcome) (time.Duration, bool) {
	return r.b.cfg.Delay(next)
}

func (r redelivery) Poison(out *runtime.Outcome) bool {
	return out.RuleID == "ENVELOPE-001" || out.RuleID == "ENVELOPE-005"
}

func (r redelivery) DeadLetter(ctx context.Context, d *bus.Delivery, out *runtime.Outcome, attempts int) error {
	return r.b.WriteDeadLetter(ctx, &DeadLetter{
		Topic: d.Topic, Partition: d.Partition, Offset: d.Offset,
		Key: d.Key, Value: d.Value, Headers: d.Headers,
		Group:  r.b.cfg.Group,
		RuleID: string(out.RuleID), Attempts: attempts, LastError: out.Message,
		Handler: out.Handler, CorrelationID: out.CorrelationID,
		Time: time.Now(),
	})
}
