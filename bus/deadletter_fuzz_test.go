package bus

import (
	"bytes"
	"testing"
)

// FuzzParseDeadLetter feeds arbitrary header values to ParseDeadLetter: it
// never panics, and whatever it accepts encodes back to the same provenance.
func FuzzParseDeadLetter(f *testing.F) {
	f.Add("onex.cmd.requests.v1", "3", "42", "HANDLER-001", "5", "2026-01-02T03:04:05Z", []byte("value"))
	f.Add("", "x", "-1", "", "many", "yesterday", []byte{0xff})
	f.Fuzz(func(t *testing.T, topic, partition, offset, rule, attempts, ts string, value []byte) {
		m := Message{Value: value, Headers: []Header{
			{Key: HeaderOriginalTopic, Value: []byte(topic)},
			{Key: HeaderOriginalPartition, Value: []byte(partition)},
			{Key: HeaderOriginalOffset, Value: []byte(offset)},
			{Key: HeaderRuleID, Value: []byte(rule)},
			{Key: HeaderAttempts, Value: []byte(attempts)},
			{Key: HeaderTimestamp, Value: []byte(ts)},
		}}
		dl, err := ParseDeadLetter(m)
		if err != nil {
			return
		}
		again, err := ParseDeadLetter(dl.Message("dlq"))
		if err != nil {
			t.Fatalf("re-encoded dead letter rejected: %v", err)
		}
		if again.Topic != dl.Topic || again.Partition != dl.Partition || again.Offset != dl.Offset ||
			again.RuleID != dl.RuleID || again.Attempts != dl.Attempts || !again.Time.Equal(dl.Time) || !bytes.Equal(again.Value, dl.Value) {
			t.Fatalf("round trip changed the provenance: %+v then %+v", dl, again)
		}
	})
}
