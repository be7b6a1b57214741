package testkit

import (
	"testing"
	"time"
)

// Compare runs subject and baseline alternately, b.N times each, and reports
// subject-ns/op, baseline-ns/op and ratio (subject / baseline). Alternating
// inside one loop makes load from elsewhere on the machine fall on both alike,
// which sequential sub-benchmarks do not. Both warm up once first.
func Compare(b *testing.B, subject, baseline func()) {
	b.Helper()
	subject()
	baseline()
	var ts, tb time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if i%2 == 0 {
			subject()
			mid := time.Now()
			baseline()
			ts += mid.Sub(start)
			tb += time.Since(mid)
		} else {
			baseline()
			mid := time.Now()
			subject()
			tb += mid.Sub(start)
			ts += time.Since(mid)
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(ts.Nanoseconds())/n, "subject-ns/op")
	b.ReportMetric(float64(tb.Nanoseconds())/n, "baseline-ns/op")
	if tb > 0 {
		b.ReportMetric(float64(ts)/float64(tb), "ratio")
	}
}
