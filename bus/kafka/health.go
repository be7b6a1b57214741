package kafka

import (
	"context"
	"fmt"

	"github.com/onexhost/onex/bus"
)

var _ bus.HealthChecker = (*Bus)(nil)

// Health reports whether a broker answers (a metadata round trip of the
// producer's client), for the host's readiness.
func (b *Bus) Health(ctx context.Context) error {
	if b.isClosed() {
		return bus.ErrClosed
	}
	if err := b.prod.Ping(ctx); err != nil {
		return fmt.Errorf("kafka: no broker reachable: %w", err)
	}
	return nil
}
