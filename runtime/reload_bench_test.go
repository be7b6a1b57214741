package runtime

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/onexhost/onex/handler"
)

// BenchmarkReload measures one applied reload of a 20-handler set: discover
// (a fixed source), validate the set, construct and initialise every handler
// aside, swap, and retire the old set (closed in the background once idle).
func BenchmarkReload(b *testing.B) {
	var descs []*handler.Descriptor
	for i := range 20 {
		descs = append(descs, desc(fmt.Sprintf("h%02d", i), noopPath, fmt.Sprintf("h%02d.run", i)))
	}
	src := &swapSource{}
	src.set(descs, nil, nil)
	h := New(src, nil, nil, nil, nil, Options{Config: testConfig()})
	if err := h.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := h.Stop(context.Background()); err != nil {
			b.Error(err)
		}
	}()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res, err := h.Reload(ctx, "bench"); err != nil || res.Outcome != ReloadApplied {
			b.Fatalf("%s: %v", res.Outcome, err)
		}
	}
}

// BenchmarkDispatchDuringReloads measures parallel dispatch while another
// goroutine swaps the handler set continuously: the cost of holding the set
// (one atomic increment and decrement per request) under contention.
func BenchmarkDispatchDuringReloads(b *testing.B) {
	for _, reloading := range []bool{false, true} {
		b.Run(fmt.Sprintf("reloading=%v", reloading), func(b *testing.B) {
			src := &swapSource{}
			src.set([]*handler.Descriptor{desc("noop", noopPath, "noop.run")}, nil, nil)
			h := New(src, nil, nil, nil, nil, Options{Config: testConfig()})
			if err := h.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			if reloading {
				wg.Go(func() {
					for ctx.Err() == nil {
						_, _ = h.Reload(ctx, "bench")
					}
				})
			}
			raw := []byte(`{"envelope_id":"` + envID + `","correlation_id":"` + corrID + `","operation":"noop.run","payload":{}}`)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					h.Dispatch(ctx, raw)
				}
			})
			b.StopTimer()
			cancel()
			wg.Wait()
			if err := h.Stop(context.Background()); err != nil {
				b.Error(err)
			}
		})
	}
}
