package telemetry

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/redact"
	"github.com/onexhost/onex/runtime"
)

// Metric names, all under the onex namespace.
const (
	MetricEnvelopes = "onex_envelopes_total"
	MetricDuration  = "onex_envelope_duration_seconds"
	MetricDenials   = "onex_policy_denials_total"
	MetricInFlight  = "onex_invocations_in_flight"
	MetricHandlers  = "onex_handlers"
	MetricBusLag    = "onex_bus_lag_messages"
	MetricReloads   = "onex_reloads_total"
	// MetricRedeliveries and MetricDeadLetters count what the delivery
	// policy did with bus requests (runtime/delivery), whatever the bus.
	MetricRedeliveries = "onex_redeliveries_total"
	MetricDeadLetters  = "onex_dead_letters_total"
)

// Status label values of MetricEnvelopes and MetricDuration.
const (
	StatusSuccess = "success"
	StatusError   = "error"
)

// durationBuckets span an in-process compute handler (tens of microseconds)
// to an effect handler at its default 30s timeout.
var durationBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// deniedRules are the policy rules counted by MetricDenials, present from the
// first scrape: SECURITY-310/311 are counted where the capabilities refuse
// (Denied, wired to the policy's OnDenial), SECURITY-312 where the runtime
// refuses the envelope (Done).
var deniedRules = []handler.RuleID{ruleid.SecurityEgress, ruleid.SecuritySecretScope, ruleid.SecurityClassification}

// reloadOutcomes are the outcome label values of MetricReloads, present from
// the first scrape so that a rate over them is defined before any reload.
var reloadOutcomes = []runtime.ReloadOutcome{runtime.ReloadApplied, runtime.ReloadRefused, runtime.ReloadFailed}

// HostView is what Metrics read from the host at scrape time. Reading at
// scrape time, never once at start, keeps the metrics right across reloads
// that swap the handler set.
type HostView interface {
	Stats() runtime.Stats
	Handlers() []runtime.HandlerInfo
}

// LagReporter is a bus that knows how many messages wait per "topic/group"
// (bus/memory and bus/kafka, for the partitions this host owns).
type LagReporter interface {
	Lag() map[string]int
}

// Failure is the last failed response of a handler.
type Failure struct {
	RuleID        handler.RuleID `json:"rule_id"`
	Message       string         `json:"message"`
	Retryable     bool           `json:"retryable"`
	CorrelationID string         `json:"correlation_id"`
	At            time.Time      `json:"at"`
}

// Metrics are the host's Prometheus metrics, on a registry of their own (never
// the process-global default one): envelopes by operation, handler, status
// and rule id; latency histograms; policy denials by rule; invocations in
// flight; handlers by source and status; bus lag where the bus knows it;
// redeliveries and dead letters of bus requests; hot reloads by outcome; and
// the Go runtime and process collectors. Metrics is a runtime.Observer; it
// also remembers the last failure of each handler for /v1/handlers.
type Metrics struct {
	reg       *prometheus.Registry
	envelopes *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	denials   *prometheus.CounterVec
	denied312 prometheus.Counter
	reloads   *prometheus.CounterVec

	// series caches the label children of each (operation, handler, status,
	// rule) seen, so Done costs a map lookup under a read lock and no
	// allocation once a series exists.
	mu     sync.RWMutex
	series map[seriesKey]*series

	lastMu sync.Mutex
	last   map[string]Failure

	host atomic.Pointer[watched]
}

type seriesKey struct {
	op, handler string
	ok          bool
	rule        handler.RuleID
}

type series struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

type watched struct {
	host HostView
	lag  LagReporter
}

var _ runtime.Observer = (*Metrics)(nil)

