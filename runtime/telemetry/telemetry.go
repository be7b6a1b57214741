// Package telemetry is the host's observability: Prometheus metrics (Metrics)
// and OpenTelemetry tracing (Tracer, StartTracing), both fed by the runtime's
// Observer seam, so the dispatch pipeline itself knows nothing of either and
// pays nothing when both are off.
package telemetry

import (
	"context"
	"time"

	"github.com/onexhost/onex/runtime"
)

// Join returns one Observer that calls each of obs in order: Begin threads
// the context through them, Done hands each the final context. Nil observers
// are skipped; Join returns nil when none is left, and the observer itself
// when only one is.
func Join(obs ...runtime.Observer) runtime.Observer {
	var out observers
	for _, o := range obs {
		if o != nil {
			out = append(out, o)
		}
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return out
}

type observers []runtime.Observer

func (os observers) Begin(ctx context.Context, start time.Time, metadata []byte) context.Context {
	for _, o := range os {
		ctx = o.Begin(ctx, start, metadata)
	}
	return ctx
}

func (os observers) Done(ctx context.Context, r runtime.Result) {
	for _, o := range os {
		o.Done(ctx, r)
	}
}
