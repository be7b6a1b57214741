package cli

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/onexhost/onex/bus/memory"
	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/runtime"
	"github.com/onexhost/onex/runtime/delivery"
)

// loadBus reads yaml as onex.yaml into the runtime config and the bus
// section, and checks that the errors are located RUNTIME-002s with a hint at
// keys, in order.
func loadBus(t *testing.T, yaml string, keys []string) (busSection, runtime.Config) {
	t.Helper()
	f, errs := config.Parse("onex.yaml", []byte(yaml))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	rt, errs := runtime.LoadConfig(f)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	s, errs := loadBusSection(f, &rt)
	if len(errs) != len(keys) {
		t.Fatalf("errors %v, want %v", errs, keys)
	}
	for i, e := range errs {
		if e.RuleID != "RUNTIME-002" || e.Details["key"] != keys[i] || e.Line == 0 || e.FilePath != "onex.yaml" || e.RemediationHint == "" {
			t.Errorf("error %d: %+v, want a located RUNTIME-002 at %s with a hint", i, e, keys[i])
		}
	}
	return s, rt
}

func TestBusSection(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		yaml                    string
		keys                    []string // RUNTIME-002 keys expected, in order
		group, requests, answer string   // resolved names (kafka only)
	}{
		{name: "default is memory", yaml: "environment:\n  name: development\n"},
		{name: "kafka inherits the runtime names",
			yaml:  "runtime:\n  consumer_group: billing\n  request_topic: billing.requests\nbus:\n  kind: kafka\n  kafka:\n    brokers: [\"k1:9092\"]\n",
			group: "billing", requests: "billing.requests", answer: "onex.evt.responses.v1"},
		{name: "kafka names win over runtime defaults",
			yaml:  "bus:\n  kind: kafka\n  kafka:\n    brokers: [\"k1:9092\"]\n    group: hosts\n    topics: {requests: in, responses: out}\n",
			group: "hosts", requests: "in", answer: "out"},
		{name: "conflicting group",
			yaml: "runtime:\n  consumer_group: a\nbus:\n  kind: kafka\n  kafka:\n    brokers: [\"k1:9092\"]\n    group: b\n",
			keys: []string{"bus.kafka.group"}},
		{name: "kafka values checked",
			yaml: "bus:\n  kind: kafka\n  kafka:\n    brokers: [\"k1\"]\n    max_attempts: 0\n",
			keys: []string{"bus.kafka.brokers[0]", "bus.kafka.max_attempts"}},
		{name: "unknown key", yaml: "bus:\n  kind: kafka\n  kafka:\n    broker: [\"k1:9092\"]\n", keys: []string{"bus.kafka.broker"}},
		{name: "unknown kind", yaml: "bus:\n  kind: kafak\n", keys: []string{"bus.kind"}},
		{name: "memory values checked", yaml: "bus:\n  memory: {partitions: 0}\n", keys: []string{"bus.memory.partitions"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, rt := loadBus(t, tc.yaml, tc.keys)
			if tc.group == "" {
				return
			}
			k := s.Kafka
			if k.Group != tc.group || rt.ConsumerGroup != tc.group || k.Topics.Requests != tc.requests || rt.RequestTopic != tc.requests ||
				k.Topics.Responses != tc.answer || rt.ResponseTopic != tc.answer || k.Topics.DeadLetters != rt.Delivery.DeadLetterTopic {
				t.Errorf("resolved kafka %s %+v, runtime %s %s %s; want group %s, topics %s and %s", k.Group, k.Topics, rt.ConsumerGroup, rt.RequestTopic, rt.ResponseTopic, tc.group, tc.requests, tc.answer)
			}
		})
	}
}

func TestUnknownBusKindSuggests(t *testing.T) {
	f, _ := config.Parse("onex.yaml", []byte("bus:\n  kind: kafak\n"))
	rt := runtime.DefaultConfig()
	_, errs := loadBusSection(f, &rt)
	if len(errs) != 1 || !strings.Contains(errs[0].Message, `did you mean "kafka"`) {
		t.Fatalf("%v, want a did-you-mean kafka", errs)
	}
}

