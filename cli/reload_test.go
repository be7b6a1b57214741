package cli

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/envelope"
)

const transformPath = "github.com/onexhost/onex/handlers/transform"

// transformContract is a contract for the transform handler answering
// {"gen": gen} to name.transform.
func transformContract(name string, gen int) string {
	return fmt.Sprintf(goodContract, name, name+".transform", transformPath, fmt.Sprintf(`config: {filter: "{gen: %d}"}`, gen))
}

// cliRegistry serves a registry index and its documents on 127.0.0.1.
type cliRegistry struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string]string
	down  bool
}

func newCLIRegistry(t *testing.T) *cliRegistry {
	t.Helper()
	r := &cliRegistry{files: map[string]string{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		body, ok := r.files[req.URL.Path]
		down := r.down
		r.mu.Unlock()
		switch {
		case down:
			http.Error(w, "down", http.StatusServiceUnavailable)
		case !ok:
			http.NotFound(w, req)
		default:
			_, _ = io.WriteString(w, body)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

// publish serves docs (name → document) under /c/<name>.yaml and their index;
// pinned overrides the digest the index pins for a name.
func (r *cliRegistry) publish(docs, pinned map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var entries []map[string]string
	names := make([]string, 0, len(docs))
	for k := range docs {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		digest := sha256Hex(docs[name])
		if p, ok := pinned[name]; ok {
			digest = p
		}
		r.files["/c/"+name+".yaml"] = docs[name]
		entries = append(entries, map[string]string{"name": name, "url": "c/" + name + ".yaml", "digest": digest})
	}
	b, _ := json.Marshal(entries)
	r.files["/index.json"] = string(b)
}

func (r *cliRegistry) setDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// TestValidateRegistry: onex validate --registry checks what the registry
// serves, digests first, without writing a cache.
func TestValidateRegistry(t *testing.T) {
	cacheHome := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cacheHome)
	reg := newCLIRegistry(t)
	index := reg.URL + "/index.json"

	reg.publish(map[string]string{"good": transformContract("good", 1), "other": transformContract("other", 2)}, nil)
	if code, out, errs := run(t, "validate", "--registry", index); code != ExitOK {
		t.Fatalf("clean registry: exit %d\n%s\n%s", code, out, errs)
	}

	tampered := transformContract("tampered", 2)
	reg.publish(map[string]string{"good": transformContract("good", 1), "tampered": tampered},
		map[string]string{"tampered": sha256Hex(transformContract("tampered", 1))})
	code, out, errs := run(t, "validate", "--format", "json", "--registry", index)
	if code != ExitFailure {
		t.Fatalf("tampered registry: exit %d\n%s\n%s", code, out, errs)
	}
	var rep diag.JSONReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Diagnostics) != 1 {
		t.Fatalf("diagnostics %s", out)
	}
	d := rep.Diagnostics[0]
	if d.RuleID != "CONTRACT-017" || d.HandlerIdentity != "tampered" || d.FilePath != reg.URL+"/c/tampered.yaml" ||
		d.SourceType != "registry" || d.RemediationHint == "" || !strings.Contains(d.Message, sha256Hex(tampered)) {
		t.Errorf("diagnostic %+v", d)
	}

	reg.setDown(true)
	code, out, _ = run(t, "validate", "--format", "json", "--registry", index)
	if code != ExitFailure || !strings.Contains(out, "CONTRACT-019") {
		t.Errorf("registry down: exit %d\n%s", code, out)
	}
	if entries, _ := os.ReadDir(cacheHome); len(entries) != 0 {
		t.Errorf("validate wrote into the cache: %v", entries)
	}

	for _, args := range [][]string{
		{"validate", "--registry", index, "--mode", "contract"},
		{"validate", "--registry", index, "./contracts"},
	} {
		if code, _, errs := run(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d\n%s", args, code, errs)
		}
	}
}

// TestRunRegistry: onex run --registry serves the registry's handlers, and
// restarts from the disk cache (registry_cache: stale) when the registry is
// down.
func TestRunRegistry(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	reg := newCLIRegistry(t)
	reg.publish(map[string]string{"reg": transformContract("reg", 7)}, nil)
	for _, tc := range []struct {
		name, cache string
		down        bool
	}{
		{"registry up", "fresh", false},
		{"registry down, cached set", "stale", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg.setDown(tc.down)
			code, out, errs := runWith(t, strings.NewReader(`{"operation":"reg.transform","payload":{}}`+"\n"),
				"run", "--registry", reg.URL+"/index.json", "--stdin")
			if code != ExitOK {
				t.Fatalf("exit %d\n%s", code, errs)
			}
			r, err := envelope.DecodeResponse([]byte(strings.TrimSpace(out)))
			if err != nil || !r.Success || string(r.Result) != `{"gen":7}` {
				t.Errorf("response %s: %v", out, err)
			}
			if !strings.Contains(errs, `"handler_source_mode":"registry"`) || !strings.Contains(errs, `"registry_cache":"`+tc.cache+`"`) {
				t.Errorf("startup record does not say registry_cache %s:\n%s", tc.cache, errs)
			}
		})
	}
}

// logStream reads a subprocess's JSON log lines and hands out the records.
type logStream struct {
	recs chan map[string]any
	mu   sync.Mutex
	text strings.Builder
}

func newLogStream(r io.Reader) *logStream {
	l := &logStream{recs: make(chan map[string]any, 1024)}
	go func() {
		defer close(l.recs)
		s := bufio.NewScanner(r)
		s.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for s.Scan() {
			l.mu.Lock()
			l.text.WriteString(s.Text() + "\n")
			l.mu.Unlock()
			var rec map[string]any
			if json.Unmarshal(s.Bytes(), &rec) == nil {
				l.recs <- rec
			}
		}
	}()
	return l
}

// await returns the next record for which match is true.
func (l *logStream) await(t *testing.T, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	guard := time.NewTimer(time.Minute)
	defer guard.Stop()
	for {
		select {
		case rec, ok := <-l.recs:
			if !ok {
				t.Fatalf("log ended before %s:\n%s", what, l.String())
			}
			if match(rec) {
				return rec
			}
		case <-guard.C:
			t.Fatalf("no %s in the log:\n%s", what, l.String())
		}
	}
}

func (l *logStream) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.text.String()
}

