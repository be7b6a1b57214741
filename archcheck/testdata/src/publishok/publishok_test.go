package publishok

import (
	"context"
	"testing"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/handler"
)

// recorder is a test double: test files are exempt.
type recorder struct{ pub bus.Publisher }

func (r recorder) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	return handler.Output{}, r.pub.Publish(ctx)
}

func TestGreeter(t *testing.T) {
	if _, err := (Greeter{}).Handle(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	_ = recorder{}
}
