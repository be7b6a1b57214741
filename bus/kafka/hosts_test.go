package kafka

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/internal/kafkatest"
	"github.com/onexhost/onex/internal/testkit"
)

// The multi-process tests run the broker (internal/cmd/kfake) and several
// `onex run` hosts as separate processes, built from this module, and
// stream envelopes through them while hosts die or stop.

const (
	hostCount       = 3
	hostPartitions  = 6
	hostEnvelopes   = 30_000
	hostsHangGuard  = 4 * time.Minute
	hostStopTimeout = 30 * time.Second
)

// binaries builds onex and kfake once per test binary.
var binaries struct {
	once        sync.Once
	dir         string
	onex, kfake string
	root        string
	err         error
}

func buildBinaries(t *testing.T) (onex, kfake, root string) {
	t.Helper()
	binaries.once.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
		if err != nil {
			binaries.err = fmt.Errorf("module root: %w", err)
			return
		}
		binaries.root = strings.TrimSpace(string(out))
		binaries.dir, binaries.err = os.MkdirTemp("", "onex-kafka-hosts-")
		if binaries.err != nil {
			return
		}
		binaries.onex = filepath.Join(binaries.dir, "onex")
		binaries.kfake = filepath.Join(binaries.dir, "kfake")
		for bin, pkg := range map[string]string{binaries.onex: "./cmd/onex", binaries.kfake: "./internal/cmd/kfake"} {
			cmd := exec.Command("go", "build", "-o", bin, pkg)
			cmd.Dir = binaries.root
			if out, err := cmd.CombinedOutput(); err != nil {
				binaries.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if binaries.err != nil {
		t.Fatal(binaries.err)
	}
	return binaries.onex, binaries.kfake, binaries.root
}

// proc is a child process with its standard error kept for diagnosis.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stderr *testkit.Logs
	done   chan struct{}
	err    error
}

func startProc(t *testing.T, name string, stdout *bytes.Buffer, bin string, args ...string) (*proc, *bufio.Reader) {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), stderr: &testkit.Logs{}, done: make(chan struct{})}
	p.cmd.Stderr = p.stderr
	// A pipe on stdin: kfake exits when it closes, so no child outlives the
	// test even if the test binary dies.
	stdin, err := p.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out *bufio.Reader
	if stdout != nil {
		rc, err := p.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		out = bufio.NewReader(rc)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s stderr (tail):\n%s", name, tail(p.stderr.String(), 3000))
		}
	})
	return p, out
}

// exited waits for the process to end and returns its exit code.
func (p *proc) exited(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %s", p.name, timeout)
	}
	if p.err != nil {
		if ee, ok := p.err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		t.Fatalf("%s: %v", p.name, p.err)
	}
	return 0
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// hostCluster is a kfake process and the onex hosts of one group.
type hostCluster struct {
	brokers []string
	cfgPath string
	onex    string
	hosts   []*proc
	admin   *kgo.Client
	prod    *kgo.Client
}

func startHostCluster(t *testing.T) *hostCluster {
	t.Helper()
	onex, kfake, root := buildBinaries(t)
	_, out := startProc(t, "kfake", &bytes.Buffer{}, kfake, "-stdin-eof",
		"-topic", fmt.Sprintf("onex.cmd.requests.v1:%d", hostPartitions),
		"-topic", fmt.Sprintf("onex.evt.responses.v1:%d", hostPartitions),
		"-topic", "onex.dlq.requests.v1:1")
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("kfake address: %v", err)
	}
	hc := &hostCluster{brokers: strings.Split(strings.TrimSpace(line), ","), onex: onex}
	dir := t.TempDir()
	hc.cfgPath = filepath.Join(dir, "onex.yaml")
	brokers, _ := json.Marshal(hc.brokers)
	cfg := fmt.Sprintf(`handler_source:
  mode: contract
  contract_paths: [%q]
environment:
  name: development
runtime:
  drain_timeout: 20s
bus:
  kind: kafka
  kafka:
    brokers: %s
    group: onex-hosts
    commit_interval: 100ms
    session_timeout: 2s
    heartbeat_interval: 200ms
    rebalance_timeout: 20s
    revoke_timeout: 10s
`, filepath.Join(root, "examples", "quickstart", "contracts"), brokers)
	if err := os.WriteFile(hc.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	hc.admin = kafkatest.Client(t, hc.brokers)
	hc.prod = kafkatest.Client(t, hc.brokers, kgo.ProducerLinger(5*time.Millisecond))
	for i := 0; i < hostCount; i++ {
		p, _ := startProc(t, fmt.Sprintf("host%d", i+1), nil, onex, "run", "--config", hc.cfgPath)
		hc.hosts = append(hc.hosts, p)
	}
	hc.awaitMembers(t, hostCount)
	return hc
}

// awaitMembers waits until the group is stable with n members sharing every
// partition.
func (hc *hostCluster) awaitMembers(t *testing.T, n int) {
	t.Helper()
	var state string
	var members map[string][]int32
	ok := kafkatest.Eventually(hostsHangGuard, func() bool {
		state, members = kafkatest.Assigned(hc.admin, "onex-hosts", "onex.cmd.requests.v1")
		if state != "Stable" || len(members) != n {
			return false
		}
		seen := map[int32]bool{}
		for _, ps := range members {
			if len(ps) == 0 {
				return false
			}
			for _, p := range ps {
				seen[p] = true
			}
		}
		return len(seen) == hostPartitions
	})
	if !ok {
		t.Fatalf("group %q with members %v, want %d members sharing %d partitions", state, members, n, hostPartitions)
	}
}

