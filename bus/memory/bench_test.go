package memory

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/onexhost/onex/bus"
)

// BenchmarkPublishDeliver measures one message from Publish to a consumer
// group member, over four partitions.
func BenchmarkPublishDeliver(b *testing.B) {
	mb := New(Config{Partitions: 4, Buffer: 4096})
	defer mb.Close()
	ctx := context.Background()
	target := int64(b.N)
	var n atomic.Int64
	done := make(chan struct{})
	sub, err := mb.Subscribe(ctx, "bench", "g", func(_ context.Context, d *bus.Delivery) {
		d.Ack()
		if n.Add(1) == target {
			close(done)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Stop(ctx)
	msgs := make([]bus.Message, 64)
	for i := range msgs {
		msgs[i] = bus.Message{Topic: "bench", Key: []byte("key-" + strconv.Itoa(i)), Value: []byte(`{"operation":"noop.run"}`)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for sent := 0; sent < b.N; sent += len(msgs) {
		if err := mb.Publish(ctx, msgs[:min(len(msgs), b.N-sent)]...); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
