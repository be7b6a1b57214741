package bus

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Headers of a dead-letter record. The record keeps the original key and
// value byte for byte (so it can be replayed by publishing it again to the
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

	deadLetterPrefix = "onex.dlq."
)

// DeadLetter is a request record that the host gave up on, with where it came
// from and why. Every bus carries it the same way: the runtime writes it with
// Message and readers decode it with ParseDeadLetter.
type DeadLetter struct {
	// Topic, Partition and Offset locate the original record.
	Topic     string
	Partition int32
	Offset    int64
	// Key, Value and Headers are the original record's.
	Key     []byte
	Value   []byte
	Headers []Header
	// Group is the consumer group that gave up.
	Group string
	// RuleID, Attempts and LastError say why: the rule of the last failure
	// (ENVELOPE-001 for a record that is not JSON, HANDLER-001 for a handler
	// error…), how many times the request was attempted, and the last error
	// message.
	RuleID    string
	Attempts  int
	LastError string
	// Handler and CorrelationID identify the request, when known.
	Handler       string
	CorrelationID string
	// Time is when the record was dead-lettered.
	Time time.Time
}

// Message encodes the dead letter as a message for topic.
func (dl *DeadLetter) Message(topic string) Message {
	hs := make([]Header, 0, len(dl.Headers)+11)
	for _, h := range dl.Headers {
		// A replayed dead letter that fails again gets fresh provenance.
		if !strings.HasPrefix(h.Key, deadLetterPrefix) && (h.Key != HeaderCorrelationID || dl.CorrelationID == "") {
			hs = append(hs, h)
		}
	}
	add := func(k, v string) {
		if v != "" {
			hs = append(hs, Header{Key: k, Value: []byte(v)})
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
	return Message{Topic: topic, Key: dl.Key, Value: dl.Value, Headers: hs}
}

// ParseDeadLetter decodes a message of the dead-letter topic.
func ParseDeadLetter(m Message) (*DeadLetter, error) {
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
		return nil, fmt.Errorf("bus: dead letter: %w", err)
	}
	return dl, nil
}
