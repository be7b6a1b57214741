// Package orders dispatches a handler directly and keeps an FSM in an
// orchestrator.
package orders

import (
	"context"

	"github.com/onexhost/onex/handler"
)

type OrderState int

type OrderOrchestrator struct {
	state OrderState
	next  handler.Handler
}

func (o *OrderOrchestrator) Run(ctx context.Context, inv *handler.Invocation) error {
	_, err := o.next.Handle(ctx, inv)
	return err
}
