package main

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{9, 9, 1, 1, 5}, 5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

func TestTarget(t *testing.T) {
	for _, tc := range []struct {
		target Target
		ratio  float64
		met    bool
		text   string
	}{
		{Target{AtLeast, 3}, 3.2, true, "≥ 3.00×"},
		{Target{AtLeast, 3}, 2.9, false, "≥ 3.00×"},
		{Target{AtMost, 1.15}, 1.15, true, "≤ 1.15×"},
		{Target{AtMost, 1.15}, 1.2, false, "≤ 1.15×"},
		{Target{}, 100, true, "—"},
	} {
		if got := tc.target.Met(tc.ratio); got != tc.met {
			t.Errorf("%v met by %v = %v, want %v", tc.target, tc.ratio, got, tc.met)
		}
		if got := tc.target.String(); got != tc.text {
			t.Errorf("String() = %q, want %q", got, tc.text)
		}
	}
}

// TestInterleave checks the order of the sides (warm-ups, then A B, B A, …)
// and that the ratio is the median of the per-round ratios.
func TestInterleave(t *testing.T) {
	var order []string
	onexValues := []float64{10, 30, 20, 40, 50}
	peerValues := []float64{10, 10, 10, 10, 100}
	side := func(name string, values []float64) Side {
		return func(_ context.Context, round int) (Sample, error) {
			order = append(order, name)
			if round < 0 {
				return Sample{Value: 1, Allocs: -1}, nil
			}
			return Sample{Value: values[round], Allocs: float64(round)}, nil
		}
	}
	res, err := Interleave(context.Background(), 5, side("A", onexValues), side("B", peerValues))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(order, ""), "AB"+"AB"+"BA"+"AB"+"BA"+"AB"; got != want {
		t.Errorf("order %s, want %s", got, want)
	}
	// Per-round ratios 1, 3, 2, 4, 0.5: the median is 2, not 30/10.
	if res.Ratio != 2 || res.Onex.Value != 30 || res.Peer.Value != 10 || res.Onex.Allocs != 2 || res.Rounds != 5 {
		t.Errorf("result %+v", res)
	}
}

func TestInterleaveStopsAtTheFirstError(t *testing.T) {
	calls := 0
	boom := wrongf("lost 3 messages")
	ok := func(context.Context, int) (Sample, error) { calls++; return Sample{Value: 1}, nil }
	bad := func(_ context.Context, round int) (Sample, error) {
		calls++
		if round == 1 {
			return Sample{}, boom
		}
		return Sample{Value: 1}, nil
	}
	_, err := Interleave(context.Background(), 5, ok, bad)
	if !errors.Is(err, errWrong) || !strings.Contains(err.Error(), "round 2") {
		t.Fatalf("err = %v", err)
	}
	if calls != 5 { // two warm-ups, round 1 (A B), round 2 (B fails first)
		t.Errorf("%d calls", calls)
	}
}

func TestRows(t *testing.T) {
	p := Pair{Name: "w", Format: latency, Target: Target{AtMost, 1.1}}
	for _, tc := range []struct {
		name string
		row  Row
		want string
	}{
		{"met", PairRow(p, PairResult{Onex: Sample{1000, -1}, Peer: Sample{1000, 3}, Ratio: 1}), StatusMet},
		{"missed", PairRow(p, PairResult{Onex: Sample{2000, -1}, Peer: Sample{1000, -1}, Ratio: 2}), StatusMissed},
		{"info", PairRow(Pair{Name: "x", Format: latency}, PairResult{Onex: Sample{1, -1}, Peer: Sample{1, -1}, Ratio: 1}), StatusInfo},
		{"wrong", ErrorRow("w", Target{}, wrongf("2 lost")), StatusWrong},
		{"failed", ErrorRow("w", Target{}, errors.New("no broker")), StatusFailed},
		{"unavailable", UnavailableRow("w", "1 msg/s", Target{}, "not built"), StatusNotAvailable},
	} {
		if tc.row.Status != tc.want {
			t.Errorf("%s: status %q, want %q", tc.name, tc.row.Status, tc.want)
		}
	}
	if r := PairRow(p, PairResult{Onex: Sample{1000, -1}, Peer: Sample{1000, 3}, Ratio: 1}); r.Onex != "1.0 µs/op" || r.Peer != "1.0 µs/op, 3 allocs" {
		t.Errorf("figures %q / %q", r.Onex, r.Peer)
	}
	if Failed([]Row{{Status: StatusMissed}, {Status: StatusNotAvailable}}) {
		t.Error("a missed target or an unavailable workload is not a failure")
	}
	if !Failed([]Row{{Status: StatusMet}, {Status: StatusWrong}}) || !Failed([]Row{{Status: StatusFailed}}) {
		t.Error("a wrong result or a failure is a failure")
	}
}

