package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	goruntime "runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// errWrong marks a workload that produced wrong results (lost, duplicated or
// malformed responses, wrong row counts): the run fails, whatever its speed.
var errWrong = errors.New("wrong result")

// wrongf returns an error wrapping errWrong.
func wrongf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errWrong, fmt.Sprintf(format, args...))
}

// Sample is one side's measurement in one round, in the unit of its pair:
// operations per second for throughput, nanoseconds per operation for latency.
type Sample struct {
	Value float64
	// Allocs per operation; negative when not measured.
	Allocs float64
}

// Side measures one side of a pair once.
type Side func(ctx context.Context, round int) (Sample, error)

// Comparison says which way a target reads.
type Comparison int

// The two kinds of targets: ratio at least (throughput: onex ≥ 3× the peer)
// and ratio at most (overhead: onex ≤ 1.15× the peer's time).
const (
	AtLeast Comparison = iota + 1
	AtMost
)

// Target is the ratio a pair must reach; the zero value means none.
type Target struct {
	Cmp   Comparison
	Ratio float64
}

// Met reports whether ratio reaches the target.
func (t Target) Met(ratio float64) bool {
	switch t.Cmp {
	case AtLeast:
		return ratio >= t.Ratio
	case AtMost:
		return ratio <= t.Ratio
	}
	return true
}

// String renders the target for the table ("≥ 3.00×", "≤ 1.15×", "—").
func (t Target) String() string {
	switch t.Cmp {
	case AtLeast:
		return fmt.Sprintf("≥ %.2f×", t.Ratio)
	case AtMost:
		return fmt.Sprintf("≤ %.2f×", t.Ratio)
	}
	return "—"
}

// Pair is a workload measured on onex and on a peer, interleaved.
type Pair struct {
	Name string
	// Unit formats a Sample value ("msg/s", "µs/op").
	Format func(v float64) string
	Onex   Side
	Peer   Side
	Target Target
}

// PairResult holds the medians of an interleaved run.
type PairResult struct {
	Onex, Peer Sample
	// Ratio is the median of the per-round ratios onex/peer: each round's two
	// sides ran back to back, so the ratio of one round cancels most of the
	// machine's load of that moment.
	Ratio  float64
	Rounds int
}

// Interleave runs the two sides alternately, rounds times (A B, B A, A B …)
// after one unrecorded warm-up of each, and returns the medians. The first
// error stops the run.
func Interleave(ctx context.Context, rounds int, onex, peer Side) (PairResult, error) {
	if _, err := onex(ctx, -1); err != nil {
		return PairResult{}, fmt.Errorf("onex warm-up: %w", err)
	}
	if _, err := peer(ctx, -1); err != nil {
		return PairResult{}, fmt.Errorf("peer warm-up: %w", err)
	}
	var onexs, peers []Sample
	var ratios []float64
	for r := range rounds {
		var o, p Sample
		first, second := onex, peer
		if r%2 == 1 {
			first, second = peer, onex
		}
		a, err := first(ctx, r)
		if err != nil {
			return PairResult{}, fmt.Errorf("round %d: %w", r+1, err)
		}
		b, err := second(ctx, r)
		if err != nil {
			return PairResult{}, fmt.Errorf("round %d: %w", r+1, err)
		}
		if r%2 == 1 {
			o, p = b, a
		} else {
			o, p = a, b
		}
		onexs, peers = append(onexs, o), append(peers, p)
		ratios = append(ratios, o.Value/p.Value)
	}
	return PairResult{Onex: medianSample(onexs), Peer: medianSample(peers), Ratio: median(ratios), Rounds: rounds}, nil
}

// Repeat measures one side alone rounds times (workloads without a peer) and
// returns the median.
func Repeat(ctx context.Context, rounds int, s Side) (Sample, error) {
	if _, err := s(ctx, -1); err != nil {
		return Sample{}, fmt.Errorf("warm-up: %w", err)
	}
	var ss []Sample
	for r := range rounds {
		v, err := s(ctx, r)
		if err != nil {
			return Sample{}, fmt.Errorf("round %d: %w", r+1, err)
		}
		ss = append(ss, v)
	}
	return medianSample(ss), nil
}

// median of xs (the mean of the two middle values for an even count); NaN for
// none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

func medianSample(ss []Sample) Sample {
	vs := make([]float64, len(ss))
	as := make([]float64, 0, len(ss))
	for i, s := range ss {
		vs[i] = s.Value
		if s.Allocs >= 0 {
			as = append(as, s.Allocs)
		}
	}
	out := Sample{Value: median(vs), Allocs: -1}
	if len(as) > 0 {
		out.Allocs = median(as)
	}
	return out
}

