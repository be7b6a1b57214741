package dispatch

import (
	"context"
	"testing"

	"github.com/onexhost/onex/handler"
)

// Tests call handlers directly: exempt.
func TestGreeter(t *testing.T) {
	out, err := Greeter{}.Handle(context.Background(), &handler.Invocation{})
	if err != nil || out.Result != "hello" {
		t.Fatal(out, err)
	}
}
