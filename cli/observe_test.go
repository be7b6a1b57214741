package cli

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/onexhost/onex/envelope"
)

// collector is an OTLP/HTTP endpoint that keeps the trace exports it gets.
func collector(t *testing.T) (*httptest.Server, <-chan []byte) {
	t.Helper()
	got := make(chan []byte, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/traces" {
			got <- body
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// TestRunServesGatewayAndAdmin runs onex run with the HTTP gateway, the admin
// listener and tracing on: envelopes over HTTP, readiness, a metrics scrape
// and the handler listing while it runs, spans at the collector once it
// stopped, and nothing left running.
func TestRunServesGatewayAndAdmin(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // runs last
	srv, spans := collector(t)
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "contracts", "gw", "handler_contract.yaml"), transformContract("gw", 3))
	cfg := filepath.Join(dir, "onex.yaml")
	writeFile(t, cfg, `handler_source: {contract_paths: [`+filepath.Join(dir, "contracts")+`]}
admin: {listen: "127.0.0.1:0"}
ingress: {http: {listen: "127.0.0.1:0", max_request_bytes: 4096}}
tracing: {enabled: true, service_name: gateway-test}
`)

	pr, pw := io.Pipe()
	logs := newLogStream(pr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout bytes.Buffer
	exit := make(chan int, 1)
	go func() {
		exit <- Run(ctx, []string{"run", "--config", cfg}, strings.NewReader(""), &stdout, pw)
		pw.Close()
	}()
	adminAddr := logs.await(t, "admin listener ready", func(r map[string]any) bool { return r["msg"] == "admin listener ready" })["address"].(string)
	gwAddr := logs.await(t, "http gateway ready", func(r map[string]any) bool { return r["msg"] == "http gateway ready" })["address"].(string)

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	res, err := c.Post("http://"+gwAddr+"/v1/envelopes", "application/json",
		strings.NewReader(`{"operation":"gw.transform","payload":{},"metadata":{"traceparent":"00-`+traceID+`-00f067aa0ba902b7-01"}}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	r, err := envelope.DecodeResponse(bytes.TrimSpace(body))
	if err != nil || res.StatusCode != 200 || !r.Success || string(r.Result) != `{"gen":3}` {
		t.Fatalf("gateway: %d %s %v", res.StatusCode, body, err)
	}
	res, err = c.Post("http://"+gwAddr+"/v1/envelopes", "text/plain", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d", res.StatusCode)
	}

	for _, tc := range []struct{ path, want string }{
		{"/healthz", `"status": "ok"`},
		{"/readyz", `"status": "ready"`},
		{"/metrics", `onex_envelopes_total{handler="gw",operation="gw.transform",rule_id="",status="success"} 1`},
		{"/metrics", `onex_envelopes_total{handler="",operation="",rule_id="ENVELOPE-007",status="error"} 1`},
		{"/metrics", `onex_handlers{source_type="contract",status="registered"} 1`},
		{"/metrics", `onex_bus_lag_messages{group="onex",topic="onex.cmd.requests.v1"} 0`},
		{"/v1/handlers", `"handler_name": "gw"`},
	} {
		res, err := c.Get("http://" + adminAddr + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: %d, want %s in\n%s", tc.path, res.StatusCode, tc.want, b)
		}
	}

	cancel()
	if code := <-exit; code != ExitOK {
		t.Fatalf("exit %d\n%s", code, logs.String())
	}
	id, _ := hex.DecodeString(traceID)
	select {
	case export := <-spans:
		if !bytes.Contains(export, id) || !bytes.Contains(export, []byte("gw.transform")) || !bytes.Contains(export, []byte("gateway-test")) {
			t.Errorf("the exported span lacks the trace id, operation or service name")
		}
	default:
		t.Error("no span reached the collector by the time onex run returned")
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !json.Valid([]byte(line)) || strings.Contains(line, "\x1b[") {
			t.Errorf("not a JSON log line (a pipe gets no progress display): %q", line)
		}
	}
	if _, err := c.Get("http://" + adminAddr + "/healthz"); err == nil {
		t.Error("the admin listener still answers after onex run returned")
	}
}

// TestRunListenerRefusals: a listener that cannot bind, or tracing that cannot
// be set up, refuses start with a located RUNTIME-002.
func TestRunListenerRefusals(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "contracts", "one", "handler_contract.yaml"), transformContract("one", 1))
	for _, tc := range []struct {
		name, yaml, key string
		line            int
		env             map[string]string
	}{
		{"admin port taken", fmt.Sprintf("admin: {listen: %q}\n", busy.Addr().String()), "admin.listen", 1, nil},
		{"gateway port taken", fmt.Sprintf("ingress:\n  http: {listen: %q}\n", busy.Addr().String()), "ingress.http.listen", 2, nil},
		{"unknown exporter", "tracing: {enabled: true}\n", "tracing.enabled", 1, map[string]string{"OTEL_TRACES_EXPORTER": "carrier-pigeon"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			writeFile(t, cfg, tc.yaml)
			code, _, errs := runWith(t, strings.NewReader(""), "run", "--config", cfg, "--contracts", filepath.Join(dir, "contracts"), "--stdin")
			if code != ExitFailure {
				t.Fatalf("exit %d\n%s", code, errs)
			}
			want := fmt.Sprintf("%s:%d:", cfg, tc.line)
			if !strings.Contains(errs, "[RUNTIME-002]") || !strings.Contains(errs, tc.key+":") || !strings.Contains(errs, want) || !strings.Contains(errs, diagHintFor(tc.key)) {
				t.Errorf("want RUNTIME-002 at %s (%s) with its hint:\n%s", tc.key, want, errs)
			}
		})
	}
}

// diagHintFor is the start of the remediation hint of the listener refusals.
func diagHintFor(key string) string {
	if key == "tracing.enabled" {
		return "fix the OTEL_* environment variables"
	}
	return "choose a free host:port for " + key
}
