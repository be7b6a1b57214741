package runtime

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onexhost/onex/handler"
)

const ctxvalPath = "example.com/test/ctxval"

type obsKey struct{}

func init() {
	handler.Register(handler.Factory{ImportPath: ctxvalPath, Verbs: []string{"get"},
		New: func(json.RawMessage) (handler.Handler, error) { return ctxval{}, nil }})
}

// ctxval answers the observer's value found in its invocation context.
type ctxval struct{}

func (ctxval) Handle(ctx context.Context, _ *handler.Invocation) (handler.Output, error) {
	v, _ := ctx.Value(obsKey{}).(int)
	return handler.Output{Result: map[string]int{"begin": v}}, nil
}

// recorder is an Observer that numbers its Begin calls, puts the number in the
// context, and checks that Done gets that context back.
type recorder struct {
	mu       sync.Mutex
	begins   []string // metadata, "<nil>" when absent
	results  []Result
	mismatch []string
}

func (r *recorder) Begin(ctx context.Context, _ time.Time, metadata []byte) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	md := "<nil>"
	if metadata != nil {
		md = string(metadata)
	}
	r.begins = append(r.begins, md)
	return context.WithValue(ctx, obsKey{}, len(r.begins))
}

func (r *recorder) Done(ctx context.Context, res Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n, _ := ctx.Value(obsKey{}).(int); n != len(r.begins) || len(r.results) != len(r.begins)-1 {
		r.mismatch = append(r.mismatch, res.EnvelopeID)
	}
	r.results = append(r.results, res)
}

func (r *recorder) snapshot() ([]string, []Result, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.begins...), append([]Result(nil), r.results...), append([]string(nil), r.mismatch...)
}

// TestObserverSeesEveryRequestOnce: Begin then Done, exactly once each, for
// answered, refused and malformed requests; the context Begin returns reaches
// the handler and Done.
func TestObserverSeesEveryRequestOnce(t *testing.T) {
	rec := &recorder{}
	cfg := testConfig()
	cfg.MaxEnvelopeBytes = 512
	h := startHost(t, nil, Options{Config: cfg, Observer: rec},
		desc("ctxval", ctxvalPath, "ctx.get"), desc("behave", behavePath, "b.fail"))
	for _, tc := range []struct {
		name, raw, metadata string
		rule                handler.RuleID
		op                  handler.Command
		handler             string
	}{
		{"success", `{"envelope_id":"` + envID + `","operation":"ctx.get","metadata":{"traceparent":"00-x"}}`, `{"traceparent":"00-x"}`, "", "ctx.get", "ctxval"},
		{"handler error", `{"operation":"b.fail"}`, "<nil>", "HANDLER-001", "b.fail", "behave"},
		{"unknown operation", `{"operation":"nope.get","metadata":{}}`, `{}`, "ENVELOPE-003", "", ""},
		{"not JSON", `not json`, "<nil>", "ENVELOPE-001", "", ""},
		{"too large", `{"operation":"ctx.get","payload":"` + strings.Repeat("x", 600) + `"}`, "<nil>", "ENVELOPE-005", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _, _ := rec.snapshot()
			resp := mustDecode(t, h.Dispatch(context.Background(), []byte(tc.raw)))
			begins, results, mismatch := rec.snapshot()
			if len(begins) != len(before)+1 || len(results) != len(begins) {
				t.Fatalf("begins %d → %d, results %d: want one of each", len(before), len(begins), len(results))
			}
			if len(mismatch) > 0 {
				t.Fatalf("Done did not get the context of its Begin: %v", mismatch)
			}
			if got := begins[len(begins)-1]; got != tc.metadata {
				t.Errorf("Begin metadata %s, want %s", got, tc.metadata)
			}
			r := results[len(results)-1]
			if r.Success != (tc.rule == "") || r.RuleID != tc.rule || r.Operation != tc.op || r.Handler != tc.handler {
				t.Errorf("result %+v, want rule %q op %q handler %q", r, tc.rule, tc.op, tc.handler)
			}
			if r.CorrelationID != resp.CorrelationID || r.Duration <= 0 || r.Start.IsZero() {
				t.Errorf("result %+v for response %+v", r, resp)
			}
			if tc.rule != "" && (r.Message == "" || r.Message != resp.Error.Message) {
				t.Errorf("message %q, response %+v", r.Message, resp.Error)
			}
			if tc.name == "success" {
				if r.EnvelopeID != envID {
					t.Errorf("envelope id %s", r.EnvelopeID)
				}
				if string(resp.Result) != `{"begin":`+itoa(len(begins))+`}` {
					t.Errorf("handler saw %s: the context from Begin did not reach it", resp.Result)
				}
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestObserverWatchdogOnce: a request answered by the watchdog at its deadline
// is observed once, when it is answered; its late result is not observed.
func TestObserverWatchdogOnce(t *testing.T) {
	rec := &recorder{}
	cfg := testConfig()
	cfg.HandlerTimeouts = map[string]time.Duration{"behave": 30 * time.Millisecond}
	h := New(&fakeSource{descs: []*handler.Descriptor{desc("behave", behavePath, "b.block")}}, nil, nil, nil, nil, Options{Config: cfg, Observer: rec})
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{}, 2)
	release := unique("observe-watchdog")
	if err := h.Submit(context.Background(), []byte(`{"operation":"b.block","payload":{"release":"`+release+`"}}`),
		func([]byte, *Outcome) { got <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	<-got
	close(releases.get(release))
	if err := h.Stop(context.Background()); err != nil { // waits for the late result
		t.Fatal(err)
	}
	begins, results, mismatch := rec.snapshot()
	if len(begins) != 1 || len(results) != 1 || len(mismatch) > 0 {
		t.Fatalf("begins %v results %+v mismatch %v", begins, results, mismatch)
	}
	if r := results[0]; r.RuleID != "HANDLER-002" || !r.Retryable || r.Handler != "behave" || r.Operation != "b.block" {
		t.Errorf("%+v", r)
	}
}

// BenchmarkDispatchObserved is BenchmarkDispatch with a no-op observer: the
// cost of the seam itself.
func BenchmarkDispatchObserved(b *testing.B) {
	h := startHost(b, nil, Options{Observer: nopObserver{}}, desc("noop", noopPath, "noop.run"))
	raw := []byte(`{"envelope_id":"` + envID + `","correlation_id":"` + corrID + `","operation":"noop.run","payload":{"a":1,"b":"x"},"data_classification":"internal"}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		h.Dispatch(ctx, raw)
	}
}

type nopObserver struct{}

func (nopObserver) Begin(ctx context.Context, _ time.Time, _ []byte) context.Context { return ctx }
func (nopObserver) Done(context.Context, Result)                                     {}
