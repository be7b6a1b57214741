package runtime

import (
	"syscall"
	"testing"
	"time"
)

// processCPU is the CPU time this process has used so far, user and system,
// every thread (the garbage collector's included).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports cpu-ns/op: the process's CPU time since start over b.N.
// Unlike ns/op it does not grow when other processes take the cores, so it
// stays comparable on a busy machine.
func reportCPU(b *testing.B, start time.Duration) {
	if used := processCPU() - start; used > 0 && b.N > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
