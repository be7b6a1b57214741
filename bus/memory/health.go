package memory

import (
	"context"

	"github.com/onexhost/onex/bus"
)

var _ bus.HealthChecker = (*Bus)(nil)

// Health reports the in-process bus connected until it is closed.
func (b *Bus) Health(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return bus.ErrClosed
	}
	return nil
}
