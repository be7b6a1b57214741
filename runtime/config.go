package runtime

import (
	"fmt"
	goruntime "runtime"
	"slices"
	"time"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/suggest"
	"github.com/onexhost/onex/runtime/delivery"
)

var hint = suggest.Hint

// Config is the runtime section of onex.yaml. Every key is optional.
type Config struct {
	// MaxConcurrency bounds the invocations in progress at once.
	MaxConcurrency int `yaml:"max_concurrency"`
	// MaxEnvelopeBytes refuses larger request envelopes (ENVELOPE-005).
	MaxEnvelopeBytes int `yaml:"max_envelope_bytes"`
	// DefaultDataClassification applies to envelopes that declare none.
	// (Decoded from its wire name by LoadConfig, to locate a bad value.)
	DefaultDataClassification handler.Classification `yaml:"-"`
	// InvocationTimeout is the deadline of one invocation, unless HandlerTimeouts
	// sets another for the handler.
	InvocationTimeout time.Duration `yaml:"invocation_timeout"`
	// HandlerTimeouts overrides InvocationTimeout per handler_name.
	HandlerTimeouts map[string]time.Duration `yaml:"handler_timeouts"`
	// InitTimeout bounds each handler's initialisation.
	InitTimeout time.Duration `yaml:"init_timeout"`
	// DrainTimeout bounds how long Stop waits for invocations in progress.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// OptionalHandlers lists handler names whose failed initialisation does not
	// refuse start: the handler is marked failed and answers HANDLER-004. Every
	// other handler is required.
	OptionalHandlers []string `yaml:"optional_handlers"`
	// RequestTopic is where the host consumes request envelopes.
	RequestTopic string `yaml:"request_topic"`
	// ResponseTopic is where the host publishes responses.
	ResponseTopic string `yaml:"response_topic"`
	// ConsumerGroup is the host's consumer group on the request topic; hosts of
	// one group share the requests.
	ConsumerGroup string `yaml:"consumer_group"`
	// Delivery is the delivery policy of bus requests, whatever the bus: the
	// keys max_attempts (retryable failures, then a dead letter), backoff
	// (initial, max, multiplier) and dead_letter_topic.
	Delivery delivery.Config `yaml:",inline"`
	// CircuitBreaker configures the per-handler circuit breakers (HANDLER-005)
	// that the host applies when given Breakers(CircuitBreaker) as its Guard.
	CircuitBreaker BreakerConfig `yaml:"circuit_breaker"`

	file *config.File // locates the errors of checks made at start
}

// Defaults of the runtime section.
const (
	DefaultMaxEnvelopeBytes  = 1 << 20
	DefaultInvocationTimeout = 30 * time.Second
	DefaultInitTimeout       = 30 * time.Second
	DefaultDrainTimeout      = 30 * time.Second
	DefaultConsumerGroup     = "onex"
)

// maxConcurrencyLimit bounds max_concurrency: the host keeps one worker
// goroutine per unit.
const maxConcurrencyLimit = 1 << 16

// DefaultMaxConcurrency is the default bound on concurrent invocations: handlers
// mostly wait on I/O, so several per core. It is a bound, not a pool size:
// workers start and wake only as waiting requests need them, so quick
// handlers run on about as many workers as there are cores.
func DefaultMaxConcurrency() int { return 64 * goruntime.GOMAXPROCS(0) }

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		MaxConcurrency:            DefaultMaxConcurrency(),
		MaxEnvelopeBytes:          DefaultMaxEnvelopeBytes,
		DefaultDataClassification: handler.DefaultClassification,
		InvocationTimeout:         DefaultInvocationTimeout,
		InitTimeout:               DefaultInitTimeout,
		DrainTimeout:              DefaultDrainTimeout,
		RequestTopic:              bus.DefaultRequestTopic,
		ResponseTopic:             bus.DefaultResponseTopic,
		ConsumerGroup:             DefaultConsumerGroup,
		Delivery:                  delivery.DefaultConfig(),
		CircuitBreaker:            DefaultBreakerConfig(),
	}
}

// fileConfig is the runtime section as written in onex.yaml.
type fileConfig struct {
	Config                    `yaml:",inline"`
	DefaultDataClassification string `yaml:"default_data_classification"`
}