func reloaded(trigger, outcome string) func(map[string]any) bool {
	return func(r map[string]any) bool {
		return r["msg"] == "handlers reloaded" && r["trigger"] == trigger && r["outcome"] == outcome
	}
}

// onexProcess is the command line run in a subprocess (this test binary in its
// main mode) with --stdin: envelopes go to its standard input, responses come
// from its standard output, and its JSON log is read as it is written.
type onexProcess struct {
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	responses *bufio.Scanner
	logs      *logStream

	waitOnce sync.Once
	done     chan struct{} // closed when the process has exited
	waitErr  error
}

// startOnex starts the command line with args; the process is killed when the
// test ends, if it is still running.
func startOnex(t *testing.T, args ...string) *onexProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "ONEX_CLI_TEST_MAIN=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &onexProcess{cmd: cmd, stdin: stdin, responses: bufio.NewScanner(stdout), logs: newLogStream(stderr)}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited()
	})
	return p
}

// exited waits for the process (once) and is closed when it has exited.
func (p *onexProcess) exited() <-chan struct{} {
	p.waitOnce.Do(func() {
		p.done = make(chan struct{})
		go func() {
			p.waitErr = p.cmd.Wait()
			close(p.done)
		}()
	})
	return p.done
}

// ask sends an envelope for op and returns the response to it.
func (p *onexProcess) ask(t *testing.T, op string) *envelope.Response {
	t.Helper()
	if _, err := io.WriteString(p.stdin, `{"operation":"`+op+`","payload":{}}`+"\n"); err != nil {
		t.Fatal(err)
	}
	if !p.responses.Scan() {
		t.Fatalf("no response to %s:\n%s", op, p.logs.String())
	}
	r, err := envelope.DecodeResponse(p.responses.Bytes())
	if err != nil {
		t.Fatalf("response to %s %s: %v", op, p.responses.Bytes(), err)
	}
	return r
}

