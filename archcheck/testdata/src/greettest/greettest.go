// Package greettest is a test kit: named …test and importing testing, it may
// run a handler's Handle the way a unit test does.
package greettest

import (
	"context"
	"testing"

	"github.com/onexhost/onex/handler"
)

// Call runs h on inv, as a handler's unit test would.
func Call(tb testing.TB, h handler.Handler, inv *handler.Invocation) (handler.Output, error) {
	tb.Helper()
	return h.Handle(context.Background(), inv)
}
