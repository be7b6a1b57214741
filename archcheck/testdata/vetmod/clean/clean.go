// Package clean is a handler package that follows every rule.
package clean

import (
	"context"

	"github.com/onexhost/onex/handler"
)

type Upper struct{}

func (Upper) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	var in struct {
		Text string `json:"text"`
	}
	if err := inv.Decode(&in); err != nil {
		return handler.Output{}, err
	}
	return handler.Output{Result: in.Text}, nil
}
