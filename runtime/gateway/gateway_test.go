package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/internal/hosttest"
	"github.com/onexhost/onex/internal/httpserve"
	"github.com/onexhost/onex/runtime"
	"github.com/onexhost/onex/runtime/telemetry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve starts a host over the probe handler and the gateway on 127.0.0.1,
// and returns the gateway's URL, a client, the host and the metrics both
// report to. Everything stops at cleanup.
func serve(t *testing.T, maxBytes int) (string, *http.Client, *runtime.Host, *telemetry.Metrics, *httpserve.Server) {
	t.Helper()
	m := telemetry.NewMetrics()
	cfg := hosttest.Config()
	cfg.HandlerTimeouts = map[string]time.Duration{"slow": 50 * time.Millisecond}
	h := hosttest.Start(t, runtime.Options{Config: cfg, Observer: m},
		hosttest.Desc("probe", "p.ok", "p.echo", "p.fail", "p.transient", "p.wait"),
		hosttest.Desc("slow", "s.wait"))
	srv, err := httpserve.Listen("127.0.0.1:0", New(h, Options{MaxRequestBytes: maxBytes, Observer: m}), httpserve.Options{Name: "gateway"})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv.URL(), &http.Client{Transport: tr}, h, m, srv
}

type answer struct {
	status int
	header http.Header
	resp   *envelope.Response
}

func post(t *testing.T, c *http.Client, method, url, ctype string, body io.Reader) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(raw, []byte("\n")) || res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("body %q with content type %q: want one JSON line", raw, res.Header.Get("Content-Type"))
	}
	r, err := envelope.DecodeResponse(bytes.TrimSpace(raw))
	if err != nil {
		t.Fatalf("response %q: %v", raw, err)
	}
	return answer{res.StatusCode, res.Header, r}
}

func TestRoundTrips(t *testing.T) {
	url, c, _, _, _ := serve(t, 4096)
	for _, tc := range []struct {
		name, body, ctype string
		status            int
		rule              string
		result            string
	}{
		{"echo", `{"operation":"p.echo","payload":{"x":1}}`, "application/json", 200, "", `{"x":1}`},
		{"charset parameter", `{"operation":"p.ok"}`, "application/json; charset=utf-8", 200, "", `{"ok":true}`},
		{"structured JSON type", `{"operation":"p.ok"}`, "application/cloudevents+json", 200, "", `{"ok":true}`},
		{"handler error", `{"operation":"p.fail"}`, "application/json", 500, "HANDLER-001", ""},
		{"retryable error", `{"operation":"p.transient"}`, "application/json", 503, "HANDLER-001", ""},
		{"unknown operation", `{"operation":"p.nope"}`, "application/json", 404, "ENVELOPE-003", ""},
		{"malformed envelope", `{"operation":`, "application/json", 400, "ENVELOPE-001", ""},
		{"missing operation", `{}`, "application/json", 400, "ENVELOPE-002", ""},
		{"classification denied", `{"operation":"p.ok","data_classification":"secret"}`, "application/json", 403, "SECURITY-312", ""},
		{"timeout", `{"operation":"s.wait","payload":{"gate":"` + hosttest.Gate() + `"}}`, "application/json", 504, "HANDLER-002", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := post(t, c, http.MethodPost, url+Path, tc.ctype, strings.NewReader(tc.body))
			if a.status != tc.status {
				t.Errorf("status %d, want %d (%+v)", a.status, tc.status, a.resp.Error)
			}
			if tc.rule == "" {
				if !a.resp.Success || string(a.resp.Result) != tc.result || a.resp.CorrelationID == "" {
					t.Errorf("%+v", a.resp)
				}
				return
			}
			if a.resp.Success || a.resp.Error.RuleID != tc.rule || a.resp.Error.RemediationHint == "" || a.resp.Error.Message == "" {
				t.Errorf("error %+v, want %s with a remediation hint", a.resp.Error, tc.rule)
			}
		})
	}
}

