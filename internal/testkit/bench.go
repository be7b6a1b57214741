package testkit

import (
	"syscall"
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

// ProcessCPU is the CPU time this process has used so far, user and system,
// every thread (the garbage collector's included).
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ReportCPU reports cpu-ns/op: the process's CPU time since start (a
// ProcessCPU reading) over b.N. Unlike ns/op it does not grow when other
// processes take the cores, so it stays comparable on a busy machine.
func ReportCPU(b *testing.B, start time.Duration) {
	if used := ProcessCPU() - start; used > 0 && b.N > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
