package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/bus/kafka"
	"github.com/onexhost/onex/bus/memory"
	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/internal/suggest"
	"github.com/onexhost/onex/runtime"
)

// busSection is the bus section of onex.yaml. The choice of bus lives here,
// in the wiring that builds the host, and not in runtime: the runtime sees
// only a bus.Bus and its Redelivery seam, so it links no broker client, and
// every binary built on the onex command gets every bus.
type busSection struct {
	// Kind selects the implementation: memory (embedded, the default) or kafka.
	Kind   string        `yaml:"kind"`
	Memory memory.Config `yaml:"memory"`
	Kafka  kafka.Config  `yaml:"kafka"`
}

var busKinds = []string{runtime.BusMemory, runtime.BusKafka}

// loadBusSection decodes and checks the bus section. For kafka it settles
// the consumer group and the request and response topics with the runtime
// section: bus.kafka's value when set (conflicting with an explicitly
// different runtime value is an error), else the runtime's.
func loadBusSection(f *config.File, rt *runtime.Config) (busSection, []*diag.ValidationError) {
	s := busSection{Kind: runtime.BusMemory, Memory: memory.DefaultConfig(), Kafka: kafka.DefaultConfig()}
	if errs := f.Decode("bus", &s); len(errs) > 0 {
		return s, errs
	}
	switch s.Kind {
	case runtime.BusMemory:
		return s, s.Memory.Validate(f, "bus.memory")
	case runtime.BusKafka:
	default:
		return s, []*diag.ValidationError{f.Errorf("bus.kind", "unknown bus kind %q%s (valid: memory, kafka)", s.Kind, suggest.Hint(s.Kind, busKinds))}
	}
	errs := s.Kafka.Validate(f, "bus.kafka")
	k := &s.Kafka
	for _, v := range []struct {
		key, runtimeKey string
		value, fallback *string
		runtimeDefault  string
	}{
		{"bus.kafka.group", "runtime.consumer_group", &k.Group, &rt.ConsumerGroup, runtime.DefaultConsumerGroup},
		{"bus.kafka.topics.requests", "runtime.request_topic", &k.Topics.Requests, &rt.RequestTopic, bus.DefaultRequestTopic},
		{"bus.kafka.topics.responses", "runtime.response_topic", &k.Topics.Responses, &rt.ResponseTopic, bus.DefaultResponseTopic},
	} {
		switch {
		case *v.value == "":
			*v.value = *v.fallback
		case *v.fallback != v.runtimeDefault && *v.fallback != *v.value:
			errs = append(errs, f.Errorf(v.key, "%q conflicts with %s %q; set one of them", *v.value, v.runtimeKey, *v.fallback))
		default:
			*v.fallback = *v.value
		}
	}
	return s, errs
}

// open makes the configured bus and, for a bus that redelivers, the host's
// redelivery policy (nil for the memory bus: one attempt per request).
func (s busSection) open(logger *slog.Logger) (bus.Bus, runtime.Redelivery, error) {
	switch s.Kind {
	case runtime.BusMemory:
		return memory.New(s.Memory), nil, nil
	case runtime.BusKafka:
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		b, err := kafka.New(ctx, s.Kafka, logger)
		if err != nil {
			return nil, nil, err
		}
		return b, b.Redelivery(), nil
	}
	return nil, nil, fmt.Errorf("unknown bus kind %q", s.Kind)
}