// TestRefusals: requests the gateway refuses before they are envelopes are
// answered with structured ENVELOPE-005/007 responses, and counted.
func TestRefusals(t *testing.T) {
	url, c, _, m, _ := serve(t, 512)
	big := `{"operation":"p.echo","payload":"` + strings.Repeat("x", 600) + `"}`
	for _, tc := range []struct {
		name, method, path, ctype string
		body                      io.Reader
		status                    int
		rule, detail              string
	}{
		{"GET", http.MethodGet, Path, "", nil, 405, "ENVELOPE-007", "method"},
		{"PUT", http.MethodPut, Path, "application/json", strings.NewReader(`{"operation":"p.ok"}`), 405, "ENVELOPE-007", "method"},
		{"text body", http.MethodPost, Path, "text/plain", strings.NewReader(`{"operation":"p.ok"}`), 415, "ENVELOPE-007", "content_type"},
		{"no content type", http.MethodPost, Path, "", strings.NewReader(`{"operation":"p.ok"}`), 415, "ENVELOPE-007", "content_type"},
		{"other path", http.MethodPost, "/v1/envelope", "application/json", strings.NewReader(`{}`), 404, "ENVELOPE-007", "path"},
		{"too large", http.MethodPost, Path, "application/json", strings.NewReader(big), 413, "ENVELOPE-005", "size"},
		// No Content-Length: the limit is found while reading.
		{"too large, chunked", http.MethodPost, Path, "application/json", io.MultiReader(strings.NewReader(big)), 413, "ENVELOPE-005", "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := post(t, c, tc.method, url+tc.path, tc.ctype, tc.body)
			if a.status != tc.status || a.resp.Success || a.resp.Error.RuleID != tc.rule {
				t.Fatalf("status %d %+v, want %d %s", a.status, a.resp.Error, tc.status, tc.rule)
			}
			e := a.resp.Error
			if e.RemediationHint == "" || e.ErrorType != "envelope_error" || e.Details[tc.detail] == nil || a.resp.CorrelationID == "" {
				t.Errorf("error %+v: want error type, hint and detail %s", e, tc.detail)
			}
			if tc.status == 405 && a.header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow %q", a.header.Get("Allow"))
			}
			if tc.rule == "ENVELOPE-005" && e.Details["limit"] != float64(512) {
				t.Errorf("details %v", e.Details)
			}
		})
	}
	want := map[string]float64{"ENVELOPE-007": 5, "ENVELOPE-005": 2}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != telemetry.MetricEnvelopes {
			continue
		}
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "rule_id" {
					got[l.GetValue()] += s.GetCounter().GetValue()
				}
			}
		}
	}
	for rule, n := range want {
		if got[rule] != n {
			t.Errorf("%s counted %v times, want %v (all: %v)", rule, got[rule], n, got)
		}
	}
}

