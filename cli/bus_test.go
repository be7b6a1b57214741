package cli

import (
	"strings"
	"testing"

	"github.com/onexhost/onex/bus/kafka"
	"github.com/onexhost/onex/bus/memory"
	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/runtime"
)

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
			f, errs := config.Parse("onex.yaml", []byte(tc.yaml))
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			rt, errs := runtime.LoadConfig(f)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			s, errs := loadBusSection(f, &rt)
			if len(errs) != len(tc.keys) {
				t.Fatalf("errors %v, want %v", errs, tc.keys)
			}
			for i, e := range errs {
				if e.RuleID != "RUNTIME-002" || e.Details["key"] != tc.keys[i] || e.Line == 0 || e.FilePath != "onex.yaml" || e.RemediationHint == "" {
					t.Errorf("error %d: %+v, want a located RUNTIME-002 at %s with a hint", i, e, tc.keys[i])
				}
			}
			if tc.group == "" {
				return
			}
			k := s.Kafka
			if k.Group != tc.group || rt.ConsumerGroup != tc.group || k.Topics.Requests != tc.requests || rt.RequestTopic != tc.requests ||
				k.Topics.Responses != tc.answer || rt.ResponseTopic != tc.answer || k.Topics.DeadLetters != kafka.DefaultConfig().Topics.DeadLetters {
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
	f, errs := config.Load("../examples/kafka/onex.yaml")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	rt, errs := runtime.LoadConfig(f)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	s, errs := loadBusSection(f, &rt)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if s.Kind != runtime.BusKafka || s.Kafka.CreateTopics.Partitions != 6 || rt.ConsumerGroup != "onex" {
		t.Errorf("example resolved to %+v", s)
	}
}

// TestMemoryBusOpens: the default and an explicit memory section open a
// memory bus without a redelivery policy (one attempt per request).
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
		b, rd, err := s.open(nil)
		if err != nil {
			t.Fatalf("%q: %v", yaml, err)
		}
		if _, ok := b.(*memory.Bus); !ok || rd != nil {
			t.Errorf("%q: bus %T, redelivery %v; want the memory bus and none", yaml, b, rd)
		}
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	}
}
