// Package faketest is named like a test kit but does not import testing: it is
// ordinary code, and its calls of Handle are reported.
package faketest

import (
	"context"

	"github.com/onexhost/onex/handler"
)

func Call(h handler.Handler, inv *handler.Invocation) (handler.Output, error) {
	return h.Handle(context.Background(), inv) // want `\[ARCH-001\] direct call of Handle on handler handler.Handler`
}
