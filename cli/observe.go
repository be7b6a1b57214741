package cli

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/internal/httpserve"
	"github.com/onexhost/onex/internal/progress"
	"github.com/onexhost/onex/internal/redact"
	"github.com/onexhost/onex/policy"
	"github.com/onexhost/onex/runtime"
	"github.com/onexhost/onex/runtime/admin"
	"github.com/onexhost/onex/runtime/gateway"
	"github.com/onexhost/onex/runtime/telemetry"
	"github.com/onexhost/onex/source"
)

// observability is what a host exposes besides its bus: the admin listener,
// the HTTP gateway and tracing (the admin, ingress and tracing sections).
type observability struct {
	admin   admin.Config
	ingress gateway.Config
	tracing telemetry.TracingConfig
}

// loadObservability decodes the admin, ingress and tracing sections into s.
func (s *hostSetup) loadObservability(f *config.File, report *diag.Report) {
	var errs []*diag.ValidationError
	s.observe.admin, errs = admin.LoadConfig(f)
	report.Add(errs...)
	s.observe.ingress, errs = gateway.LoadConfig(f)
	report.Add(errs...)
	s.observe.tracing, errs = telemetry.LoadTracingConfig(f)
	report.Add(errs...)
}

// telemetrySetup holds a running host's metrics, tracing and listeners.
// Its methods are safe on a nil receiver: a host built without it (onex
// handlers, tests) has none of them.
type telemetrySetup struct {
	env     *Env
	file    *config.File
	cfg     observability
	maxBody int

	metrics *telemetry.Metrics
	tracing *telemetry.Tracing
	bus     bus.Bus // the host's, set by newHost

	admin, gateway *httpserve.Server
}

// startTelemetry makes the metrics (when the admin listener is on) and starts
// tracing (when enabled) for the host newHost builds next.
func (s *hostSetup) startTelemetry(ctx context.Context, env *Env) (*telemetrySetup, *diag.ValidationError) {
	t := &telemetrySetup{env: env, file: s.file, cfg: s.observe, maxBody: s.observe.ingress.HTTP.MaxRequestBytes}
	if t.maxBody == 0 {
		t.maxBody = s.runtime.MaxEnvelopeBytes
	}
	if t.cfg.admin.Listen != "" {
		t.metrics = telemetry.NewMetrics()
	}
	if t.cfg.tracing.Enabled {
		// The exporter's own errors (collector unreachable) become JSON log
		// records like every other line on standard error.
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			env.Logger.Warn("tracing export failed", "error", redact.Text(err.Error()))
		}))
		tr, err := telemetry.StartTracing(ctx, t.cfg.tracing, env.Stderr)
		if err != nil {
			e := s.file.Errorf("tracing.enabled", "%v", err)
			e.RemediationHint = "fix the OTEL_* environment variables (OTEL_TRACES_EXPORTER: otlp, console or none; OTEL_EXPORTER_OTLP_PROTOCOL: grpc or http/protobuf), or turn tracing off"
			return nil, e
		}
		t.tracing = tr
	}
	s.tel = t
	return t, nil
}

// observer is the host's Observer: metrics and tracing, either or none.
func (t *telemetrySetup) observer() runtime.Observer {
	if t == nil {
		return nil
	}
	var m, tr runtime.Observer
	if t.metrics != nil {
		m = t.metrics
	}
	if t.tracing != nil {
		tr = t.tracing
	}
	return telemetry.Join(m, tr)
}

// onDenial counts the capabilities' policy denials, when there are metrics.
func (t *telemetrySetup) onDenial() func(policy.Denial) {
	if t == nil || t.metrics == nil {
		return nil
	}
	return func(d policy.Denial) { t.metrics.Denied(d.Rule) }
}

// onReload counts every reload of the host in the metrics, when there are.
func (t *telemetrySetup) onReload() func(runtime.ReloadResult, error) {
	if t == nil || t.metrics == nil {
		return nil
	}
	return t.metrics.Reloaded
}

// listenError is a located RUNTIME-002 for a listener that cannot bind.
func (t *telemetrySetup) listenError(key string, err error) *diag.ValidationError {
	e := t.file.Errorf(key, "%v", err)
	e.RemediationHint = "choose a free host:port for " + key + ", or leave it out to turn the listener off"
	return e
}

// serveAdmin starts the admin listener, before the host starts: /healthz
// answers during a long startup and /readyz says why the host is not ready.
func (t *telemetrySetup) serveAdmin(host *runtime.Host) *diag.ValidationError {
	if t.cfg.admin.Listen == "" {
		return nil
	}
	t.metrics.Watch(host, t.bus)
	h := admin.New(admin.Options{Host: host, Bus: t.bus, Metrics: t.metrics, ReadinessTimeout: t.cfg.admin.ReadinessTimeout})
	s, err := httpserve.Listen(t.cfg.admin.Listen, h, httpserve.Options{Name: "admin listener", ReadTimeout: 30 * time.Second, Logger: t.env.Logger})
	if err != nil {
		return t.listenError("admin.listen", err)
	}
	t.admin = s
	t.env.Logger.Info("admin listener ready", "address", s.Addr(), "endpoints", []string{admin.PathHealth, admin.PathReady, admin.PathMetrics, admin.PathHandlers})
	return nil
}

// serveGateway starts the HTTP gateway once the host is ready.
func (t *telemetrySetup) serveGateway(host *runtime.Host) *diag.ValidationError {
	if t.cfg.ingress.HTTP.Listen == "" {
		return nil
	}
	h := gateway.New(host, gateway.Options{MaxRequestBytes: t.maxBody, Observer: t.observer()})
	s, err := httpserve.Listen(t.cfg.ingress.HTTP.Listen, h, httpserve.Options{Name: "http gateway", ReadTimeout: t.cfg.ingress.HTTP.ReadTimeout, Logger: t.env.Logger})
	if err != nil {
		return t.listenError("ingress.http.listen", err)
	}
	t.gateway = s
	t.env.Logger.Info("http gateway ready", "address", s.Addr(), "path", gateway.Path, "max_request_bytes", t.maxBody)
	return nil
}

// stopIntake shuts the gateway down (it stops accepting and answers the
// requests in progress) before the host drains, bounded by the drain timeout.
func (t *telemetrySetup) stopIntake(drain time.Duration) {
	if t == nil || t.gateway == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := t.gateway.Shutdown(ctx); err != nil {
		t.env.Logger.Warn("http gateway shutdown", "error", err.Error())
	}
}

// stop closes the admin listener and flushes the spans, once the host stopped.
func (t *telemetrySetup) stop() {
	if t == nil {
		return
	}
	t.stopIntake(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if t.admin != nil {
		if err := t.admin.Shutdown(ctx); err != nil {
			t.env.Logger.Warn("admin listener shutdown", "error", err.Error())
		}
	}
	if t.tracing != nil {
		if err := t.tracing.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.env.Logger.Warn("tracing shutdown", "error", redact.Text(err.Error()))
		}
	}
}

// startWithProgress starts the host; on an interactive terminal a long
// discovery shows its progress on the status line meanwhile.
func startWithProgress(ctx context.Context, env *Env, host *runtime.Host) error {
	if env.status == nil || !env.status.Interactive() {
		return host.Start(ctx)
	}
	d := progress.Start(env.status, "discovering handlers", progress.DefaultDelay, progress.DefaultInterval)
	defer d.Stop()
	return host.Start(source.WithProgress(ctx, d.Update))
}