func TestKafkaExampleIsValid(t *testing.T) {
	example, err := os.ReadFile("../examples/kafka/onex.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, rt := loadBus(t, string(example), nil)
	if s.Kind != runtime.BusKafka || s.Kafka.CreateTopics.Partitions != 6 || rt.ConsumerGroup != "onex" {
		t.Errorf("example resolved to %+v", s)
	}
}

// TestMemoryBusOpens: the default and an explicit memory section open a
// memory bus.
func TestMemoryBusOpens(t *testing.T) {
	for _, yaml := range []string{"", "bus:\n  kind: memory\n  memory: {partitions: 2, buffer: 10}\n"} {
		f, errs := config.Parse("onex.yaml", []byte(yaml))
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		rt := runtime.DefaultConfig()
		s, errs := loadBusSection(f, &rt)
		if len(errs) > 0 {
			t.Fatalf("%q: %v", yaml, errs)
		}
		b, err := s.open(nil)
		if err != nil {
			t.Fatalf("%q: %v", yaml, err)
		}
		if _, ok := b.(*memory.Bus); !ok {
			t.Errorf("%q: bus %T, want the memory bus", yaml, b)
		}
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	}
}

// TestBusSectionDeliveryKeys: the delivery policy is the runtime's
// (runtime.max_attempts, runtime.backoff, runtime.dead_letter_topic) for
// every bus; bus.kafka's max_attempts, backoff and topics.dead_letters are
// still accepted and settle with them as the topics do.
func TestBusSectionDeliveryKeys(t *testing.T) {
	const kafkaHead = "bus:\n  kind: kafka\n  kafka:\n    brokers: [\"k1:9092\"]\n"
	def := delivery.DefaultConfig()
	for _, tc := range []struct {
		name string
		yaml string
		keys []string // RUNTIME-002 keys expected, in order
		want delivery.Config
	}{
		{name: "defaults", yaml: kafkaHead, want: def},
		{name: "runtime keys",
			yaml: "runtime:\n  max_attempts: 2\n  backoff: {initial: 10ms, max: 1s, multiplier: 3}\n  dead_letter_topic: orders.dlq\n" + kafkaHead,
			want: delivery.Config{MaxAttempts: 2, Backoff: delivery.Backoff{Initial: 10 * time.Millisecond, Max: time.Second, Multiplier: 3}, DeadLetterTopic: "orders.dlq"}},
		{name: "bus.kafka keys still accepted",
			yaml: kafkaHead + "    max_attempts: 3\n    backoff: {initial: 50ms}\n    topics: {dead_letters: orders.dlq}\n",
			want: delivery.Config{MaxAttempts: 3, Backoff: delivery.Backoff{Initial: 50 * time.Millisecond, Max: def.Backoff.Max, Multiplier: def.Backoff.Multiplier}, DeadLetterTopic: "orders.dlq"}},
		{name: "both, agreeing",
			yaml: "runtime:\n  max_attempts: 3\n" + kafkaHead + "    max_attempts: 3\n",
			want: delivery.Config{MaxAttempts: 3, Backoff: def.Backoff, DeadLetterTopic: def.DeadLetterTopic}},
		{name: "conflicting attempts",
			yaml: "runtime:\n  max_attempts: 2\n" + kafkaHead + "    max_attempts: 3\n",
			keys: []string{"bus.kafka.max_attempts"}},
		{name: "conflicting dead-letter topic",
			yaml: "runtime:\n  dead_letter_topic: a\n" + kafkaHead + "    topics: {dead_letters: b}\n",
			keys: []string{"bus.kafka.topics.dead_letters"}},
		{name: "conflicting backoff",
			yaml: "runtime:\n  backoff: {multiplier: 3}\n" + kafkaHead + "    backoff: {multiplier: 4}\n",
			keys: []string{"bus.kafka.backoff.multiplier"}},
		{name: "bus.kafka values checked",
			yaml: kafkaHead + "    max_attempts: 0\n    backoff: {initial: 20s}\n",
			keys: []string{"bus.kafka.max_attempts", "bus.kafka.backoff.max"}},
		{name: "dead letters on the request topic",
			yaml: kafkaHead + "    topics: {dead_letters: onex.cmd.requests.v1}\n",
			keys: []string{"bus.kafka.topics.dead_letters"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, rt := loadBus(t, tc.yaml, tc.keys)
			if len(tc.keys) > 0 {
				return
			}
			if rt.Delivery != tc.want || s.Kafka.Topics.DeadLetters != tc.want.DeadLetterTopic {
				t.Errorf("runtime delivery %+v, kafka dead-letter topic %q; want %+v", rt.Delivery, s.Kafka.Topics.DeadLetters, tc.want)
			}
		})
	}
}
