package runtime

import (
	"strings"
	"sync/atomic"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/runtime/delivery"
)

// Stats are the host's counters since start, for logs and metrics.
type Stats struct {
	// Requests is every dispatch of a request envelope (each makes one
	// response). A bus request attempted again after a retryable failure is
	// dispatched once per attempt; only its last response is published.
	Requests uint64
	// Succeeded and Failed split the responses.
	Succeeded, Failed uint64
	// Failures counts failed responses by rule id.
	Failures map[handler.RuleID]uint64
	// Denials counts policy denials (SECURITY rules) by rule id; they are also
	// in Failures.
	Denials map[handler.RuleID]uint64
	// InFlight is the number of invocations running now.
	InFlight int64
	// Redeliveries counts the attempts of bus requests after a retryable
	// failure, and DeadLetters the bus requests written to the dead-letter
	// topic, by operation and rule id of the failure (runtime/delivery).
	Redeliveries, DeadLetters map[delivery.Key]uint64
}

// stats are lock-free counters: one per rule id that a response can carry,
// allocated at New, so counting never allocates.
type stats struct {
	requests, succeeded, failed atomic.Uint64
	inflight                    atomic.Int64
	byRule                      map[handler.RuleID]*atomic.Uint64
}

func newStats() *stats {
	s := &stats{byRule: map[handler.RuleID]*atomic.Uint64{}}
	for _, r := range diag.Rules() {
		s.byRule[r.ID] = new(atomic.Uint64)
	}
	return s
}

func (s *stats) fail(rule handler.RuleID) {
	s.failed.Add(1)
	if c, ok := s.byRule[rule]; ok {
		c.Add(1)
	}
}

// Stats returns a snapshot of the counters.
func (h *Host) Stats() Stats {
	s := h.stats
	out := Stats{
		Requests:  s.requests.Load(),
		Succeeded: s.succeeded.Load(),
		Failed:    s.failed.Load(),
		Failures:  map[handler.RuleID]uint64{},
		Denials:   map[handler.RuleID]uint64{},
		InFlight:  s.inflight.Load(),
	}
	if h.delivery != nil {
		c := h.delivery.Counts()
		out.Redeliveries, out.DeadLetters = c.Redeliveries, c.DeadLetters
	}
	for id, c := range s.byRule {
		n := c.Load()
		if n == 0 {
			continue
		}
		out.Failures[id] = n
		if strings.HasPrefix(string(id), "SECURITY-") {
			out.Denials[id] = n
		}
	}
	return out
}