// LoadConfig decodes the runtime section of f over the defaults and checks it.
func LoadConfig(f *config.File) (Config, []*diag.ValidationError) {
	fc := fileConfig{Config: DefaultConfig(), DefaultDataClassification: handler.DefaultClassification.String()}
	if errs := f.Decode("runtime", &fc); len(errs) > 0 {
		return fc.Config, errs
	}
	c := fc.Config
	c.file = f
	class, err := handler.ParseClassification(fc.DefaultDataClassification)
	if err != nil {
		errs := c.Validate(f)
		errs = append(errs, f.Errorf("runtime.default_data_classification", "%v", err))
		slices.SortStableFunc(errs, cmpKey)
		return c, errs
	}
	c.DefaultDataClassification = class
	return c, c.Validate(f)
}

// Validate checks the values (RUNTIME-002 with the key). f locates the errors
// and may be nil.
func (c *Config) Validate(f *config.File) []*diag.ValidationError {
	var errs []*diag.ValidationError
	bad := func(key, format string, args ...any) {
		errs = append(errs, f.Errorf("runtime."+key, format, args...))
	}
	if c.MaxConcurrency < 1 || c.MaxConcurrency > maxConcurrencyLimit {
		bad("max_concurrency", "must be between 1 and %d, got %d", maxConcurrencyLimit, c.MaxConcurrency)
	}
	if c.MaxEnvelopeBytes < 256 || c.MaxEnvelopeBytes > 1<<30 {
		bad("max_envelope_bytes", "must be between 256 bytes and 1 GiB, got %d", c.MaxEnvelopeBytes)
	}
	if !c.DefaultDataClassification.Valid() {
		bad("default_data_classification", "must be one of public, internal, confidential, restricted, secret")
	}
	for key, d := range map[string]time.Duration{"invocation_timeout": c.InvocationTimeout, "init_timeout": c.InitTimeout, "drain_timeout": c.DrainTimeout} {
		if d <= 0 {
			bad(key, "must be a positive duration such as 30s, got %s", d)
		}
	}
	names := make([]string, 0, len(c.HandlerTimeouts))
	for name := range c.HandlerTimeouts {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if d := c.HandlerTimeouts[name]; d <= 0 {
			bad("handler_timeouts."+name, "must be a positive duration such as 30s, got %s", d)
		}
	}
	for key, topic := range map[string]string{"request_topic": c.RequestTopic, "response_topic": c.ResponseTopic, "consumer_group": c.ConsumerGroup} {
		if topic == "" {
			bad(key, "must not be empty")
		}
	}
	if c.RequestTopic != "" && c.RequestTopic == c.ResponseTopic {
		bad("response_topic", "must differ from request_topic (%s): the host would consume its own responses", c.RequestTopic)
	}
	errs = append(errs, c.Delivery.Validate(f, "runtime")...)
	if dlq := c.Delivery.DeadLetterTopic; dlq != "" && (dlq == c.RequestTopic || dlq == c.ResponseTopic) {
		bad("dead_letter_topic", "must differ from request_topic (%s) and response_topic (%s): dead letters would be read as requests or answers", c.RequestTopic, c.ResponseTopic)
	}
	errs = append(errs, c.CircuitBreaker.Validate(f, "runtime.circuit_breaker")...)
	slices.SortStableFunc(errs, cmpKey)
	return errs
}

func cmpKey(a, b *diag.ValidationError) int {
	ka, _ := a.Details["key"].(string)
	kb, _ := b.Details["key"].(string)
	switch {
	case ka < kb:
		return -1
	case ka > kb:
		return 1
	}
	return 0
}

// timeout returns the invocation timeout of a handler.
func (c *Config) timeout(name string) time.Duration {
	if d, ok := c.HandlerTimeouts[name]; ok {
		return d
	}
	return c.InvocationTimeout
}

// checkNames reports handler names in optional_handlers and handler_timeouts
// that no resolved descriptor has: a typo there would silently make a handler
// required, or leave it on the default timeout.
func (c *Config) checkNames(descs []*handler.Descriptor) []*diag.ValidationError {
	known := make([]string, 0, len(descs))
	for _, d := range descs {
		known = append(known, d.Name)
	}
	var errs []*diag.ValidationError
	unknown := func(key, name string) {
		e := c.file.Errorf(key, "no resolved handler is named %q%s", name, hint(name, known))
		errs = append(errs, e)
	}
	for i, name := range c.OptionalHandlers {
		if !slices.Contains(known, name) {
			unknown(fmt.Sprintf("runtime.optional_handlers[%d]", i), name)
		}
	}
	names := make([]string, 0, len(c.HandlerTimeouts))
	for name := range c.HandlerTimeouts {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(known, name) {
			unknown("runtime.handler_timeouts."+name, name)
		}
	}
	return errs
}

// Bus kinds: the values of bus.kind in onex.yaml. The switch between them
// lives in the CLI wiring, so runtime links no broker client.
const (
	BusMemory = "memory"
	BusKafka  = "kafka"
)