// produce sends envelopes [from, to) and returns their correlation ids.
func (hc *hostCluster) produce(t *testing.T, from, to int) []string {
	t.Helper()
	ids := make([]string, 0, to-from)
	batch := make([]*kgo.Record, 0, 1000)
	flush := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := hc.prod.ProduceSync(ctx, batch...).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
		batch = batch[:0]
	}
	for i := from; i < to; i++ {
		corr := uuid.NewString()
		ids = append(ids, corr)
		v := fmt.Sprintf(`{"correlation_id":%q,"operation":"digest.sha256","payload":{"value":{"n":%d}}}`, corr, i)
		batch = append(batch, &kgo.Record{Topic: "onex.cmd.requests.v1", Key: []byte(corr), Value: []byte(v)})
		if len(batch) == cap(batch) {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return ids
}

// tally counts the responses per correlation id as they arrive.
type tally struct {
	mu     sync.Mutex
	seen   int // records already counted
	counts map[string]int
	failed []string
}

func (ty *tally) update(rs []*kgo.Record) {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	for _, r := range rs[ty.seen:] {
		resp, err := envelope.DecodeResponse(r.Value)
		if err != nil || !resp.Success {
			ty.failed = append(ty.failed, string(r.Value))
			continue
		}
		ty.counts[resp.CorrelationID]++
	}
	ty.seen = len(rs)
}

func (ty *tally) answered(ids []string) (missing, duplicates int) {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	for _, id := range ids {
		switch n := ty.counts[id]; {
		case n == 0:
			missing++
		case n > 1:
			duplicates += n - 1
		}
	}
	return missing, duplicates
}

// awaitAll waits until every id is answered at least once.
func awaitAll(t *testing.T, r *kafkatest.Reader, ty *tally, ids []string) (duplicates int) {
	t.Helper()
	err := r.Wait(hostsHangGuard, func(rs []*kgo.Record) bool {
		if len(rs) < len(ids) {
			return false
		}
		ty.update(rs)
		missing, _ := ty.answered(ids)
		return missing == 0
	})
	ty.update(r.Records())
	missing, dups := ty.answered(ids)
	if err != nil || missing > 0 {
		t.Fatalf("%d of %d envelopes never answered", missing, len(ids))
	}
	if len(ty.failed) > 0 {
		t.Fatalf("%d failed responses, first: %s", len(ty.failed), ty.failed[0])
	}
	return dups
}

func TestHostsSurviveAKilledHost(t *testing.T) {
	hc := startHostCluster(t)
	responses := kafkatest.Read(t, hc.brokers, "onex.evt.responses.v1")
	ty := &tally{counts: map[string]int{}}

	ids := hc.produce(t, 0, hostEnvelopes/2)
	// Kill one host while the stream is in full flow.
	if err := responses.Wait(hostsHangGuard, func(rs []*kgo.Record) bool { return len(rs) >= hostEnvelopes/6 }); err != nil {
		t.Fatalf("only %d responses before the kill", responses.Len())
	}
	victim := hc.hosts[1]
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.exited(t, hostStopTimeout)
	killedAt := responses.Len()
	ids = append(ids, hc.produce(t, hostEnvelopes/2, hostEnvelopes)...)

	dups := awaitAll(t, responses, ty, ids)
	// The survivors own every partition, the victim's included.
	hc.awaitMembers(t, hostCount-1)
	t.Logf("%d envelopes, every one answered; host killed after %d responses; %d duplicate responses (answered again after the kill, at-least-once)",
		len(ids), killedAt, dups)
	for _, h := range []*proc{hc.hosts[0], hc.hosts[2]} {
		if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := h.exited(t, hostStopTimeout); code != 0 {
			t.Errorf("%s exited %d after SIGTERM, want 0", h.name, code)
		}
	}
}

func TestHostsGracefulShutdownHandsOver(t *testing.T) {
	hc := startHostCluster(t)
	responses := kafkatest.Read(t, hc.brokers, "onex.evt.responses.v1")
	ty := &tally{counts: map[string]int{}}

	ids := hc.produce(t, 0, hostEnvelopes/2)
	if err := responses.Wait(hostsHangGuard, func(rs []*kgo.Record) bool { return len(rs) >= hostEnvelopes/6 }); err != nil {
		t.Fatalf("only %d responses before the shutdown", responses.Len())
	}
	leaving := hc.hosts[1]
	if err := leaving.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, hc.produce(t, hostEnvelopes/2, hostEnvelopes)...)
	if code := leaving.exited(t, hostStopTimeout); code != 0 {
		t.Fatalf("%s exited %d after SIGTERM, want 0", leaving.name, code)
	}
	dups := awaitAll(t, responses, ty, ids)
	hc.awaitMembers(t, hostCount-1)
	if dups > 0 {
		t.Errorf("%d envelopes answered twice across a graceful shutdown, want none", dups)
	}
	if n := responses.Len(); n != len(ids) {
		t.Errorf("%d responses for %d envelopes", n, len(ids))
	}
	t.Logf("%d envelopes answered exactly once across the graceful shutdown of one of %d hosts", len(ids), hostCount)
	for _, h := range []*proc{hc.hosts[0], hc.hosts[2]} {
		if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := h.exited(t, hostStopTimeout); code != 0 {
			t.Errorf("%s exited %d after SIGTERM, want 0", h.name, code)
		}
	}
}
