package telemetry

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/onexhost/onex/internal/hosttest"
	"github.com/onexhost/onex/runtime"
)

// The cost of telemetry per request, next to runtime's BenchmarkDispatch (no
// observer): the same no-op dispatch with metrics, with tracing (every span
// sampled, batched to an exporter that drops them), and with both.
func BenchmarkDispatchTelemetry(b *testing.B) {
	const raw = `{"envelope_id":"6f1f9a8e-3a52-4c1e-9b7e-2f8f6c3d9a10","correlation_id":"0b8e4c3a-7d2f-4e51-8a96-3c1d2b4e5f60","operation":"p.ok","payload":{"a":1},"metadata":{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}`
	tracer := func(b *testing.B) runtime.Observer {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		return NewTracer(tp)
	}
	for _, bc := range []struct {
		name string
		obs  func(b *testing.B) runtime.Observer
	}{
		{"none", func(*testing.B) runtime.Observer { return nil }},
		{"metrics", func(*testing.B) runtime.Observer { return NewMetrics() }},
		{"tracing", tracer},
		{"metrics+tracing", func(b *testing.B) runtime.Observer { return Join(NewMetrics(), tracer(b)) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := hosttest.Start(b, runtime.Options{Observer: bc.obs(b)}, hosttest.Desc("probe", "p.ok"))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				h.Dispatch(ctx, []byte(raw))
			}
		})
	}
}
