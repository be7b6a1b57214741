// Package bususer is not a handler package: it may use the bus freely.
package bususer

import (
	"context"

	"github.com/onexhost/onex/bus"
)

type Announcer struct{ pub bus.Publisher }

func New(pub bus.Publisher) *Announcer { return &Announcer{pub: pub} }

func (a *Announcer) Announce(ctx context.Context) error {
	return a.pub.Publish(ctx, bus.Message{Topic: "announcements"})
}