// NewMetrics makes the metrics on a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		envelopes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricEnvelopes,
			Help: "Request envelopes answered, by routed operation and handler (empty when refused before routing), status (success, error) and rule id of the failure.",
		}, []string{"operation", "handler", "status", "rule_id"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricDuration,
			Help:    "Time from a request entering the pipeline to its response, by routed operation, handler and status.",
			Buckets: durationBuckets,
		}, []string{"operation", "handler", "status"}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricDenials,
			Help: "Invocation-time policy denials by rule: SECURITY-310 egress, SECURITY-311 secret scope, SECURITY-312 classification.",
		}, []string{"rule_id"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricReloads,
			Help: "Hot reloads of the handler set by outcome: applied (the new set serves), refused (it had blocking problems; the old set serves on), failed (the reload could not run).",
		}, []string{"outcome"}),
		series: map[seriesKey]*series{},
		last:   map[string]Failure{},
	}
	for _, r := range deniedRules {
		m.denials.WithLabelValues(string(r))
	}
	m.denied312 = m.denials.WithLabelValues(string(ruleid.SecurityClassification))
	for _, o := range reloadOutcomes {
		m.reloads.WithLabelValues(string(o))
	}
	m.reg.MustRegister(m.envelopes, m.duration, m.denials, m.reloads, hostCollector{m},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry the metrics are on, for embedding hosts that
// register collectors of their own or serve it themselves.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Watch makes the scrape-time metrics (in flight, handlers, bus lag) read
// host; b, when it implements LagReporter, gives the bus lag. Until Watch is
// called those metrics are absent.
func (m *Metrics) Watch(host HostView, b any) {
	w := &watched{host: host}
	if l, ok := b.(LagReporter); ok {
		w.lag = l
	}
	m.host.Store(w)
}

// Denied counts one denial by a capability; wire it to the policy
// enforcer's OnDenial (SECURITY-310, SECURITY-311).
func (m *Metrics) Denied(rule handler.RuleID) { m.denials.WithLabelValues(string(rule)).Inc() }

// Reloaded counts one reload by its outcome; it has the signature of
// runtime.Options.OnReload, where it is wired.
func (m *Metrics) Reloaded(res runtime.ReloadResult, _ error) {
	outcome := res.Outcome
	if outcome == "" {
		outcome = runtime.ReloadFailed
	}
	m.reloads.WithLabelValues(string(outcome)).Inc()
}

// Begin implements runtime.Observer; metrics need nothing at the start.
func (m *Metrics) Begin(ctx context.Context, _ time.Time, _ []byte) context.Context { return ctx }

// Done implements runtime.Observer: it counts the response and its latency.
func (m *Metrics) Done(_ context.Context, r runtime.Result) {
	k := seriesKey{op: string(r.Operation), handler: r.Handler, ok: r.Success, rule: r.RuleID}
	m.mu.RLock()
	s := m.series[k]
	m.mu.RUnlock()
	if s == nil {
		s = m.newSeries(k)
	}
	s.count.Inc()
	s.duration.Observe(r.Duration.Seconds())
	if r.Success {
		return
	}
	if r.RuleID == ruleid.SecurityClassification {
		m.denied312.Inc()
	}
	if r.Handler != "" {
		f := Failure{RuleID: r.RuleID, Message: redact.Text(r.Message), Retryable: r.Retryable,
			CorrelationID: r.CorrelationID, At: r.Start.Add(r.Duration).UTC()}
		m.lastMu.Lock()
		m.last[r.Handler] = f
		m.lastMu.Unlock()
	}
}

func (m *Metrics) newSeries(k seriesKey) *series {
	status := StatusError
	if k.ok {
		status = StatusSuccess
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.series[k]; s != nil {
		return s
	}
	s := &series{
		count:    m.envelopes.WithLabelValues(k.op, k.handler, status, string(k.rule)),
		duration: m.duration.WithLabelValues(k.op, k.handler, status),
	}
	m.series[k] = s
	return s
}

// LastFailure returns the last failed response of the named handler (its
// message with credentials redacted), if it ever failed.
func (m *Metrics) LastFailure(name string) (Failure, bool) {
	m.lastMu.Lock()
	defer m.lastMu.Unlock()
	f, ok := m.last[name]
	return f, ok
}

// hostCollector reads the watched host and bus at each scrape.
type hostCollector struct{ m *Metrics }

var (
	descInFlight = prometheus.NewDesc(MetricInFlight, "Handler invocations running now.", nil, nil)
	descHandlers = prometheus.NewDesc(MetricHandlers,
		"Handlers of the serving handler set, by source type (bootstrap, contract, registry) and status (registered, failed).",
		[]string{"source_type", "status"}, nil)
	descBusLag = prometheus.NewDesc(MetricBusLag, "Messages queued on the bus and not yet delivered, by topic and consumer group.",
		[]string{"topic", "group"}, nil)
	descRedeliveries = prometheus.NewDesc(MetricRedeliveries,
		"Attempts of bus requests after a retryable failure, by routed operation (empty when refused before routing) and rule id of that failure.",
		[]string{"operation", "rule_id"}, nil)
	descDeadLetters = prometheus.NewDesc(MetricDeadLetters,
		"Bus requests written to the dead-letter topic, by routed operation (empty when refused before routing) and rule id of their last failure.",
		[]string{"operation", "rule_id"}, nil)
)

func (c hostCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descInFlight
	ch <- descHandlers
	ch <- descBusLag
	ch <- descRedeliveries
	ch <- descDeadLetters
}

func (c hostCollector) Collect(ch chan<- prometheus.Metric) {
	w := c.m.host.Load()
	if w == nil {
		return
	}
	st := w.host.Stats()
	ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(st.InFlight))
	for k, n := range st.Redeliveries {
		ch <- prometheus.MustNewConstMetric(descRedeliveries, prometheus.CounterValue, float64(n), string(k.Operation), string(k.RuleID))
	}
	for k, n := range st.DeadLetters {
		ch <- prometheus.MustNewConstMetric(descDeadLetters, prometheus.CounterValue, float64(n), string(k.Operation), string(k.RuleID))
	}

	type key struct{ source, status string }
	counts := map[key]int{}
	for _, hi := range w.host.Handlers() {
		counts[key{string(hi.Descriptor.SourceType), string(hi.Status)}]++
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(descHandlers, prometheus.GaugeValue, float64(n), k.source, k.status)
	}
	if w.lag == nil {
		return
	}
	lag := w.lag.Lag()
	names := make([]string, 0, len(lag))
	for n := range lag {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		topic, group, _ := strings.Cut(n, "/")
		ch <- prometheus.MustNewConstMetric(descBusLag, prometheus.GaugeValue, float64(lag[n]), topic, group)
	}
}