// TestConcurrentRequests: each of many concurrent requests gets its own
// response.
func TestConcurrentRequests(t *testing.T) {
	url, c, _, _, _ := serve(t, 4096)
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Go(func() {
			corr := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			body := fmt.Sprintf(`{"correlation_id":%q,"operation":"p.echo","payload":{"i":%d}}`, corr, i)
			res, err := c.Post(url+Path, "application/json", strings.NewReader(body))
			if err != nil {
				errs <- err.Error()
				return
			}
			defer res.Body.Close()
			var r envelope.Response
			if err := json.NewDecoder(res.Body).Decode(&r); err != nil || r.CorrelationID != corr || string(r.Result) != fmt.Sprintf(`{"i":%d}`, i) {
				errs <- fmt.Sprintf("request %d: %v %+v", i, err, r)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestGracefulShutdown: shutting the gateway down answers the request in
// progress before it returns; then the host stops, and a gateway over a
// stopped host answers 503.
func TestGracefulShutdown(t *testing.T) {
	url, c, h, _, srv := serve(t, 4096)
	type result struct {
		status int
		resp   envelope.Response
		err    error
	}
	got := make(chan result, 1)
	gate := hosttest.Gate()
	go func() {
		var r result
		res, err := c.Post(url+Path, "application/json", strings.NewReader(`{"operation":"p.wait","payload":{"gate":"`+gate+`"}}`))
		if err == nil {
			defer res.Body.Close()
			r.status, r.err = res.StatusCode, json.NewDecoder(res.Body).Decode(&r.resp)
		}
		got <- r
	}()
	<-hosttest.Entered(gate)
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Shutdown(context.Background()) }()
	hosttest.Open(gate)
	if r := <-got; r.err != nil || r.status != 200 || !r.resp.Success || string(r.resp.Result) != `{"waited":true}` {
		t.Errorf("in-flight request: %v %d %+v", r.err, r.status, r.resp)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if err := h.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The same gateway over the stopped host, on a new listener.
	s2, err := httpserve.Listen("127.0.0.1:0", New(h, Options{MaxRequestBytes: 4096}), httpserve.Options{Name: "gateway"})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Shutdown(context.Background())
	a := post(t, c, http.MethodPost, s2.URL()+Path, "application/json", strings.NewReader(`{"operation":"p.ok"}`))
	if a.status != 503 || a.resp.Error.RuleID != "HANDLER-004" || !a.resp.Error.Retryable {
		t.Errorf("over a stopped host: %d %+v", a.status, a.resp.Error)
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want Config
		key  string
	}{
		{"", DefaultConfig(), ""},
		{"ingress: {http: {listen: '127.0.0.1:8080', max_request_bytes: 2048, read_timeout: 5s}}\n",
			Config{HTTP: HTTPConfig{Listen: "127.0.0.1:8080", MaxRequestBytes: 2048, ReadTimeout: 5 * time.Second}}, ""},
		{"ingress: {http: {listen: ':0'}}\n", Config{HTTP: HTTPConfig{Listen: ":0", ReadTimeout: DefaultReadTimeout}}, ""},
		{"ingress: {http: {listen: localhost}}\n", Config{}, "ingress.http.listen"},
		{"ingress: {http: {listen: 'localhost:http'}}\n", Config{}, "ingress.http.listen"},
		{"ingress: {http: {listen: ':70000'}}\n", Config{}, "ingress.http.listen"},
		{"ingress: {http: {max_request_bytes: 10}}\n", Config{}, "ingress.http.max_request_bytes"},
		{"ingress: {http: {read_timeout: 0s}}\n", Config{}, "ingress.http.read_timeout"},
		{"ingress: {http: {listn: ':80'}}\n", Config{}, "ingress.http.listn"},
	} {
		f, errs := config.Parse("onex.yaml", []byte(tc.yaml))
		if len(errs) > 0 {
			t.Fatal(errs[0])
		}
		c, errs := LoadConfig(f)
		if tc.key == "" {
			if len(errs) > 0 || c != tc.want {
				t.Errorf("%q: %+v %v", tc.yaml, c, errs)
			}
			continue
		}
		if len(errs) != 1 || errs[0].RuleID != "RUNTIME-002" || errs[0].Details["key"] != tc.key || errs[0].Line != 1 || errs[0].RemediationHint == "" {
			t.Errorf("%q: %v, want one located RUNTIME-002 at %s", tc.yaml, errs, tc.key)
		}
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		out  runtime.Outcome
		want int
	}{
		{runtime.Outcome{Success: true}, 200},
		{runtime.Outcome{RuleID: "ENVELOPE-004"}, 400},
		{runtime.Outcome{RuleID: "ENVELOPE-006"}, 400},
		{runtime.Outcome{RuleID: "SECURITY-310"}, 403},
		{runtime.Outcome{RuleID: "HANDLER-006"}, 422},
		{runtime.Outcome{RuleID: "HANDLER-003"}, 500},
		{runtime.Outcome{RuleID: "HANDLER-004", Retryable: false}, 503},
		{runtime.Outcome{RuleID: "HANDLER-005", Retryable: true}, 503},
	} {
		if got := Status(&tc.out); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.out.RuleID, got, tc.want)
		}
	}
}
