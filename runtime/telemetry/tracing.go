package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/internal/redact"
	"github.com/onexhost/onex/runtime"
)

// TracingConfig is the tracing section of onex.yaml. Tracing is off unless
// enabled; where the spans go is configured by the standard OpenTelemetry
// environment variables (OTEL_TRACES_EXPORTER: otlp, the default, console or
// none; OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, headers,
// timeouts; OTEL_TRACES_SAMPLER and its argument; OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES, which win over service_name). OTEL_SDK_DISABLED=true
// turns tracing off whatever the file says.
type TracingConfig struct {
	// Enabled turns tracing on: one span per request envelope.
	Enabled bool `yaml:"enabled"`
	// ServiceName is the service.name resource attribute of the spans.
	ServiceName string `yaml:"service_name"`
}

// DefaultServiceName is the default service.name of the spans.
const DefaultServiceName = "onex"

// DefaultTracingConfig returns the defaults: tracing off.
func DefaultTracingConfig() TracingConfig { return TracingConfig{ServiceName: DefaultServiceName} }

// LoadTracingConfig decodes the tracing section of f over the defaults and
// checks it.
func LoadTracingConfig(f *config.File) (TracingConfig, []*diag.ValidationError) {
	c := DefaultTracingConfig()
	if errs := f.Decode("tracing", &c); len(errs) > 0 {
		return c, errs
	}
	return c, c.Validate(f)
}

// Validate checks the values (RUNTIME-002 with the key); f may be nil.
func (c TracingConfig) Validate(f *config.File) []*diag.ValidationError {
	if strings.TrimSpace(c.ServiceName) == "" {
		return []*diag.ValidationError{f.Errorf("tracing.service_name", "must not be empty (default %s)", DefaultServiceName)}
	}
	return nil
}

// instrumentationName names the tracer of the spans.
const instrumentationName = "github.com/onexhost/onex/runtime"

// Span attribute keys.
const (
	AttrOperation     = attribute.Key("onex.operation")
	AttrHandler       = attribute.Key("onex.handler")
	AttrStatus        = attribute.Key("onex.status")
	AttrRuleID        = attribute.Key("onex.rule_id")
	AttrRetryable     = attribute.Key("onex.retryable")
	AttrEnvelopeID    = attribute.Key("onex.envelope_id")
	AttrCorrelationID = attribute.Key("onex.correlation_id")
)

// unroutedSpanName names the span of a request refused before routing.
const unroutedSpanName = "onex.envelope"

// Tracer is the runtime.Observer that makes one span per request envelope:
// named after the routed operation, with the handler, status, rule id and
// ids as attributes, an error status on failure, and as parent the W3C trace
// context the envelope carries in metadata.traceparent (and tracestate), else
// whatever span the dispatching context holds. The handler's invocation
// context holds the span, so a handler's own spans are its children.
type Tracer struct {
	tracer trace.Tracer
	prop   propagation.TraceContext
}

var _ runtime.Observer = (*Tracer)(nil)

// NewTracer makes the observer on tp.
func NewTracer(tp trace.TracerProvider) *Tracer {
	return &Tracer{tracer: tp.Tracer(instrumentationName)}
}

// traceMetadata is the part of an envelope's metadata that carries the trace
// context.
type traceMetadata struct {
	Traceparent string `json:"traceparent"`
	Tracestate  string `json:"tracestate"`
}

// Begin starts the request's span.
func (t *Tracer) Begin(ctx context.Context, start time.Time, metadata []byte) context.Context {
	if len(metadata) > 0 && bytes.Contains(metadata, []byte(`"traceparent"`)) {
		var md traceMetadata
		if json.Unmarshal(metadata, &md) == nil && md.Traceparent != "" {
			ctx = t.prop.Extract(ctx, propagation.MapCarrier{"traceparent": md.Traceparent, "tracestate": md.Tracestate})
		}
	}
	ctx, _ = t.tracer.Start(ctx, unroutedSpanName, trace.WithTimestamp(start), trace.WithSpanKind(trace.SpanKindServer))
	return ctx
}

// Done ends the request's span with its outcome.
func (t *Tracer) Done(ctx context.Context, r runtime.Result) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	status := StatusSuccess
	if !r.Success {
		status = StatusError
	}
	attrs := make([]attribute.KeyValue, 0, 7)
	attrs = append(attrs, AttrStatus.String(status), AttrEnvelopeID.String(r.EnvelopeID), AttrCorrelationID.String(r.CorrelationID))
	if r.Operation != "" {
		span.SetName(string(r.Operation))
		attrs = append(attrs, AttrOperation.String(string(r.Operation)), AttrHandler.String(r.Handler))
	}
	if !r.Success {
		attrs = append(attrs, AttrRuleID.String(string(r.RuleID)), AttrRetryable.Bool(r.Retryable))
		span.SetStatus(codes.Error, string(r.RuleID)+": "+redact.Text(r.Message))
	}
	span.SetAttributes(attrs...)
	span.End(trace.WithTimestamp(r.Start.Add(r.Duration)))
}

// Tracing is a tracer provider exporting spans as the OTEL_* environment
// says, with its Tracer. Shut it down to flush the spans still buffered.
type Tracing struct {
	*Tracer
	provider *sdktrace.TracerProvider
}

// StartTracing sets tracing up as c and the OpenTelemetry environment say. It
// returns nil, nil when tracing is off (not enabled, OTEL_SDK_DISABLED=true, or
// OTEL_TRACES_EXPORTER=none). The console exporter writes to console (the
// process's standard error: standard output carries data).
func StartTracing(ctx context.Context, c TracingConfig, console io.Writer) (*Tracing, error) {
	if !c.Enabled {
		return nil, nil
	}
	if off, _ := strconv.ParseBool(os.Getenv("OTEL_SDK_DISABLED")); off {
		return nil, nil
	}
	var (
		exp sdktrace.SpanExporter
		err error
	)
	if strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")) == "console" {
		exp, err = stdouttrace.New(stdouttrace.WithWriter(console))
	} else {
		exp, err = autoexport.NewSpanExporter(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: exporter: %w", err)
	}
	if autoexport.IsNoneSpanExporter(exp) {
		return nil, nil
	}
	// Later detectors win: the environment overrides the file's service name.
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", c.ServiceName)),
		resource.WithFromEnv(),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		_ = exp.Shutdown(ctx)
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{Tracer: NewTracer(tp), provider: tp}, nil
}

// Provider is the tracer provider, for embedding hosts whose own code traces
// under the same exporter.
func (t *Tracing) Provider() trace.TracerProvider { return t.provider }

// Shutdown flushes the buffered spans and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}
