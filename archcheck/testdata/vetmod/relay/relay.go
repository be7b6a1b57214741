// Package relay is a handler package whose helper uses the client the
// invocation grants: it follows every rule.
package relay

import (
	"context"

	"example.com/vetsample/remote"
	"github.com/onexhost/onex/handler"
)

// Relay fetches a page through its capability.
type Relay struct{}

func (Relay) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	code, err := remote.FetchWith(inv.HTTPClient(), "https://example.com/")
	if err != nil {
		return handler.Output{}, err
	}
	return handler.Output{Result: code}, nil
}
