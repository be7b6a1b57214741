package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/handler"
	_ "github.com/onexhost/onex/handlers/all"
)

// TestMain lets the SIGTERM test run this test binary as the onex command.
func TestMain(m *testing.M) {
	if os.Getenv("ONEX_CLI_TEST_MAIN") == "1" {
		os.Exit(Main())
	}
	os.Exit(m.Run())
}

const slowPath = "example.com/clitest/slow"

func init() {
	handler.Register(handler.Factory{ImportPath: slowPath, Verbs: []string{"work"},
		New: func(json.RawMessage) (handler.Handler, error) { return slowWork{}, nil }})
}

// slowWork takes a second of work, announcing its start in the log.
type slowWork struct{}

func (slowWork) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	inv.Logger().Info("work started")
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-t.C:
		return handler.Output{Result: map[string]bool{"done": true}}, nil
	case <-ctx.Done():
		return handler.Output{}, ctx.Err()
	}
}

// runWith runs the command line in-process with stdin as its standard input.
func runWith(t *testing.T, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(t.Context(), args, stdin, &out, &errb)
	return code, out.String(), errb.String()
}

// TestRunQuickstart is the README's first command: one "success":true
// response per envelope.
func TestRunQuickstart(t *testing.T) {
	in, err := os.ReadFile("../examples/quickstart/envelopes.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := runWith(t, bytes.NewReader(in), "run", "--config", "../examples/quickstart/onex.yaml", "--stdin")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	want := strings.Count(strings.TrimSpace(string(in)), "\n") + 1
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != want {
		t.Fatalf("%d responses for %d envelopes:\n%s", len(lines), want, out)
	}
	for _, l := range lines {
		if strings.Count(l, `"success":true`) != 1 {
			t.Errorf("not a success: %s", l)
		}
	}
	if !strings.Contains(errs, `"msg":"handlers resolved"`) || !strings.Contains(errs, `"compat_mode":false`) {
		t.Errorf("no startup record in the log:\n%s", errs)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const goodContract = `contract_version: "1.0.0"
handler_identity: {name: %s, version: "1.0.0"}
handler_type: compute_handler
handler_type_category: compute
commands_accepted: [%s]
implementation: {import_path: %s}
%s
security: {data_classification: internal}
`

func TestRunStartupRefusals(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "good", "handler_contract.yaml"), fmt.Sprintf(goodContract, "ok", "ok.transform", "github.com/onexhost/onex/handlers/transform", `config: {filter: "."}`))
	writeFile(t, filepath.Join(dir, "bad", "handler_contract.yaml"), fmt.Sprintf(goodContract, "bad", "bad.transform", "github.com/onexhost/onex/handlers/transform", `confg: {filter: "."}`))
	writeFile(t, filepath.Join(dir, "prod.yaml"), "environment: {name: production}\nhandler_source: {mode: bootstrap}\n")
	writeFile(t, filepath.Join(dir, "expired.yaml"), "handler_source: {mode: hybrid, contract_paths: [./good], allow_bootstrap_override: true, bootstrap_expires_at: \"2020-01-01T00:00:00Z\"}\n")
	writeFile(t, filepath.Join(dir, "badkey.yaml"), "runtime: {max_concurrancy: 3}\n")
	if err := os.MkdirAll(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"invalid contract", []string{"run", "--contracts", dir, "--stdin"}, []string{"CONTRACT-004", "bad/handler_contract.yaml:7:1", "remediation:", "1 error, 0 warnings in 1 file"}},
		{"production bootstrap", []string{"run", "--config", filepath.Join(dir, "prod.yaml"), "--stdin"}, []string{"RUNTIME-003", "allow_bootstrap_override"}},
		{"expired override", []string{"run", "--config", filepath.Join(dir, "expired.yaml"), "--stdin"}, []string{"RUNTIME-003", "expired"}},
		{"no contracts", []string{"run", "--contracts", filepath.Join(dir, "empty"), "--stdin"}, []string{"CONTRACT-020", "no handler_contract.yaml found under " + filepath.Join(dir, "empty"), "remediation: point the path", "RUNTIME-001"}},
		{"bad runtime key", []string{"run", "--config", filepath.Join(dir, "badkey.yaml"), "--stdin"}, []string{"RUNTIME-002", `did you mean "max_concurrency"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runWith(t, strings.NewReader(`{"operation":"ok.transform"}`+"\n"), tc.args...)
			if code != ExitFailure {
				t.Fatalf("exit %d, want 1\nstdout %s\nstderr %s", code, out, errs)
			}
			if out != "" {
				t.Errorf("a refused start answered requests: %s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
		})
	}
	if code, _, errs := runWith(t, nil, "run", "--mode", "bogus"); code != ExitUsage {
		t.Errorf("--mode bogus: exit %d\n%s", code, errs)
	}
}

func TestHandlersCommand(t *testing.T) {
	code, out, errs := runWith(t, nil, "handlers", "--config", "../examples/quickstart/onex.yaml", "--format", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		Mode     string `json:"handler_source_mode"`
		Handlers []struct {
			Name, Status, Origin string
			SourceType           string `json:"source_type"`
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Mode != "contract" || len(got.Handlers) != 4 {
		t.Fatalf("%+v", got)
	}
	for _, h := range got.Handlers {
		if h.Status != "valid" || h.SourceType != "contract" || !strings.HasSuffix(h.Origin, "handler_contract.yaml") {
			t.Errorf("%+v", h)
		}
	}
	code, out, _ = runWith(t, nil, "handlers", "--config", "../examples/quickstart/onex.yaml")
	if code != ExitOK || !strings.Contains(out, "NAME") || !strings.Contains(out, "reshape") || !strings.Contains(out, "orders.transform") {
		t.Errorf("table: %d\n%s", code, out)
	}
	if code, _, _ := runWith(t, nil, "handlers", "--format", "yaml"); code != ExitUsage {
		t.Errorf("--format yaml: exit %d", code)
	}
}

func TestHandlersListsRejectedContracts(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bad", "handler_contract.yaml"), fmt.Sprintf(goodContract, "bad", "bad.nope", "github.com/onexhost/onex/handlers/transform", `config: {filter: "."}`))
	code, out, errs := runWith(t, nil, "handlers", "--contracts", dir)
	if code != ExitOK || !strings.Contains(out, "invalid (CONTRACT-015)") {
		t.Errorf("exit %d\n%s\n%s", code, out, errs)
	}
}

func TestRedactConfig(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"dsn":"postgres://app:hunter2@db/app"}`, `{"dsn":"[redacted]"}`},
		{`{"url":"postgres://app:hunter2@db/app?sslmode=disable"}`, `{"url":"postgres://app:redacted@db/app?sslmode=disable"}`},
		{`{"url":"https://api.example.com/x?token=abc&q=1"}`, `{"url":"https://api.example.com/x?token=abc\u0026q=1"}`},
		{`{"url":"https://u@api.example.com/x?api_key=abc&q=1"}`, `{"url":"https://u@api.example.com/x?api_key=redacted\u0026q=1"}`},
		{`{"headers":{"Authorization":{"secret":"partner/bearer"}}}`, `{"headers":{"Authorization":{"secret":"partner/bearer"}}}`},
		{`{"auth":{"password":"p","user":"u"},"n":1.50}`, `{"auth":{"password":"[redacted]","user":"u"},"n":1.50}`},
		{`{"tokens":["a","b"]}`, `{"tokens":["[redacted]","[redacted]"]}`},
		{`{"odd":"x://a:b@%zz"}`, `{"odd":"[redacted]"}`},
	} {
		if got := string(redactConfig(json.RawMessage(tc.in))); got != tc.want {
			t.Errorf("redactConfig(%s) = %s, want %s", tc.in, got, tc.want)
		}
		if strings.Contains(string(redactConfig(json.RawMessage(tc.in))), "hunter2") {
			t.Errorf("%s leaked", tc.in)
		}
	}
}

// TestRunSIGTERMDrains starts onex run --stdin in a subprocess, sends envelopes
// to a handler that works for a second, and sends SIGTERM while they are in
// flight: every one is answered and the process exits 0.
func TestRunSIGTERMDrains(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "contracts", "slow", "handler_contract.yaml"), fmt.Sprintf(goodContract, "slow", "slow.work", slowPath, ""))
	writeFile(t, filepath.Join(dir, "onex.yaml"), "runtime: {drain_timeout: 20s, invocation_timeout: 30s}\n")
	cmd := exec.Command(os.Args[0], "run", "--config", filepath.Join(dir, "onex.yaml"), "--stdin")
	cmd.Env = append(os.Environ(), "ONEX_CLI_TEST_MAIN=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const n = 5
	for i := 0; i < n; i++ {
		raw, _ := envelope.Encode(&envelope.Request{Operation: "slow.work", EnvelopeID: fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", i)})
		if _, err := stdin.Write(append(raw, '\n')); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until every envelope is being worked on, then signal.
	started := 0
	logs := bufio.NewScanner(stderr)
	var logText strings.Builder
	for started < n && logs.Scan() {
		logText.WriteString(logs.Text() + "\n")
		if strings.Contains(logs.Text(), `"msg":"work started"`) {
			started++
		}
	}
	if started < n {
		_ = cmd.Process.Kill()
		t.Fatalf("only %d of %d invocations started:\n%s", started, n, logText.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("onex run exited with %v", err)
		}
	case <-time.After(20 * time.Second): // the drain timeout
		_ = cmd.Process.Kill()
		t.Fatal("onex run did not exit within the drain timeout")
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != n {
		t.Fatalf("%d responses for %d envelopes in flight:\n%s", len(lines), n, stdout.String())
	}
	for _, l := range lines {
		r, err := envelope.DecodeResponse([]byte(l))
		if err != nil || !r.Success {
			t.Errorf("response %s: %v", l, err)
		}
	}
}
