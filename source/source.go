// Package source defines HandlerSource, the one seam through which the runtime
// gets its descriptors, and the sources themselves. The runtime never branches on
// the concrete source.
package source

import (
	"context"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
)

// HandlerSource produces descriptors.
type HandlerSource interface {
	// SourceType names the source (and the host's mode).
	SourceType() handler.SourceType
	// Discover returns every valid descriptor and every validation error found. A
	// malformed declaration never stops the others: the source returns the valid
	// descriptors and the errors together; whether errors block is the host's
	// decision. err is reserved for total failure (e.g. the context was canceled).
	Discover(ctx context.Context) ([]*handler.Descriptor, []*diag.ValidationError, error)
}

// Stats are counts a source reports about its last Discover, for the host's
// startup record (e.g. contract_handler_count, fallback_handler_count).
type Stats map[string]any

// StatsReporter is implemented by sources that report Stats. It is optional,
// discovered by type assertion.
type StatsReporter interface {
	Stats() Stats
}

// Progress receives the progress of a long discovery: done of total items
// (contract files, registry documents); total is 0 while unknown. Sources call
// it from their discovering goroutine, as often as every item: it must be
// quick and safe for concurrent use.
type Progress func(done, total int)

type progressKey struct{}

// WithProgress returns a context under which a Discover reports its progress
// to p (in the manner of net/http/httptrace): the caller that shows progress,
// such as an interactive terminal, installs it; sources that can measure
// their progress report it through ReportProgress.
func WithProgress(ctx context.Context, p Progress) context.Context {
	return context.WithValue(ctx, progressKey{}, p)
}

// ReportProgress reports done of total to the Progress installed in ctx, if
// any.
func ReportProgress(ctx context.Context, done, total int) {
	if p, _ := ctx.Value(progressKey{}).(Progress); p != nil {
		p(done, total)
	}
}
