package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/internal/hosttest"
	"github.com/onexhost/onex/internal/testkit"
	"github.com/onexhost/onex/runtime"
)

func newTestProvider(t *testing.T) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, exp
}

func attrs(s tracetest.SpanStub) map[attribute.Key]string {
	out := map[attribute.Key]string{}
	for _, kv := range s.Attributes {
		out[kv.Key] = kv.Value.Emit()
	}
	return out
}

func spanNamed(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range spans {
		if s.Name == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d spans named %s among %d", len(found), name, len(spans))
	}
	return found[0]
}

// TestTraceparentLinksParentAndChild: the caller's span → (traceparent in the
// envelope's metadata) → the host's span for the envelope → the handler's own
// span: one trace, each the parent of the next.
func TestTraceparentLinksParentAndChild(t *testing.T) {
	tp, exp := newTestProvider(t)
	h := hosttest.Start(t, runtime.Options{Observer: NewTracer(tp)}, hosttest.Desc("probe", "p.span", "p.fail"))

	cctx, caller := tp.Tracer("client").Start(context.Background(), "client.send")
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(cctx, carrier)
	caller.End()
	md, _ := json.Marshal(map[string]string{"traceparent": carrier["traceparent"]})
	resp, err := envelope.DecodeResponse(h.Dispatch(context.Background(), []byte(`{"operation":"p.span","metadata":`+string(md)+`}`)))
	if err != nil || !resp.Success {
		t.Fatalf("%v %+v", err, resp)
	}

	spans := exp.GetSpans()
	client := spanNamed(t, spans, "client.send")
	env := spanNamed(t, spans, "p.span")
	child := spanNamed(t, spans, "probe.child")
	if env.SpanContext.TraceID() != client.SpanContext.TraceID() || child.SpanContext.TraceID() != client.SpanContext.TraceID() {
		t.Fatalf("traces differ: client %s, envelope %s, child %s", client.SpanContext.TraceID(), env.SpanContext.TraceID(), child.SpanContext.TraceID())
	}
	if env.Parent.SpanID() != client.SpanContext.SpanID() || !env.Parent.IsRemote() {
		t.Errorf("envelope span's parent %s (remote %v), want the caller's %s", env.Parent.SpanID(), env.Parent.IsRemote(), client.SpanContext.SpanID())
	}
	if child.Parent.SpanID() != env.SpanContext.SpanID() {
		t.Errorf("handler span's parent %s, want the envelope span %s", child.Parent.SpanID(), env.SpanContext.SpanID())
	}
	var got struct {
		SpanID string `json:"span_id"`
	}
	if json.Unmarshal(resp.Result, &got) != nil || got.SpanID != child.SpanContext.SpanID().String() {
		t.Errorf("result %s", resp.Result)
	}
	a := attrs(env)
	if a[AttrOperation] != "p.span" || a[AttrHandler] != "probe" || a[AttrStatus] != "success" || a[AttrCorrelationID] != resp.CorrelationID || a[AttrEnvelopeID] == "" {
		t.Errorf("attributes %v", a)
	}
	if _, ok := a[AttrRuleID]; ok || env.Status.Code == codes.Error {
		t.Errorf("a successful span carries a failure: %v %v", a, env.Status)
	}
	if env.SpanKind != trace.SpanKindServer || env.EndTime.Before(env.StartTime) {
		t.Errorf("kind %v, %v → %v", env.SpanKind, env.StartTime, env.EndTime)
	}
}

func TestSpanPerRequest(t *testing.T) {
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	const parentID = "00f067aa0ba902b7"
	tp := "00-" + traceID + "-" + parentID + "-01"
	for _, tc := range []struct {
		name, raw, span, rule string
		parented              bool
	}{
		{"handler error", `{"operation":"p.fail","metadata":{"traceparent":"` + tp + `","tracestate":"k=v"}}`, "p.fail", "HANDLER-001", true},
		{"unknown operation", `{"operation":"p.nope","metadata":{"traceparent":"` + tp + `"}}`, unroutedSpanName, "ENVELOPE-003", true},
		{"no metadata", `{"operation":"p.fail"}`, "p.fail", "HANDLER-001", false},
		{"malformed traceparent", `{"operation":"p.fail","metadata":{"traceparent":"00-zz"}}`, "p.fail", "HANDLER-001", false},
		{"metadata not an object", `{"operation":"p.fail","metadata":["traceparent"]}`, unroutedSpanName, "ENVELOPE-001", false},
		{"not JSON", `{"operation":`, unroutedSpanName, "ENVELOPE-001", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prov, exp := newTestProvider(t)
			h := hosttest.Start(t, runtime.Options{Observer: NewTracer(prov)}, hosttest.Desc("probe", "p.fail"))
			h.Dispatch(context.Background(), []byte(tc.raw))
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("%d spans", len(spans))
			}
			s := spans[0]
			if s.Name != tc.span {
				t.Errorf("name %s, want %s", s.Name, tc.span)
			}
			a := attrs(s)
			if a[AttrRuleID] != tc.rule || a[AttrStatus] != "error" || a[AttrRetryable] != "false" || s.Status.Code != codes.Error {
				t.Errorf("attributes %v status %v", a, s.Status)
			}
			if !strings.HasPrefix(s.Status.Description, tc.rule+": ") || strings.Contains(s.Status.Description, "hunter2") {
				t.Errorf("status description %q", s.Status.Description)
			}
			if tc.parented {
				if s.SpanContext.TraceID().String() != traceID || s.Parent.SpanID().String() != parentID {
					t.Errorf("trace %s parent %s", s.SpanContext.TraceID(), s.Parent.SpanID())
				}
			} else if s.Parent.IsValid() {
				t.Errorf("a root span was expected, parent %s", s.Parent.SpanID())
			}
			if tc.name == "handler error" && s.Parent.TraceState().Get("k") != "v" {
				t.Errorf("tracestate %q", s.Parent.TraceState().String())
			}
		})
	}
}

