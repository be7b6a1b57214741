package runtime

import (
	"context"
	"testing"
)

// BenchmarkDispatch measures the whole in-process pipeline (decode, validate,
// route, classification check, invoke with deadline and bounded concurrency,
// encode) with a no-op compute handler.
func BenchmarkDispatch(b *testing.B) {
	h := startHost(b, nil, Options{}, desc("noop", noopPath, "noop.run"))
	raw := []byte(`{"envelope_id":"` + envID + `","correlation_id":"` + corrID + `","operation":"noop.run","payload":{"a":1,"b":"x"},"data_classification":"internal"}`)
	ctx := context.Background()
	if r := mustDecode(b, h.Dispatch(ctx, raw)); !r.Success {
		b.Fatalf("%+v", r.Error)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.Dispatch(ctx, raw)
	}
}
