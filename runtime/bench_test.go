package runtime

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/bus/memory"
	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/internal/testkit"
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
	cpu := testkit.ProcessCPU()
	for b.Loop() {
		h.Dispatch(ctx, raw)
	}
	testkit.ReportCPU(b, cpu)
}

// BenchmarkDispatchOutcome is BenchmarkDispatch the way the bus workers
// dispatch: the response is appended to a buffer the caller reuses, so the
// only allocation left is the invocation's context.
func BenchmarkDispatchOutcome(b *testing.B) {
	h := startHost(b, nil, Options{}, desc("noop", noopPath, "noop.run"))
	raw := []byte(`{"envelope_id":"` + envID + `","correlation_id":"` + corrID + `","operation":"noop.run","payload":{"a":1,"b":"x"},"data_classification":"internal"}`)
	ctx := context.Background()
	buf := make([]byte, 0, 512)
	if out := h.DispatchOutcome(ctx, raw, buf); !out.Success {
		b.Fatalf("%s", out.Response)
	}
	b.ReportAllocs()
	cpu := testkit.ProcessCPU()
	for b.Loop() {
		buf = h.DispatchOutcome(ctx, raw, buf[:0]).Response
	}
	testkit.ReportCPU(b, cpu)
}

// BenchmarkMemoryBusEndToEnd measures envelopes per second through the whole
// host on the memory bus: a producer publishes JSON request envelopes, the host
// consumes, dispatches to a no-op compute handler and publishes each response,
// and a consumer receives every response.
func BenchmarkMemoryBusEndToEnd(b *testing.B) {
	mb := memory.New(memory.Config{Partitions: 4, Buffer: 4096})
	startHost(b, mb, Options{}, desc("noop", noopPath, "noop.run"))
	ctx := context.Background()
	target := int64(b.N)
	var received atomic.Int64
	done := make(chan struct{})
	sub, err := mb.Subscribe(ctx, bus.DefaultResponseTopic, "bench", func(_ context.Context, d *bus.Delivery) {
		d.Ack()
		if received.Add(1) == target {
			close(done)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Stop(ctx)
	const batch = 64
	msgs := make([]bus.Message, batch)
	for i := range msgs {
		id := uuid.NewString()
		msgs[i] = bus.Message{Topic: bus.DefaultRequestTopic, Key: []byte(id),
			Value: []byte(`{"envelope_id":"` + id + `","correlation_id":"` + corrID + `","operation":"noop.run","payload":{"a":1,"b":"x"}}`)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := testkit.ProcessCPU()
	for sent := 0; sent < b.N; sent += batch {
		if err := mb.Publish(ctx, msgs[:min(batch, b.N-sent)]...); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	b.StopTimer()
	testkit.ReportCPU(b, cpu)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "envelopes/s")
}

// TestDispatchAllocations guards the allocation budget of the hot path: at most
// five per request through the whole pipeline (two today: the response
// Dispatch returns, and the invocation context, which also holds the request
// ids handed to the handler).
func TestDispatchAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	h := startHost(t, nil, Options{}, desc("noop", noopPath, "noop.run"))
	raw := []byte(`{"envelope_id":"` + envID + `","correlation_id":"` + corrID + `","operation":"noop.run","payload":{"a":1},"data_classification":"internal"}`)
	n := testing.AllocsPerRun(1000, func() { h.Dispatch(context.Background(), raw) })
	if n > 5 {
		t.Errorf("Dispatch allocates %.1f times per request, budget 5", n)
	}
	t.Logf("%.1f allocations per request", n)
}

func BenchmarkSetIDs(b *testing.B) {
	v := envelope.View{EnvelopeID: []byte(envID), CorrelationID: []byte(corrID)}
	var c call
	for b.Loop() {
		c.setIDs(&v)
	}
}
