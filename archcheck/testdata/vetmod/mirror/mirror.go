// Package mirror is a handler package that does I/O through helper packages.
package mirror

import (
	"context"

	"example.com/vetsample/archive"
	"example.com/vetsample/remote"
	"github.com/onexhost/onex/handler"
)

// Mirror fetches a page on its own and keeps a copy in a file.
type Mirror struct{}

func (Mirror) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	code, err := remote.Fetch("https://example.com/")
	if err != nil {
		return handler.Output{}, err
	}
	if err := archive.Keep("example.com", nil); err != nil {
		return handler.Output{}, err
	}
	return handler.Output{Result: code}, nil
}