func TestPrintTable(t *testing.T) {
	m := Machine{Cores: 2, GOMAXPROCS: 2, GoVersion: "go1.26.8", CPU: "Test CPU", OS: "linux/amd64", Load: "1.50", Date: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	rows := []Row{
		{Workload: "in-process", Onex: "300k msg/s", Peer: "100k msg/s", Ratio: 3, Target: Target{AtLeast, 3}, Status: StatusMet},
		{Workload: "startup", Onex: "5k contracts/s", Peer: "—", Ratio: math.NaN(), Status: StatusInfo},
		UnavailableRow("kafka", "80k msg/s", Target{AtLeast, 0.5}, "not in this build"),
	}
	var b bytes.Buffer
	if err := PrintTable(&b, m, 7, rows); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"workload", "onex", "peer", "ratio", "target", "result",
		"3.00×", "≥ 3.00×", "met", "NOT AVAILABLE",
		"machine: 2 cores (GOMAXPROCS 2), go1.26.8, linux/amd64, CPU Test CPU, load 1.50; date 2026-01-02T03:04:05Z",
		"median of 7 rounds",
		"NOT AVAILABLE: kafka: not in this build",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "NaN") {
		t.Errorf("a row without a peer shows NaN:\n%s", out)
	}
}

func TestCPUModel(t *testing.T) {
	if got := cpuModel("/nonexistent/cpuinfo"); got != "unknown" {
		t.Errorf("cpuModel of a missing file = %q", got)
	}
	dir := t.TempDir()
	cpuinfo, loadavg := filepath.Join(dir, "cpuinfo"), filepath.Join(dir, "loadavg")
	if err := os.WriteFile(cpuinfo, []byte("processor\t: 0\nmodel name\t: Test CPU @ 2.0GHz\nflags\t: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(loadavg, []byte("3.25 2.10 1.00 4/300 1234\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := cpuModel(cpuinfo); got != "Test CPU @ 2.0GHz" {
		t.Errorf("cpuModel = %q", got)
	}
	if got := loadAverage(loadavg); got != "3.25" {
		t.Errorf("loadAverage = %q", got)
	}
	if got := loadAverage(filepath.Join(dir, "missing")); got != "" {
		t.Errorf("loadAverage of a missing file = %q", got)
	}
}

func TestRunFlags(t *testing.T) {
	for _, args := range [][]string{{"-rounds", "3"}, {"-scale", "0"}, {"-only", "nope"}, {"-bogus"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("run %v = %d, want 2 (%s)", args, code, errOut.String())
		}
	}
}

// TestRunExitStatus checks that a wrong result fails the run loudly while a
// missed target or an unavailable workload does not.
func TestRunExitStatus(t *testing.T) {
	row := func(r Row) workload {
		return workload{name: r.Workload, run: func(context.Context, Options) []Row { return []Row{r} }}
	}
	met := row(Row{Workload: "fast", Onex: "2", Peer: "1", Ratio: 2, Target: Target{AtLeast, 1}, Status: StatusMet})
	missed := row(Row{Workload: "slow", Onex: "1", Peer: "2", Ratio: 0.5, Target: Target{AtLeast, 1}, Status: StatusMissed})
	absent := row(UnavailableRow("absent", "1 msg/s", Target{}, "not built"))
	wrong := row(ErrorRow("lossy", Target{}, wrongf("3 of 10 requests never answered (lost)")))
	for _, tc := range []struct {
		name string
		ws   []workload
		args []string
		code int
		want string
	}{
		{"all fine", []workload{met, missed, absent}, nil, 0, "NOT AVAILABLE: absent: not built"},
		{"wrong result", []workload{met, wrong}, nil, 1, "WRONG RESULT: lossy: wrong result: 3 of 10 requests never answered (lost)"},
		{"only the fine one", []workload{met, wrong}, []string{"-only", "fast"}, 0, "fast"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := runWorkloads(tc.ws, append([]string{"-rounds", "5"}, tc.args...), &out, &errOut); code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, errOut.String())
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out.String())
			}
		})
	}
}