// Status of a row of the table.
const (
	StatusMet          = "met"
	StatusMissed       = "MISSED"
	StatusInfo         = "info"
	StatusNotAvailable = "NOT AVAILABLE"
	StatusWrong        = "WRONG RESULT"
	StatusFailed       = "FAILED"
)

// Row is one line of the result table.
type Row struct {
	Workload string
	Onex     string
	Peer     string
	// Ratio is onex/peer; NaN when the workload has no peer.
	Ratio  float64
	Target Target
	Status string
	// Note explains a status that is not met/info (why not available, what
	// was wrong).
	Note string
}

// PairRow turns a pair's result into a row.
func PairRow(p Pair, r PairResult) Row {
	row := Row{Workload: p.Name, Onex: withAllocs(p.Format(r.Onex.Value), r.Onex.Allocs),
		Peer: withAllocs(p.Format(r.Peer.Value), r.Peer.Allocs), Ratio: r.Ratio, Target: p.Target, Status: StatusInfo}
	if p.Target.Cmp != 0 {
		row.Status = StatusMissed
		if p.Target.Met(r.Ratio) {
			row.Status = StatusMet
		}
	}
	return row
}

// ErrorRow reports a workload that failed: wrong results or a broken setup.
func ErrorRow(name string, target Target, err error) Row {
	st := StatusFailed
	if errors.Is(err, errWrong) {
		st = StatusWrong
	}
	return Row{Workload: name, Onex: "—", Peer: "—", Ratio: math.NaN(), Target: target, Status: st, Note: err.Error()}
}

// UnavailableRow reports a workload that cannot run in this build or setup.
func UnavailableRow(name, peer string, target Target, why string) Row {
	return Row{Workload: name, Onex: "n/a", Peer: peer, Ratio: math.NaN(), Target: target, Status: StatusNotAvailable, Note: why}
}

func withAllocs(s string, allocs float64) string {
	if allocs < 0 {
		return s
	}
	return fmt.Sprintf("%s, %s allocs", s, trimFloat(allocs))
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// Failed reports whether any row is a wrong result or a failure.
func Failed(rows []Row) bool {
	return slices.ContainsFunc(rows, func(r Row) bool { return r.Status == StatusWrong || r.Status == StatusFailed })
}

// Machine describes where the run happened.
type Machine struct {
	Cores      int
	GOMAXPROCS int
	GoVersion  string
	CPU        string
	OS         string
	// Load is the 1-minute load average at the end of the run ("" when
	// unknown): how busy the machine was.
	Load string
	Date time.Time
}

// ThisMachine reads the machine line of this run.
func ThisMachine(now time.Time) Machine {
	return Machine{Cores: goruntime.NumCPU(), GOMAXPROCS: goruntime.GOMAXPROCS(0), GoVersion: goruntime.Version(),
		CPU: cpuModel("/proc/cpuinfo"), OS: goruntime.GOOS + "/" + goruntime.GOARCH, Load: loadAverage("/proc/loadavg"), Date: now.UTC()}
}

// loadAverage returns the 1-minute load average of a /proc/loadavg file.
func loadAverage(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// cpuModel returns the first "model name" of a /proc/cpuinfo file, or
// "unknown".
func cpuModel(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// String is the machine line of the table.
func (m Machine) String() string {
	load := ""
	if m.Load != "" {
		load = ", load " + m.Load
	}
	return fmt.Sprintf("machine: %d cores (GOMAXPROCS %d), %s, %s, CPU %s%s; date %s",
		m.Cores, m.GOMAXPROCS, m.GoVersion, m.OS, m.CPU, load, m.Date.Format(time.RFC3339))
}

// PrintTable writes the one table of the run: a row per workload, the machine
// line and the date, then the notes of rows that need one.
func PrintTable(w io.Writer, m Machine, rounds int, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tonex\tpeer\tratio\ttarget\tresult")
	for _, r := range rows {
		ratio := "—"
		if !math.IsNaN(r.Ratio) {
			ratio = fmt.Sprintf("%.2f×", r.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Workload, r.Onex, r.Peer, ratio, r.Target, r.Status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s\n", m)
	fmt.Fprintf(w, "pairs interleaved in one process (A B, B A, …), median of %d rounds after a warm-up; ratio = median of per-round onex/peer\n", rounds)
	for _, r := range rows {
		if r.Note != "" {
			fmt.Fprintf(w, "%s: %s: %s\n", r.Status, r.Workload, r.Note)
		}
	}
	return nil
}

// nan is the ratio of a row without a peer.
func nan() float64 { return math.NaN() }
