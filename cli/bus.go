package cli

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/bus/kafka"
	"github.com/onexhost/onex/bus/memory"
	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/internal/suggest"
	"github.com/onexhost/onex/runtime"
	"github.com/onexhost/onex/runtime/delivery"
)

// busSection is the bus section of onex.yaml. The choice of bus lives here,
// in the wiring that builds the host, and not in runtime: the runtime sees
// only a bus.Bus, so it links no broker client, and every binary built on the
// onex command gets every bus.
type busSection struct {
	// Kind selects the implementation: memory (embedded, the default) or kafka.
	Kind   string        `yaml:"kind"`
	Memory memory.Config `yaml:"memory"`
	Kafka  kafkaSection  `yaml:"kafka"`
}

// kafkaSection is bus.kafka: the Kafka bus's keys, and the delivery policy's
// keys where Kafka hosts have always written them — max_attempts and backoff
// (runtime.max_attempts and runtime.backoff now, for every bus). Those are
// still accepted here and settle with the runtime's like the topics do.
type kafkaSection struct {
	kafka.Config `yaml:",inline"`
	MaxAttempts  *int          `yaml:"max_attempts"`
	Backoff      legacyBackoff `yaml:"backoff"`
}

// legacyBackoff is bus.kafka.backoff: each key set or not.
type legacyBackoff struct {
	Initial    *time.Duration `yaml:"initial"`
	Max        *time.Duration `yaml:"max"`
	Multiplier *float64       `yaml:"multiplier"`
}

var busKinds = []string{runtime.BusMemory, runtime.BusKafka}

// loadBusSection decodes and checks the bus section. For kafka it settles
// the consumer group, the topics and the delivery policy with the runtime
// section: bus.kafka's value when set (conflicting with an explicitly
// different runtime value is an error), else the runtime's.
func loadBusSection(f *config.File, rt *runtime.Config) (busSection, []*diag.ValidationError) {
	s := busSection{Kind: runtime.BusMemory, Memory: memory.DefaultConfig(), Kafka: kafkaSection{Config: kafka.DefaultConfig()}}
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
	k, d := &s.Kafka, &rt.Delivery
	def := delivery.DefaultConfig()
	collides := func() bool { return d.DeadLetterTopic == rt.RequestTopic || d.DeadLetterTopic == rt.ResponseTopic }
	runtimeCollides := collides() // the runtime section reported it already
	for _, v := range []struct {
		key, runtimeKey string
		value, fallback *string
		runtimeDefault  string
	}{
		{"bus.kafka.group", "runtime.consumer_group", &k.Group, &rt.ConsumerGroup, runtime.DefaultConsumerGroup},
		{"bus.kafka.topics.requests", "runtime.request_topic", &k.Topics.Requests, &rt.RequestTopic, bus.DefaultRequestTopic},
		{"bus.kafka.topics.responses", "runtime.response_topic", &k.Topics.Responses, &rt.ResponseTopic, bus.DefaultResponseTopic},
		{"bus.kafka.topics.dead_letters", "runtime.dead_letter_topic", &k.Topics.DeadLetters, &d.DeadLetterTopic, def.DeadLetterTopic},
	} {
		if *v.value == "" {
			*v.value = *v.fallback
			continue
		}
		errs = append(errs, settle(f, v.key, v.runtimeKey, *v.value, v.fallback, v.runtimeDefault)...)
	}
	if !runtimeCollides && collides() {
		errs = append(errs, f.Errorf("bus.kafka.topics.dead_letters", "%q is also the request or response topic; dead letters need a topic of their own", d.DeadLetterTopic))
	}
	if k.MaxAttempts != nil {
		if es := settle(f, "bus.kafka.max_attempts", "runtime.max_attempts", *k.MaxAttempts, &d.MaxAttempts, def.MaxAttempts); len(es) > 0 {
			errs = append(errs, es...)
		} else {
			errs = append(errs, delivery.ValidateMaxAttempts(f, "bus.kafka.max_attempts", d.MaxAttempts)...)
		}
	}
	b := k.Backoff
	if b.Initial != nil || b.Max != nil || b.Multiplier != nil {
		n := len(errs)
		if b.Initial != nil {
			errs = append(errs, settle(f, "bus.kafka.backoff.initial", "runtime.backoff.initial", *b.Initial, &d.Backoff.Initial, def.Backoff.Initial)...)
		}
		if b.Max != nil {
			errs = append(errs, settle(f, "bus.kafka.backoff.max", "runtime.backoff.max", *b.Max, &d.Backoff.Max, def.Backoff.Max)...)
		}
		if b.Multiplier != nil {
			errs = append(errs, settle(f, "bus.kafka.backoff.multiplier", "runtime.backoff.multiplier", *b.Multiplier, &d.Backoff.Multiplier, def.Backoff.Multiplier)...)
		}
		if len(errs) == n {
			errs = append(errs, d.Backoff.Validate(f, "bus.kafka.backoff")...)
		}
	}
	return s, errs
}

// settle takes value, set at key in bus.kafka, for the runtime's setting
// *fallback, unless the runtime section set that to something else.
func settle[T comparable](f *config.File, key, runtimeKey string, value T, fallback *T, runtimeDefault T) []*diag.ValidationError {
	if *fallback != runtimeDefault && *fallback != value {
		return []*diag.ValidationError{f.Errorf(key, "%s conflicts with %s %s; set one of them", show(value), runtimeKey, show(*fallback))}
	}
	*fallback = value
	return nil
}

// show renders a configuration value for messages: strings quoted.
func show(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// open makes the configured bus.
func (s busSection) open(logger *slog.Logger) (bus.Bus, error) {
	switch s.Kind {
	case runtime.BusMemory:
		return memory.New(s.Memory), nil
	case runtime.BusKafka:
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return kafka.New(ctx, s.Kafka.Config, logger)
	}
	return nil, fmt.Errorf("unknown bus kind %q", s.Kind)
}
