package bus

import (
	"fmt"
	"testing"
	"time"
)

func TestDeadLetterRoundTrip(t *testing.T) {
	dl := &DeadLetter{Topic: "req", Partition: 3, Offset: 42, Key: []byte("k"), Value: []byte{0xff, 0x00},
		Headers: []Header{{Key: "traceparent", Value: []byte("tp")}, {Key: HeaderRuleID, Value: []byte("OLD-1")}},
		Group:   "g", RuleID: "HANDLER-001", Attempts: 5, LastError: "backend down", Handler: "db", CorrelationID: "c",
		Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
	m := dl.Message("dlq")
	got, err := ParseDeadLetter(m)
	if err != nil {
		t.Fatal(err)
	}
	if m.Topic != "dlq" || fmt.Sprint(got.Headers) != fmt.Sprint([]Header{{Key: "traceparent", Value: []byte("tp")}}) {
		t.Errorf("message %s headers %v: the original provenance headers must be replaced", m.Topic, got.Headers)
	}
	got.Headers = dl.Headers
	if fmt.Sprint(got) != fmt.Sprint(dl) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, dl)
	}
}

func TestParseDeadLetterRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    Message
	}{
		{"no provenance", Message{Value: []byte("x")}},
		{"no rule id", Message{Headers: []Header{{Key: HeaderOriginalTopic, Value: []byte("t")}}}},
		{"bad attempts", Message{Headers: []Header{{Key: HeaderOriginalTopic, Value: []byte("t")}, {Key: HeaderRuleID, Value: []byte("R-1")}, {Key: HeaderAttempts, Value: []byte("many")}}}},
		{"bad partition", Message{Headers: []Header{{Key: HeaderOriginalTopic, Value: []byte("t")}, {Key: HeaderRuleID, Value: []byte("R-1")}, {Key: HeaderOriginalPartition, Value: []byte("1e99")}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if dl, err := ParseDeadLetter(tc.m); err == nil {
				t.Errorf("accepted %+v", dl)
			}
		})
	}
}