func TestTracingConfig(t *testing.T) {
	for _, tc := range []struct {
		yaml, want, err string
	}{
		{"", "onex", ""},
		{"tracing: {enabled: true, service_name: billing}\n", "billing", ""},
		{"tracing: {enabled: true, service_name: ' '}\n", "", "tracing.service_name: must not be empty"},
		{"tracing: {enable: true}\n", "", "enable"},
	} {
		f, errs := config.Parse("onex.yaml", []byte(tc.yaml))
		if len(errs) > 0 {
			t.Fatalf("%s: %v", tc.yaml, errs[0])
		}
		c, errs := LoadTracingConfig(f)
		if tc.err == "" {
			if len(errs) > 0 || c.ServiceName != tc.want {
				t.Errorf("%q: %+v %v", tc.yaml, c, errs)
			}
			continue
		}
		if len(errs) != 1 || errs[0].RuleID != "RUNTIME-002" || !strings.Contains(errs[0].Message, tc.err) || errs[0].Line == 0 || errs[0].RemediationHint == "" {
			t.Errorf("%q: %v", tc.yaml, errs)
		}
	}
}

func TestStartTracingOff(t *testing.T) {
	for _, tc := range []struct {
		name    string
		enabled bool
		env     map[string]string
	}{
		{"not enabled", false, nil},
		{"OTEL_SDK_DISABLED", true, map[string]string{"OTEL_SDK_DISABLED": "true"}},
		{"exporter none", true, map[string]string{"OTEL_TRACES_EXPORTER": "none"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			tr, err := StartTracing(context.Background(), TracingConfig{Enabled: tc.enabled, ServiceName: "onex"}, io.Discard)
			if err != nil || tr != nil {
				t.Errorf("%v %v", tr, err)
			}
		})
	}
	t.Setenv("OTEL_TRACES_EXPORTER", "carrier-pigeon")
	if _, err := StartTracing(context.Background(), TracingConfig{Enabled: true, ServiceName: "onex"}, io.Discard); err == nil {
		t.Error("an unknown exporter was accepted")
	}
}

// TestStartTracingConsole: OTEL_TRACES_EXPORTER=console writes the spans to
// the given writer (standard error in the CLI), never to standard output, with
// the service name of the environment winning over the file's.
func TestStartTracingConsole(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "console")
	t.Setenv("OTEL_SERVICE_NAME", "from-env")
	var out testkit.Logs
	tr, err := StartTracing(context.Background(), TracingConfig{Enabled: true, ServiceName: "from-file"}, &out)
	if err != nil || tr == nil {
		t.Fatalf("%v %v", tr, err)
	}
	h := hosttest.Start(t, runtime.Options{Observer: tr}, hosttest.Desc("probe", "p.ok"))
	h.Dispatch(context.Background(), []byte(`{"operation":"p.ok"}`))
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, `"Name":"p.ok"`) || !strings.Contains(s, "from-env") || strings.Contains(s, "from-file") {
		t.Errorf("console output %s", s)
	}
}

// TestStartTracingOTLP: with the default exporter (OTLP over HTTP) the spans
// reach the endpoint that OTEL_EXPORTER_OTLP_ENDPOINT names.
func TestStartTracingOTLP(t *testing.T) {
	got := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- r.Method + " " + r.URL.Path + " " + r.Header.Get("Content-Type") + " " + boolString(bytes.Contains(body, []byte("p.ok")))
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	tr, err := StartTracing(context.Background(), TracingConfig{Enabled: true, ServiceName: "onex"}, io.Discard)
	if err != nil || tr == nil {
		t.Fatalf("%v %v", tr, err)
	}
	h := hosttest.Start(t, runtime.Options{Observer: tr}, hosttest.Desc("probe", "p.ok"))
	h.Dispatch(context.Background(), []byte(`{"operation":"p.ok"}`))
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if req := <-got; req != "POST /v1/traces application/x-protobuf true" {
		t.Errorf("collector received %q", req)
	}
	srv.CloseClientConnections()
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
