package telemetry

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/bus/memory"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/hosttest"
	"github.com/onexhost/onex/runtime"
	"github.com/onexhost/onex/runtime/delivery"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sample returns the value of the metric name with exactly labels, and
// whether it exists: a counter's or gauge's value, a histogram's count.
func sample(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !sameLabels(m.GetLabel(), labels) {
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
	}
	return 0, false
}

func sameLabels(got []*dto.LabelPair, want map[string]string) bool {
	n := 0
	for _, l := range got {
		if l.GetValue() == "" {
			if v, ok := want[l.GetName()]; ok && v != "" {
				return false
			}
			continue // the text format drops empty labels too
		}
		if want[l.GetName()] != l.GetValue() {
			return false
		}
		n++
	}
	nonEmpty := 0
	for _, v := range want {
		if v != "" {
			nonEmpty++
		}
	}
	return n == nonEmpty
}

type fixedLag map[string]int

func (l fixedLag) Lag() map[string]int { return l }

func TestMetricsCountResponses(t *testing.T) {
	m := NewMetrics()
	h := hosttest.Start(t, runtime.Options{Observer: m}, hosttest.Desc("probe", "p.ok", "p.fail"))
	if _, ok := sample(t, m.Registry(), MetricInFlight, nil); ok {
		t.Errorf("%s before Watch", MetricInFlight)
	}
	m.Watch(h, fixedLag{"onex.cmd.requests.v1/onex": 4})
	ctx := context.Background()
	for _, raw := range []string{
		`{"operation":"p.ok"}`, `{"operation":"p.ok"}`, `{"operation":"p.ok"}`,
		`{"operation":"p.fail"}`, `{"operation":"p.fail"}`,
		`{"operation":"p.nope"}`,
		`{not json`,
		`{"operation":"p.ok","data_classification":"secret"}`,
	} {
		h.Dispatch(ctx, []byte(raw))
	}
	m.Denied("SECURITY-310")

	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{MetricEnvelopes, map[string]string{"operation": "p.ok", "handler": "probe", "status": "success"}, 3},
		{MetricEnvelopes, map[string]string{"operation": "p.fail", "handler": "probe", "status": "error", "rule_id": "HANDLER-001"}, 2},
		{MetricEnvelopes, map[string]string{"status": "error", "rule_id": "ENVELOPE-003"}, 1},
		{MetricEnvelopes, map[string]string{"status": "error", "rule_id": "ENVELOPE-001"}, 1},
		{MetricEnvelopes, map[string]string{"operation": "p.ok", "handler": "probe", "status": "error", "rule_id": "SECURITY-312"}, 1},
		{MetricDuration, map[string]string{"operation": "p.ok", "handler": "probe", "status": "success"}, 3},
		{MetricDuration, map[string]string{"operation": "p.fail", "handler": "probe", "status": "error"}, 2},
		{MetricDenials, map[string]string{"rule_id": "SECURITY-310"}, 1},
		{MetricDenials, map[string]string{"rule_id": "SECURITY-311"}, 0},
		{MetricDenials, map[string]string{"rule_id": "SECURITY-312"}, 1},
		{MetricInFlight, nil, 0},
		{MetricHandlers, map[string]string{"source_type": "contract", "status": "registered"}, 1},
		{MetricBusLag, map[string]string{"topic": "onex.cmd.requests.v1", "group": "onex"}, 4},
	} {
		got, ok := sample(t, m.Registry(), tc.name, tc.labels)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	if _, ok := sample(t, m.Registry(), "go_goroutines", nil); !ok {
		t.Error("the Go collector is not registered")
	}

	f, ok := m.LastFailure("probe")
	if !ok || f.RuleID != "SECURITY-312" || f.CorrelationID == "" || f.At.IsZero() {
		t.Errorf("last failure %+v, %v", f, ok)
	}
	h.Dispatch(ctx, []byte(`{"operation":"p.fail"}`))
	if f, _ := m.LastFailure("probe"); f.RuleID != "HANDLER-001" || strings.Contains(f.Message, "hunter2") || !strings.Contains(f.Message, "[redacted]") {
		t.Errorf("last failure %+v: want HANDLER-001 with the password redacted", f)
	}
	if _, ok := m.LastFailure("nobody"); ok {
		t.Error("a failure for a handler that never failed")
	}
}

