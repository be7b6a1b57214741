package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/onexhost/onex/bus/memory"
	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/hosttest"
	"github.com/onexhost/onex/internal/httpserve"
	"github.com/onexhost/onex/runtime"
	"github.com/onexhost/onex/runtime/gateway"
	"github.com/onexhost/onex/runtime/telemetry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// listen serves h on 127.0.0.1 until cleanup.
func listen(t *testing.T, h http.Handler) *httpserve.Server {
	t.Helper()
	s, err := httpserve.Listen("127.0.0.1:0", h, httpserve.Options{Name: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}

func client(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func get(t *testing.T, c *http.Client, url string) (int, []byte) {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

func readiness(t *testing.T, c *http.Client, url string) (int, Readiness) {
	t.Helper()
	status, body := get(t, c, url+PathReady)
	var r Readiness
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return status, r
}

// flakyBus is a bus health that tests switch.
type flakyBus struct {
	mu  sync.Mutex
	err error
}

func (b *flakyBus) Health(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *flakyBus) set(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.err = err
}

// TestReadinessFlips: /readyz follows a required handler whose Health fails,
// then recovers, and the bus's connection; /healthz stays 200 throughout.
func TestReadinessFlips(t *testing.T) {
	toggle := hosttest.Gate() // a unique name for the health toggle
	flaky := hosttest.Desc("flaky", "f.ok")
	flaky.Config = json.RawMessage(`{"health":"` + toggle + `"}`)
	cfg := hosttest.Config()
	cfg.OptionalHandlers = []string{"broken"}
	broken := hosttest.Desc("broken", "b.ok")
	broken.Config = json.RawMessage(`{"nope":1}`) // rejected by the factory: failed, but optional
	h := hosttest.Start(t, runtime.Options{Config: cfg}, flaky, broken)
	b := &flakyBus{}
	s := listen(t, New(Options{Host: h, Bus: b}))
	c := client(t)

	steps := []struct {
		name   string
		health error
		bus    error
		status int
		reason string
	}{
		{"healthy", nil, nil, 200, ""},
		{"handler failing", errors.New("db unreachable at postgres://app:hunter2@db/app"), nil, 503, "handler flaky: unhealthy: db unreachable at postgres://app:redacted@db/app"},
		{"handler recovered", nil, nil, 200, ""},
		{"bus down", nil, errors.New("kafka: no broker reachable"), 503, "bus: kafka: no broker reachable"},
		{"both down", errors.New("timeout"), errors.New("closed"), 503, "handler flaky: unhealthy: timeout"},
		{"all recovered", nil, nil, 200, ""},
	}
	for _, st := range steps {
		hosttest.SetHealth(toggle, st.health)
		b.set(st.bus)
		status, r := readiness(t, c, s.URL())
		if status != st.status {
			t.Errorf("%s: /readyz %d %+v, want %d", st.name, status, r, st.status)
		}
		if st.status == 200 && (r.Status != "ready" || len(r.Reasons) > 0) {
			t.Errorf("%s: %+v", st.name, r)
		}
		if st.status == 503 {
			if r.Status != "not_ready" || len(r.Reasons) == 0 || r.Reasons[0] != st.reason {
				t.Errorf("%s: %+v, want first reason %q", st.name, r, st.reason)
			}
			for _, why := range r.Reasons {
				if strings.Contains(why, "hunter2") {
					t.Errorf("%s: reason leaks a password: %s", st.name, why)
				}
			}
		}
		if code, body := get(t, c, s.URL()+PathHealth); code != 200 || !strings.Contains(string(body), `"ok"`) {
			t.Errorf("%s: /healthz %d %s", st.name, code, body)
		}
	}
	if err := h.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if status, r := readiness(t, c, s.URL()); status != 503 || len(r.Reasons) != 1 || !strings.Contains(r.Reasons[0], "host is stopped") {
		t.Errorf("stopped host: %d %+v", status, r)
	}
}

// TestScrapeAndHandlers drives envelopes through the HTTP gateway, then reads
// /metrics (parsed with the Prometheus text parser) and /v1/handlers from the
// admin listener, both over real HTTP.
func TestScrapeAndHandlers(t *testing.T) {
	m := telemetry.NewMetrics()
	probe := hosttest.Desc("probe", "p.ok", "p.fail")
	probe.Config = json.RawMessage(`{"dsn":"postgres://app:hunter2@db/app"}`)
	probe.Origin = "https://reader:hunter2@registry.example/contracts/probe.yaml"
	vaulty := hosttest.Desc("vaulty", "v.ok")
	vaulty.Config = json.RawMessage(`{"dsn":{"secret":"db/dsn"},"pool":"postgres://app:hunter2@db/app"}`) // the factory rejects pool: fails to initialise
	cfg := hosttest.Config()
	cfg.OptionalHandlers = []string{"vaulty"}
	mb := memory.New(memory.DefaultConfig())
	src := &hosttest.Source{Descs: []*handler.Descriptor{probe, vaulty}}
	h := runtime.New(src, nil, nil, mb, nil, runtime.Options{Config: cfg, Observer: m})
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer h.Stop(context.Background())
	m.Watch(h, mb)
	gw := listen(t, gateway.New(h, gateway.Options{MaxRequestBytes: 4096, Observer: m}))
	adm := listen(t, New(Options{Host: h, Bus: mb, Metrics: m}))
	c := client(t)

	for _, body := range []string{`{"operation":"p.ok"}`, `{"operation":"p.ok"}`, `{"operation":"p.ok"}`,
		`{"operation":"p.fail"}`, `{"operation":"p.fail"}`, `{"operation":"p.nope"}`, `{"operation":"v.ok"}`} {
		res, err := c.Post(gw.URL()+gateway.Path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	if code, _ := get(t, c, gw.URL()+gateway.Path); code != 405 {
		t.Fatalf("GET on the gateway: %d", code)
	}
	// Reloads counted by outcome, as onex run wires them: the same set again
	// (applied), a set with a route conflict (refused), a reload canceled
	// before it could swap (failed).
	m.Reloaded(h.Reload(context.Background(), "test"))
	src.Descs = []*handler.Descriptor{probe, vaulty, hosttest.Desc("clash", "p.ok")}
	m.Reloaded(h.Reload(context.Background(), "test"))
	src.Descs = []*handler.Descriptor{probe, vaulty}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	m.Reloaded(h.Reload(canceled, "test"))
	m.Reloaded(h.Reload(context.Background(), "test"))

	res, err := c.Get(adm.URL() + PathMetrics)
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"onex_envelopes_total", map[string]string{"operation": "p.ok", "handler": "probe", "status": "success"}, 3},
		{"onex_envelopes_total", map[string]string{"operation": "p.fail", "handler": "probe", "status": "error", "rule_id": "HANDLER-001"}, 2},
		{"onex_envelopes_total", map[string]string{"operation": "v.ok", "handler": "vaulty", "status": "error", "rule_id": "HANDLER-004"}, 1},
		{"onex_envelopes_total", map[string]string{"status": "error", "rule_id": "ENVELOPE-003"}, 1},
		{"onex_envelopes_total", map[string]string{"status": "error", "rule_id": "ENVELOPE-007"}, 1},
		{"onex_envelope_duration_seconds", map[string]string{"operation": "p.ok", "handler": "probe", "status": "success"}, 3},
		{"onex_policy_denials_total", map[string]string{"rule_id": "SECURITY-312"}, 0},
		{"onex_invocations_in_flight", nil, 0},
		{"onex_handlers", map[string]string{"source_type": "contract", "status": "registered"}, 1},
		{"onex_handlers", map[string]string{"source_type": "contract", "status": "failed"}, 1},
		{"onex_bus_lag_messages", map[string]string{"topic": "onex.cmd.requests.v1", "group": "onex"}, 0},
		{"onex_reloads_total", map[string]string{"outcome": "applied"}, 2},
		{"onex_reloads_total", map[string]string{"outcome": "refused"}, 1},
		{"onex_reloads_total", map[string]string{"outcome": "failed"}, 1},
	} {
		got, ok := value(families[tc.name], tc.labels)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	if mf := families["onex_envelope_duration_seconds"]; mf == nil || mf.GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("latency is not a histogram: %v", mf)
	}

	code, body := get(t, c, adm.URL()+PathHandlers)
	if code != 200 {
		t.Fatalf("/v1/handlers %d %s", code, body)
	}
	for _, secret := range []string{"hunter2", `"secret"`, "db/dsn\""} {
		if strings.Contains(string(body), secret) {
			t.Errorf("/v1/handlers shows %s:\n%s", secret, body)
		}
	}
	var hv HandlersView
	if err := json.Unmarshal(body, &hv); err != nil || len(hv.Handlers) != 2 {
		t.Fatalf("%v %s", err, body)
	}
	pv, vv := hv.Handlers[0], hv.Handlers[1]
	if pv.Name != "probe" || pv.Status != runtime.StatusRegistered || !pv.Required || pv.SourceType != handler.SourceContract ||
		pv.Origin != "https://reader:redacted@registry.example/contracts/probe.yaml" || compact(pv.Config) != `{"dsn":"[redacted]"}` ||
		len(pv.Commands) != 2 || pv.InitError != nil {
		t.Errorf("probe %+v", pv)
	}
	if pv.LastFailure == nil || pv.LastFailure.RuleID != "HANDLER-001" || pv.LastFailure.CorrelationID == "" {
		t.Errorf("probe last failure %+v", pv.LastFailure)
	}
	if vv.Name != "vaulty" || vv.Status != runtime.StatusFailed || vv.Required || compact(vv.Config) != `{"dsn":"[redacted]","pool":"postgres://app:redacted@db/app"}` ||
		vv.InitError == nil || vv.InitError.RuleID != "RUNTIME-004" || vv.InitError.RemediationHint == "" {
		t.Errorf("vaulty %+v (init error %+v)", vv, vv.InitError)
	}
	if vv.LastFailure == nil || vv.LastFailure.RuleID != "HANDLER-004" {
		t.Errorf("vaulty last failure %+v", vv.LastFailure)
	}
	if code, _ := get(t, c, adm.URL()+"/nope"); code != 404 {
		t.Errorf("unknown path: %d", code)
	}
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return err.Error()
	}
	return b.String()
}

// value finds the sample of mf with exactly the non-empty labels given.
func value(mf *dto.MetricFamily, labels map[string]string) (float64, bool) {
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		n := 0
		for _, l := range m.GetLabel() {
			if l.GetValue() == "" {
				continue
			}
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
			n++
		}
		want := 0
		for _, v := range labels {
			if v != "" {
				want++
			}
		}
		if n != want {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want Config
		key  string
	}{
		{"", DefaultConfig(), ""},
		{"admin: {listen: '127.0.0.1:9090', readiness_timeout: 2s}\n", Config{Listen: "127.0.0.1:9090", ReadinessTimeout: 2 * time.Second}, ""},
		{"admin: {listen: 9090}\n", Config{}, "admin.listen"},
		{"admin: {readiness_timeout: -1s}\n", Config{}, "admin.readiness_timeout"},
		{"admin: {listen_addr: ':9090'}\n", Config{}, "admin.listen_addr"},
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
