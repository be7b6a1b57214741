package orders

import (
	"context"
	"testing"

	"github.com/onexhost/onex/handler"
)

type echo struct{}

func (echo) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	return handler.Output{}, nil
}

// Calling Handle in a test is fine.
func TestEcho(t *testing.T) {
	if _, err := (echo{}).Handle(context.Background(), handler.NewInvocation(handler.InvocationParams{})); err != nil {
		t.Fatal(err)
	}
}
