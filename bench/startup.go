package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/onexhost/onex/archcheck"
	"github.com/onexhost/onex/contract"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/policy"
	"github.com/onexhost/onex/source"
	"github.com/onexhost/onex/validate"
)

// childDiscover is the first argument of the child process that discovers
// and validates one tree of contracts, so each size has its own peak RSS.
const childDiscover = "child-discover"

// discoverSizes are the contract counts of the discovery workload.
var discoverSizes = []int{100, 1_000, 10_000}

// readyContracts is the contract count of the time-to-ready workload.
const readyContracts = 100

// effectContract is a realistic contract, the size of the SPEC §3 example: an
// outbound HTTP handler with a secret header, an allowlist and packaging.
func effectContract(i int) string {
	return fmt.Sprintf(`contract_version: "1.0.0"
handler_identity:
  name: partner-%05d
  version: "1.4.0"
description: Calls the partner REST API.
handler_type: infra_handler
handler_type_category: effect
is_adapter: false
capabilities: [retry, idempotent]
commands_accepted: [partner%05d.get, partner%05d.post]
implementation:
  import_path: github.com/onexhost/onex/handlers/httpout
config:
  base_url: https://api.partner.example
  timeout: 10s
  headers: {Authorization: {secret: "partner-%05d/bearer"}}
security:
  allowed_domains: [api.partner.example, "*.cdn.partner.example"]
  secret_scopes: [partner-%05d]
  data_classification: confidential
  observability_level: standard
packaging: {module: github.com/acme/handlers, module_version: v1.4.0}
`, i, i, i, i, i)
}

// computeContract is a jq transform handler.
func computeContract(i int) string {
	return fmt.Sprintf(`contract_version: "1.0.0"
handler_identity: {name: shape-%05d, version: "1.0.0"}
description: Reshapes a payload.
handler_type: compute_handler
handler_type_category: compute
capabilities: [transform]
commands_accepted: [shape%05d.transform]
implementation: {import_path: github.com/onexhost/onex/handlers/transform}
config: {filter: '{n: .n, tags: [.tags[] | ascii_downcase]}'}
`, i, i)
}

// writeTree writes n contracts, 100 per directory, made by gen.
func writeTree(root string, n int, gen func(int) string) error {
	for i := range n {
		p := filepath.Join(root, fmt.Sprintf("d%03d", i/100), fmt.Sprintf("h%05d", i), contract.FileName)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(gen(i)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// discoverReport is what a discovery child prints.
type discoverReport struct {
	Descriptors int     `json:"descriptors"`
	Seconds     float64 `json:"seconds"`
	PeakRSSKiB  int64   `json:"peak_rss_kib"`
}

// discoverChild discovers and validates the contracts under args[0] the way a
// host starts (contract source, then validate.Set with the security and
// architecture registration rules) and checks that exactly args[1] clean
// descriptors came out. It prints a discoverReport.
func discoverChild(args []string, w io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: onexbench", childDiscover, "DIR COUNT")
		return 2
	}
	want, err := strconv.Atoi(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "onexbench:", err)
		return 2
	}
	env := policy.DefaultEnvironment(handler.EnvDevelopment)
	start := time.Now()
	descs, errs, err := source.NewContract([]string{args[0]}, source.ContractOptions{ProgressInterval: -1}).Discover(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "onexbench: discover:", err)
		return 1
	}
	report := validate.Set(descs, env.Registration(), archcheck.Startup())
	elapsed := time.Since(start)
	if len(errs) > 0 || report.Len() > 0 || len(descs) != want {
		first := ""
		switch {
		case len(errs) > 0:
			first = errs[0].Error()
		case report.Len() > 0:
			first = report.Diagnostics[0].Error()
		}
		fmt.Fprintf(os.Stderr, "onexbench: %s: %d descriptors (want %d), %d discovery errors, %d diagnostics; first: %s\n",
			errWrong, len(descs), want, len(errs), report.Len(), first)
		return 1
	}
	peak, err := peakRSSKiB()
	if err != nil {
		fmt.Fprintln(os.Stderr, "onexbench: peak RSS:", err)
		return 1
	}
	if err := json.NewEncoder(w).Encode(discoverReport{Descriptors: len(descs), Seconds: elapsed.Seconds(), PeakRSSKiB: peak}); err != nil {
		return 1
	}
	return 0
}

