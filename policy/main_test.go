package policy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// No test asks a DNS server: a guard built without a fake resolver fails
	// its lookups here instead of sending a query off this machine.
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("tests resolve no name through DNS")
	}}
	goleak.VerifyTestMain(m)
}

func newJSONLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