// hostStub is a HostView with a handler set that changes between scrapes, as
// a reload changes it.
type hostStub struct{ infos []runtime.HandlerInfo }

func (s *hostStub) Stats() runtime.Stats            { return runtime.Stats{InFlight: 2} }
func (s *hostStub) Handlers() []runtime.HandlerInfo { return s.infos }

func TestMetricsReadHandlersAtScrape(t *testing.T) {
	m := NewMetrics()
	stub := &hostStub{}
	m.Watch(stub, struct{}{}) // a bus without lag: no lag series
	info := func(name string, src string, st runtime.Status) runtime.HandlerInfo {
		d := hosttest.Desc(name, name+".ok")
		d.SourceType = handler.SourceType(src)
		return runtime.HandlerInfo{Descriptor: d, Status: st}
	}
	stub.infos = []runtime.HandlerInfo{info("a", "contract", runtime.StatusRegistered), info("b", "bootstrap", runtime.StatusRegistered), info("c", "bootstrap", runtime.StatusFailed)}
	for _, tc := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"source_type": "contract", "status": "registered"}, 1},
		{map[string]string{"source_type": "bootstrap", "status": "registered"}, 1},
		{map[string]string{"source_type": "bootstrap", "status": "failed"}, 1},
	} {
		if got, ok := sample(t, m.Registry(), MetricHandlers, tc.labels); !ok || got != tc.want {
			t.Errorf("%v = %v, %v", tc.labels, got, ok)
		}
	}
	stub.infos = []runtime.HandlerInfo{info("a", "registry", runtime.StatusRegistered), info("d", "registry", runtime.StatusRegistered)}
	if got, _ := sample(t, m.Registry(), MetricHandlers, map[string]string{"source_type": "registry", "status": "registered"}); got != 2 {
		t.Errorf("after the swap: %v registry handlers", got)
	}
	if _, ok := sample(t, m.Registry(), MetricHandlers, map[string]string{"source_type": "bootstrap", "status": "failed"}); ok {
		t.Error("a handler of the replaced set is still counted")
	}
	if got, _ := sample(t, m.Registry(), MetricInFlight, nil); got != 2 {
		t.Errorf("in flight %v", got)
	}
	mfs, _ := m.Registry().Gather()
	names := make([]string, 0, len(mfs))
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	sort.Strings(names)
	if i := sort.SearchStrings(names, MetricBusLag); i < len(names) && names[i] == MetricBusLag {
		t.Errorf("bus lag exported for a bus that does not know it")
	}
}

func TestJoin(t *testing.T) {
	if Join() != nil || Join(nil, nil) != nil {
		t.Error("Join of nothing is not nil")
	}
	m := NewMetrics()
	if Join(nil, m) != runtime.Observer(m) {
		t.Error("Join of one observer is not that observer")
	}
	var order []string
	a, b := &orderObs{"a", &order}, &orderObs{"b", &order}
	j := Join(a, nil, b)
	ctx := j.Begin(context.Background(), time.Time{}, nil)
	j.Done(ctx, runtime.Result{})
	if got := strings.Join(order, ","); got != "begin a,begin b,done a ctx b,done b ctx b" {
		t.Errorf("order %s", got)
	}
}

type orderKey struct{}

type orderObs struct {
	name  string
	order *[]string
}

func (o *orderObs) Begin(ctx context.Context, _ time.Time, _ []byte) context.Context {
	*o.order = append(*o.order, "begin "+o.name)
	return context.WithValue(ctx, orderKey{}, o.name)
}

func (o *orderObs) Done(ctx context.Context, _ runtime.Result) {
	v, _ := ctx.Value(orderKey{}).(string)
	*o.order = append(*o.order, "done "+o.name+" ctx "+v)
}

