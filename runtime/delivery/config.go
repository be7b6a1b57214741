package delivery

import (
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
)

// Config is the delivery policy: in onex.yaml the runtime section's
// max_attempts, backoff and dead_letter_topic keys.
type Config struct {
	// MaxAttempts bounds the attempts of a request whose handler fails with a
	// retryable error, the first attempt included; then it is dead-lettered.
	// 1 dead-letters at the first retryable failure.
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff is the delay between attempts.
	Backoff Backoff `yaml:"backoff"`
	// DeadLetterTopic is where requests the host gave up on are written.
	DeadLetterTopic string `yaml:"dead_letter_topic"`
}

// Backoff is an exponential backoff: Initial, then multiplied by Multiplier
// per attempt up to Max, each delay drawn between half and all of its value
// so that hosts retrying together spread out.
type Backoff struct {
	Initial    time.Duration `yaml:"initial"`
	Max        time.Duration `yaml:"max"`
	Multiplier float64       `yaml:"multiplier"`
}

// Defaults.
const (
	DefaultMaxAttempts       = 5
	DefaultBackoffInitial    = 100 * time.Millisecond
	DefaultBackoffMax        = 10 * time.Second
	DefaultBackoffMultiplier = 2.0

	maxAttemptsLimit = 100
)

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		MaxAttempts:     DefaultMaxAttempts,
		Backoff:         DefaultBackoff(),
		DeadLetterTopic: bus.DefaultDeadLetterTopic,
	}
}

// DefaultBackoff returns the default backoff.
func DefaultBackoff() Backoff {
	return Backoff{Initial: DefaultBackoffInitial, Max: DefaultBackoffMax, Multiplier: DefaultBackoffMultiplier}
}

// Validate checks the values; path is the key path of the section that holds
// the keys (runtime), f locates the errors and may be nil. Every error is a
// RUNTIME-002 naming its key.
func (c Config) Validate(f *config.File, path string) []*diag.ValidationError {
	errs := ValidateMaxAttempts(f, path+".max_attempts", c.MaxAttempts)
	errs = append(errs, c.Backoff.Validate(f, path+".backoff")...)
	if c.DeadLetterTopic == "" {
		errs = append(errs, f.Errorf(path+".dead_letter_topic", "must not be empty"))
	}
	return errs
}

// ValidateMaxAttempts checks a max_attempts value at key.
func ValidateMaxAttempts(f *config.File, key string, n int) []*diag.ValidationError {
	if n < 1 || n > maxAttemptsLimit {
		return []*diag.ValidationError{f.Errorf(key, "must be between 1 and %d, got %d", maxAttemptsLimit, n)}
	}
	return nil
}

// Validate checks a backoff at path (its keys are path.initial, path.max and
// path.multiplier).
func (b Backoff) Validate(f *config.File, path string) []*diag.ValidationError {
	var errs []*diag.ValidationError
	if b.Initial <= 0 {
		errs = append(errs, f.Errorf(path+".initial", "must be positive, got %s", b.Initial))
	}
	if b.Max < b.Initial {
		errs = append(errs, f.Errorf(path+".max", "must be at least backoff.initial (%s), got %s", b.Initial, b.Max))
	}
	if b.Multiplier < 1 || b.Multiplier > 10 {
		errs = append(errs, f.Errorf(path+".multiplier", "must be between 1 and 10, got %g", b.Multiplier))
	}
	return errs
}

// backOff makes the library's exponential backoff for one run of attempts.
// The library draws each delay symmetrically around its interval (± the
// randomization factor); three quarters of the configured delay, ± a third,
// is the documented range of half to all of it.
func (b Backoff) backOff() *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval:     b.Initial * 3 / 4,
		MaxInterval:         b.Max * 3 / 4,
		Multiplier:          b.Multiplier,
		RandomizationFactor: 1.0 / 3,
	}
}