// startupWorkload measures workload 4: discovery + validation of 100, 1 000 and
// 10 000 contracts (each run in its own child process, for its own peak RSS),
// and the time from starting `onex run` with 100 contracts to its ready log
// line and to its first response.
func startupWorkload(ctx context.Context, o Options) []Row {
	var rows []Row
	root, err := os.MkdirTemp("", "onexbench-startup-")
	if err != nil {
		return []Row{ErrorRow("startup", Target{}, err)}
	}
	defer os.RemoveAll(root)
	self, err := os.Executable()
	if err != nil {
		return []Row{ErrorRow("startup", Target{}, err)}
	}
	for _, n := range discoverSizes {
		name := fmt.Sprintf("startup: discover+validate %s contracts", thousands(n))
		dir := filepath.Join(root, "discover-"+strconv.Itoa(n))
		if err := writeTree(dir, n, effectContract); err != nil {
			rows = append(rows, ErrorRow(name, Target{}, err))
			continue
		}
		var rss []float64
		s, err := Repeat(ctx, o.Rounds, func(ctx context.Context, _ int) (Sample, error) {
			r, err := runDiscoverChild(ctx, self, dir, n)
			if err != nil {
				return Sample{}, err
			}
			rss = append(rss, float64(r.PeakRSSKiB)/1024)
			return Sample{Value: float64(n) / r.Seconds, Allocs: -1}, nil
		})
		if err != nil {
			rows = append(rows, ErrorRow(name, Target{}, err))
			continue
		}
		rows = append(rows, Row{Workload: name, Onex: fmt.Sprintf("%s, peak RSS %.0f MiB", rate("contracts/s")(s.Value), median(rss)),
			Peer: "—", Ratio: nan(), Status: StatusInfo})
	}
	rows = append(rows, readyRow(ctx, o, root))
	return rows
}

// peakRSSKiB is this process's peak resident set. It reads VmHWM from
// /proc/self/status: getrusage's ru_maxrss would be useless here, because a
// process started by exec from a large parent inherits the parent's peak
// (Linux records the old address space's high-water mark at exec).
func peakRSSKiB() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		var ru syscall.Rusage
		if rerr := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); rerr != nil {
			return 0, errors.Join(err, rerr)
		}
		return ru.Maxrss, nil
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

func runDiscoverChild(ctx context.Context, self, dir string, n int) (discoverReport, error) {
	cmd := exec.CommandContext(ctx, self, childDiscover, dir, strconv.Itoa(n))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, errWrong.Error()) {
			return discoverReport{}, wrongf("discovery child: %s", msg)
		}
		return discoverReport{}, fmt.Errorf("discovery child: %w: %s", err, msg)
	}
	var r discoverReport
	if err := json.Unmarshal(out, &r); err != nil || r.Descriptors != n || r.Seconds <= 0 {
		return discoverReport{}, wrongf("discovery child printed %q", out)
	}
	return r, nil
}