// finish ends the process's input and checks that it exits cleanly.
func (p *onexProcess) finish(t *testing.T) {
	t.Helper()
	if err := p.stdin.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited():
		if p.waitErr != nil {
			t.Fatalf("onex run exited with %v:\n%s", p.waitErr, p.logs.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("onex run did not exit after its input ended")
	}
}

// TestRunHotReload runs onex run --stdin in a subprocess: a new contract under
// the contract path is picked up, SIGHUP reloads, a broken contract is refused
// while the serving set keeps answering, and the last envelope reaches the
// handler added by the reload.
func TestRunHotReload(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	dir := t.TempDir()
	contracts := filepath.Join(dir, "contracts")
	writeFile(t, filepath.Join(contracts, "one", "handler_contract.yaml"), transformContract("one", 1))
	p := startOnex(t, "run", "--contracts", contracts, "--stdin")
	p.logs.await(t, "hot reload enabled", func(r map[string]any) bool { return r["msg"] == "hot reload enabled" })

	writeFile(t, filepath.Join(contracts, "two", "handler_contract.yaml"), transformContract("two", 2))
	rec := p.logs.await(t, "a reload on the new contract", reloaded("contract_change", "applied"))
	if rec["generation"] != 2.0 || rec["handler_count"] != 2.0 || rec["added_count"] != 1.0 {
		t.Errorf("reload record %v", rec)
	}
	if r := p.ask(t, "two.transform"); !r.Success || string(r.Result) != `{"gen":2}` {
		t.Errorf("two.transform after the reload: %+v", r)
	}

	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.logs.await(t, "a reload on SIGHUP", reloaded("signal", "applied"))

	writeFile(t, filepath.Join(contracts, "one", "handler_contract.yaml"), strings.Replace(transformContract("one", 3), "config:", "confg:", 1))
	rec = p.logs.await(t, "a refused reload of the broken contract", reloaded("contract_change", "refused"))
	if b, _ := json.Marshal(rec["diagnostics"]); !strings.Contains(string(b), "CONTRACT-004") {
		t.Errorf("refused reload record without the report: %v", rec)
	}
	if r := p.ask(t, "one.transform"); !r.Success || string(r.Result) != `{"gen":1}` {
		t.Errorf("one.transform after the refused reload: %+v", r)
	}

	p.finish(t)
}

// TestRunSIGHUPDuringStartup: a SIGHUP that arrives while onex run is still
// resolving its handlers (here: the registry index is slow to answer) neither
// ends the process nor is lost: the host reloads once it is ready, and the
// reload is counted in /metrics.
func TestRunSIGHUPDuringStartup(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	reg := newCLIRegistry(t)
	reg.publish(map[string]string{"reg": transformContract("reg", 7)}, nil)
	fetching, release := make(chan struct{}), make(chan struct{})
	var first sync.Once
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/index.json" {
			// The first index fetch, at startup, waits for the test.
			first.Do(func() {
				close(fetching)
				<-release
			})
		}
		reg.Config.Handler.ServeHTTP(w, req)
	}))
	t.Cleanup(gate.Close)
	releaseOnce := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseOnce) // runs before gate.Close
	cfg := filepath.Join(t.TempDir(), "onex.yaml")
	writeFile(t, cfg, `admin: {listen: "127.0.0.1:0"}`+"\n")

	p := startOnex(t, "run", "--config", cfg, "--registry", gate.URL+"/index.json", "--stdin")
	adminAddr := p.logs.await(t, "admin listener ready", func(r map[string]any) bool { return r["msg"] == "admin listener ready" })["address"].(string)
	select {
	case <-fetching:
	case <-time.After(time.Minute):
		t.Fatalf("onex run never fetched the registry index:\n%s", p.logs.String())
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	releaseOnce()
	p.logs.await(t, "host ready", func(r map[string]any) bool { return r["msg"] == "host ready" })
	p.logs.await(t, "the reload of the early SIGHUP", reloaded("signal", "applied"))

	if r := p.ask(t, "reg.transform"); !r.Success || string(r.Result) != `{"gen":7}` {
		t.Errorf("reg.transform after the reload: %+v", r)
	}

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Get("http://" + adminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`onex_reloads_total{outcome="applied"} 1`, `onex_reloads_total{outcome="refused"} 0`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}

	p.finish(t)
}
