// Command onexbench measures onex side by side with its peers, in one process
// run, and prints one table: workload, onex figure, peer figure, ratio, target,
// met or missed, then the machine line and the date.
//
// Every pair runs interleaved (A B, B A, …) and is reported as the median of at
// least five rounds: the machine may be shared and noisy, so absolute figures
// are informative and the ratios are the result. Every workload checks its
// answers (lost, duplicated or malformed responses, wrong row counts) and the
// command exits 1 when any is wrong: a fast wrong answer never counts.
//
//	onexbench [-rounds 7] [-scale 1] [-only inproc,kafka,db,http,startup,policy] [-cpuprofile DIR] [-onex PATH]
//
// PostgreSQL comes from ONEX_TEST_PG_DSN (scripts/bench.sh starts one);
// with ONEX_REQUIRE_PG=1 a missing DSN is a failure rather than "not available".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Options are the harness's flags.
type Options struct {
	Rounds     int
	Scale      float64
	Timeout    time.Duration
	Only       []string
	CPUProfile string
	OnexBinary string
	Log        io.Writer
}

// workload is one family of rows of the table.
type workload struct {
	name string
	run  func(context.Context, Options) []Row
}

// workloads in the order of the table.
var workloads = []workload{
	{"inproc", func(ctx context.Context, o Options) []Row { return []Row{inprocWorkload(ctx, o)} }},
	{"kafka", func(ctx context.Context, o Options) []Row { return []Row{kafkaWorkload(ctx, o)} }},
	{"db", func(ctx context.Context, o Options) []Row { return []Row{dbWorkload(ctx, o)} }},
	{"http", func(ctx context.Context, o Options) []Row { return []Row{httpWorkload(ctx, o)} }},
	{"startup", startupWorkload},
	{"policy", policyWorkload},
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == childDiscover {
		os.Exit(discoverChild(os.Args[2:], os.Stdout))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	return runWorkloads(workloads, args, stdout, stderr)
}

// runWorkloads parses the flags, runs the selected workloads of ws in order,
// prints the table and returns the exit status: 0, 1 when a workload produced
// wrong results or failed, 2 for bad flags.
func runWorkloads(ws []workload, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("onexbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	var only string
	fs.IntVar(&o.Rounds, "rounds", 7, "measured rounds per pair (at least 5), after one warm-up")
	fs.Float64Var(&o.Scale, "scale", 1, "multiplies the operations per round (e.g. 0.1 for a quick check)")
	fs.DurationVar(&o.Timeout, "round-timeout", 60*time.Second, "longest wait for the last response of a round before the missing ones count as lost")
	fs.StringVar(&only, "only", "", "comma-separated workloads to run: "+workloadNames())
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "directory to write one CPU profile per workload (<workload>.pprof)")
	fs.StringVar(&o.OnexBinary, "onex", "", "the onex binary for the time-to-ready measurement (default: built from this checkout)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.Rounds < 5 {
		fmt.Fprintln(stderr, "onexbench: -rounds must be at least 5 (medians of fewer rounds are noise)")
		return 2
	}
	if o.Scale <= 0 {
		fmt.Fprintln(stderr, "onexbench: -scale must be positive")
		return 2
	}
	if only != "" {
		o.Only = strings.Split(only, ",")
		for _, w := range o.Only {
			if !slices.ContainsFunc(ws, func(x workload) bool { return x.name == w }) {
				fmt.Fprintf(stderr, "onexbench: unknown workload %q (known: %s)\n", w, workloadNames())
				return 2
			}
		}
	}
	if o.CPUProfile != "" {
		if err := os.MkdirAll(o.CPUProfile, 0o755); err != nil {
			fmt.Fprintln(stderr, "onexbench:", err)
			return 1
		}
	}
	o.Log = stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var rows []Row
	for _, w := range ws {
		if len(o.Only) > 0 && !slices.Contains(o.Only, w.name) {
			continue
		}
		start := time.Now()
		fmt.Fprintf(stderr, "onexbench: %s …\n", w.name)
		got := w.run(ctx, o)
		for _, r := range got {
			if r.Status == StatusNotAvailable {
				fmt.Fprintf(stderr, "onexbench: WARNING: %s is NOT AVAILABLE: %s\n", r.Workload, r.Note)
			}
		}
		fmt.Fprintf(stderr, "onexbench: %s done in %s\n", w.name, time.Since(start).Round(time.Millisecond))
		rows = append(rows, got...)
		if ctx.Err() != nil {
			break
		}
	}
	if err := PrintTable(stdout, ThisMachine(time.Now()), o.Rounds, rows); err != nil {
		fmt.Fprintln(stderr, "onexbench:", err)
		return 1
	}
	if Failed(rows) || ctx.Err() != nil {
		fmt.Fprintln(stderr, "onexbench: FAILED: a workload produced wrong results or could not run (see the notes above)")
		return 1
	}
	return 0
}

func workloadNames() string {
	names := make([]string, len(workloads))
	for i, w := range workloads {
		names[i] = w.name
	}
	return strings.Join(names, ",")
}

// scaled returns n operations multiplied by the -scale flag (at least 1).
func (o Options) scaled(n int) int {
	return max(1, int(float64(n)*o.Scale))
}

// profiled runs f under a CPU profile written to <-cpuprofile>/<name>.pprof,
// when -cpuprofile is set.
func (o Options) profiled(name string, f func() (PairResult, error)) (PairResult, error) {
	if o.CPUProfile == "" {
		return f()
	}
	file, err := os.Create(filepath.Join(o.CPUProfile, name+".pprof"))
	if err != nil {
		return PairResult{}, err
	}
	if err := pprof.StartCPUProfile(file); err != nil {
		return PairResult{}, errors.Join(err, file.Close())
	}
	res, err := f()
	pprof.StopCPUProfile()
	return res, errors.Join(err, file.Close())
}

// rate formats operations per second.
func rate(unit string) func(float64) string {
	return func(v float64) string {
		switch {
		case v >= 1e6:
			return fmt.Sprintf("%.2fM %s", v/1e6, unit)
		case v >= 1e3:
			return fmt.Sprintf("%.1fk %s", v/1e3, unit)
		}
		return fmt.Sprintf("%.0f %s", v, unit)
	}
}

// latency formats nanoseconds per operation.
func latency(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f ms/op", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1f µs/op", v/1e3)
	}
	return fmt.Sprintf("%.0f ns/op", v)
}