// readyRow measures `onex run --stdin` with 100 contracts (half compute,
// half effect with a secret header resolved from the environment): from
// process start to the "host ready" log line, and to the response to the
// first envelope, which was written before the process started reading.
func readyRow(ctx context.Context, o Options, root string) Row {
	name := fmt.Sprintf("startup: onex run, %d contracts → ready / first response", readyContracts)
	bin := o.OnexBinary
	if bin == "" {
		bin = filepath.Join(root, "onex")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/onexhost/onex/cmd/onex")
		if out, err := build.CombinedOutput(); err != nil {
			return ErrorRow(name, Target{}, fmt.Errorf("build onex (or pass -onex): %w: %s", err, out))
		}
	}
	dir := filepath.Join(root, "ready")
	gen := func(i int) string {
		if i%2 == 0 {
			return computeContract(i)
		}
		return effectContract(i)
	}
	if err := writeTree(dir, readyContracts, gen); err != nil {
		return ErrorRow(name, Target{}, err)
	}
	env := os.Environ()
	for i := 1; i < readyContracts; i += 2 {
		env = append(env, policy.EnvVarName(handler.SecretRef{Scope: fmt.Sprintf("partner-%05d", i), Key: "bearer"})+"=token-"+strconv.Itoa(i))
	}
	var firsts []float64
	s, err := Repeat(ctx, o.Rounds, func(ctx context.Context, _ int) (Sample, error) {
		ready, first, err := runReady(ctx, bin, dir, env)
		if err != nil {
			return Sample{}, err
		}
		firsts = append(firsts, float64(first.Nanoseconds()))
		return Sample{Value: float64(ready.Nanoseconds()), Allocs: -1}, nil
	})
	if err != nil {
		return ErrorRow(name, Target{}, err)
	}
	return Row{Workload: name, Onex: fmt.Sprintf("%s / %s", ms(s.Value), ms(median(firsts))), Peer: "—", Ratio: nan(), Status: StatusInfo}
}

// runReady starts one `onex run --stdin` and returns the times to its ready
// log line and to its first response; it checks the response, that the host
// reported all the handlers, and that it exits 0 after stdin closes.
func runReady(ctx context.Context, bin, dir string, env []string) (ready, first time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "--mode", "contract", "--contracts", dir, "--stdin")
	cmd.Env = env
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	envelope := `{"envelope_id":"` + effectEnvelopeID + `","correlation_id":"` + effectCorrelationID +
		`","operation":"shape00000.transform","payload":{"n":7,"tags":["A","b"]}}` + "\n"
	var wg sync.WaitGroup
	var readyAt time.Duration
	var handlers float64
	var logTail []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var rec struct {
				Msg          string  `json:"msg"`
				HandlerCount float64 `json:"handler_count"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "host ready" && readyAt == 0 {
				readyAt, handlers = time.Since(start), rec.HandlerCount
			}
			if len(logTail) < 20 {
				logTail = append(logTail, sc.Text())
			}
		}
	}()
	_, werr := io.WriteString(stdin, envelope)
	r := bufio.NewReader(stdout)
	line, rerr := r.ReadBytes('\n')
	first = time.Since(start)
	cerr := stdin.Close()
	rest, _ := io.ReadAll(r)
	wg.Wait()
	waitErr := cmd.Wait()
	switch {
	case werr != nil || rerr != nil || cerr != nil:
		return 0, 0, fmt.Errorf("onex run: %w; log: %s", errors.Join(werr, rerr, cerr), strings.Join(logTail, "\n"))
	case waitErr != nil:
		return 0, 0, fmt.Errorf("onex run exited: %w; log: %s", waitErr, strings.Join(logTail, "\n"))
	case len(bytes.TrimSpace(rest)) > 0:
		return 0, 0, wrongf("onex run wrote %q after the only response", rest)
	case readyAt == 0:
		return 0, 0, wrongf("onex run logged no \"host ready\" line; log: %s", strings.Join(logTail, "\n"))
	case int(handlers) != readyContracts:
		return 0, 0, wrongf("onex run registered %v handlers, want %d", handlers, readyContracts)
	}
	result, err := successResult(line, "shape00000.transform")
	if err != nil {
		return 0, 0, err
	}
	if string(result) != `{"n":7,"tags":["a","b"]}` {
		return 0, 0, wrongf("transform answered %s", result)
	}
	return readyAt, first, nil
}

func ms(ns float64) string { return fmt.Sprintf("%.0f ms", ns/1e6) }

// thousands writes n with a thin space between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}