// TestMetricsCountReloads: every outcome is exported from the first scrape
// (at zero), and each reload counts under its own.
func TestMetricsCountReloads(t *testing.T) {
	m := NewMetrics()
	for _, o := range []string{"applied", "refused", "failed"} {
		if got, ok := sample(t, m.Registry(), MetricReloads, map[string]string{"outcome": o}); !ok || got != 0 {
			t.Errorf("%s{outcome=%s} before any reload = %v (present %v), want 0", MetricReloads, o, got, ok)
		}
	}
	for _, res := range []runtime.ReloadResult{
		{Outcome: runtime.ReloadApplied}, {Outcome: runtime.ReloadApplied}, {Outcome: runtime.ReloadRefused},
		{Outcome: runtime.ReloadFailed}, {}, // a result without an outcome did not run: failed
	} {
		m.Reloaded(res, nil)
	}
	for o, want := range map[string]float64{"applied": 2, "refused": 1, "failed": 2} {
		if got, _ := sample(t, m.Registry(), MetricReloads, map[string]string{"outcome": o}); got != want {
			t.Errorf("%s{outcome=%s} = %v, want %v", MetricReloads, o, got, want)
		}
	}
}

// deliveryStub is a HostView whose delivery policy redelivered and
// dead-lettered requests.
type deliveryStub struct{ hostStub }

func (*deliveryStub) Stats() runtime.Stats {
	return runtime.Stats{
		Redeliveries: map[delivery.Key]uint64{{Operation: "db.query", RuleID: "HANDLER-001"}: 8, {Operation: "db.query", RuleID: "HANDLER-002"}: 1},
		DeadLetters:  map[delivery.Key]uint64{{Operation: "db.query", RuleID: "HANDLER-001"}: 2, {RuleID: "ENVELOPE-001"}: 3},
	}
}

func TestMetricsCountDeliveryPolicy(t *testing.T) {
	m := NewMetrics()
	for _, name := range []string{MetricRedeliveries, MetricDeadLetters} {
		if _, ok := sample(t, m.Registry(), name, map[string]string{"operation": "db.query", "rule_id": "HANDLER-001"}); ok {
			t.Errorf("%s before Watch", name)
		}
	}
	m.Watch(&deliveryStub{}, nil)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{MetricRedeliveries, map[string]string{"operation": "db.query", "rule_id": "HANDLER-001"}, 8},
		{MetricRedeliveries, map[string]string{"operation": "db.query", "rule_id": "HANDLER-002"}, 1},
		{MetricDeadLetters, map[string]string{"operation": "db.query", "rule_id": "HANDLER-001"}, 2},
		// A record that is not JSON was never routed: no operation.
		{MetricDeadLetters, map[string]string{"rule_id": "ENVELOPE-001"}, 3},
	} {
		if got, ok := sample(t, m.Registry(), tc.name, tc.labels); !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
}

// TestMetricsCountDeadLettersOnTheMemoryBus: a host on the memory bus
// retries and dead-letters as on any bus, and the admin metrics say so.
func TestMetricsCountDeadLettersOnTheMemoryBus(t *testing.T) {
	b := memory.New(memory.DefaultConfig())
	cfg := hosttest.Config()
	cfg.Delivery.MaxAttempts = 3
	cfg.Delivery.Backoff = delivery.Backoff{Initial: time.Millisecond, Max: time.Millisecond, Multiplier: 1}
	m := NewMetrics()
	h := runtime.New(&hosttest.Source{Descs: []*handler.Descriptor{hosttest.Desc("probe", "p.transient")}}, nil, nil, b, nil,
		runtime.Options{Config: cfg, Observer: m})
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer h.Stop(context.Background())
	m.Watch(h, b)
	answered := make(chan struct{}, 2)
	sub, err := b.Subscribe(context.Background(), cfg.ResponseTopic, "client", func(_ context.Context, d *bus.Delivery) {
		d.Ack()
		answered <- struct{}{}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop(context.Background())
	for _, raw := range []string{`{"operation":"p.transient"}`, `not JSON`} {
		if err := b.Publish(context.Background(), bus.Message{Topic: cfg.RequestTopic, Value: []byte(raw)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		select {
		case <-answered:
		case <-time.After(time.Minute):
			t.Fatal("no response before the hang guard")
		}
	}
	// Each response goes out after its dead letter: the counts are final.
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{MetricRedeliveries, map[string]string{"operation": "p.transient", "rule_id": "HANDLER-001"}, 2},
		{MetricDeadLetters, map[string]string{"operation": "p.transient", "rule_id": "HANDLER-001"}, 1},
		{MetricDeadLetters, map[string]string{"rule_id": "ENVELOPE-001"}, 1},
	} {
		if got, ok := sample(t, m.Registry(), tc.name, tc.labels); !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
}
