package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/bus/memory"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/testkit"
	"github.com/onexhost/onex/runtime/delivery"
	"github.com/onexhost/onex/source"
	"github.com/onexhost/onex/validate"
)

// responses subscribes to the response topic and collects n responses.
type responses struct {
	ch chan *envelope.Response
}

func collectResponses(t *testing.T, b bus.Bus, n int) *responses {
	t.Helper()
	r := &responses{ch: make(chan *envelope.Response, n+16)}
	sub, err := b.Subscribe(context.Background(), bus.DefaultResponseTopic, "test-client", func(_ context.Context, d *bus.Delivery) {
		resp, err := envelope.DecodeResponse(d.Value)
		if err != nil {
			t.Errorf("undecodable response %q: %v", d.Value, err)
			return
		}
		d.Ack()
		r.ch <- resp
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Stop(context.Background()) })
	return r
}

func (r *responses) take(t *testing.T, n int) []*envelope.Response {
	t.Helper()
	out := make([]*envelope.Response, 0, n)
	guard := time.NewTimer(60 * time.Second)
	defer guard.Stop()
	for len(out) < n {
		select {
		case resp := <-r.ch:
			out = append(out, resp)
		case <-guard.C:
			t.Fatalf("received %d of %d responses", len(out), n)
		}
	}
	return out
}

// TestTenThousandMixedEnvelopes sends good and bad envelopes of every kind
// through the memory bus and expects exactly one response to each.
func TestTenThousandMixedEnvelopes(t *testing.T) {
	b := memory.New(memory.Config{Partitions: 4, Buffer: 256})
	cfg := testConfig()
	cfg.MaxEnvelopeBytes = 2048
	// Only the sleeper has a short deadline: on a loaded machine a panic's
	// stack capture must not turn into a timeout.
	cfg.HandlerTimeouts = map[string]time.Duration{"sleeper": 50 * time.Millisecond}
	h := startHost(t, b, Options{Config: cfg},
		desc("echo", echoPath, "test.echo"),
		desc("behave", behavePath, "b.ok", "b.fail", "b.transient", "b.invalid", "b.panic"),
		desc("sleeper", behavePath, "z.sleep"))
	kinds := []struct {
		raw  func(id string) string
		rule string
	}{
		{func(id string) string {
			return `{"envelope_id":"` + id + `","operation":"test.echo","payload":{"n":1}}`
		}, ""},
		{func(id string) string { return `{"envelope_id":"` + id + `","operation":"b.ok"}` }, ""},
		{func(id string) string { return `{"envelope_id":"` + id + `","operation":"test.echo",` }, "ENVELOPE-001"},
		{func(id string) string { return `{"envelope_id":"` + id + `","payload":{}}` }, "ENVELOPE-002"},
		{func(id string) string { return `{"envelope_id":"` + id + `","operation":"test.nope"}` }, "ENVELOPE-003"},
		{func(id string) string {
			return `{"envelope_id":"` + id + `","operation":"test.echo","handler":"behave"}`
		}, "ENVELOPE-004"},
		{func(id string) string {
			return `{"envelope_id":"` + id + `","operation":"test.echo","payload":"` + strings.Repeat("x", 2100) + `"}`
		}, "ENVELOPE-005"},
		{func(id string) string { return `{"envelope_id":"` + id + `","operation":"b.fail"}` }, "HANDLER-001"},
		{func(id string) string {
			return `{"envelope_id":"` + id + `","operation":"b.invalid","payload":{"x":1}}`
		}, "HANDLER-006"},
		{func(id string) string { return `{"envelope_id":"` + id + `","operation":"b.panic"}` }, "HANDLER-003"},
		{func(id string) string { return `{"envelope_id":"` + id + `","operation":"z.sleep"}` }, "HANDLER-002"},
	}
	const total = 10000
	rs := collectResponses(t, b, total)
	want := make(map[string]string, total) // request envelope_id → expected rule
	oversized := map[string]bool{}
	msgs := make([]bus.Message, 0, total)
	for i := 0; i < total; i++ {
		k := kinds[i%len(kinds)]
		// Timeouts take a while: send fewer of them.
		if k.rule == "HANDLER-002" && i%(len(kinds)*10) != len(kinds)-1 {
			k = kinds[0]
		}
		id := uuid.NewString()
		want[id] = k.rule
		if k.rule == "ENVELOPE-005" {
			oversized[id] = true
		}
		msgs = append(msgs, bus.Message{Topic: bus.DefaultRequestTopic, Key: []byte(id), Value: []byte(k.raw(id))})
	}
	go func() {
		for _, m := range msgs {
			if err := b.Publish(context.Background(), m); err != nil {
				t.Errorf("publish: %v", err)
				return
			}
		}
	}()
	got := rs.take(t, total)

	seen := map[string]bool{}
	byRule := map[string]int{}
	unanswered := map[string]string{}
	for id, rule := range want {
		unanswered[id] = rule
	}
	// Oversized envelopes are refused unread: their responses cannot name the
	// request, so they are matched by count.
	oversizedAnswers := 0
	for _, r := range got {
		if seen[r.EnvelopeID] {
			t.Fatalf("response %s delivered twice", r.EnvelopeID)
		}
		seen[r.EnvelopeID] = true
		rule := ""
		if !r.Success {
			if r.Error == nil || r.Error.RuleID == "" || r.Error.RemediationHint == "" {
				t.Fatalf("failure without rule id or hint: %+v", r)
			}
			rule = r.Error.RuleID
		}
		byRule[rule]++
		if rule == "ENVELOPE-005" {
			oversizedAnswers++
			continue
		}
		exp, ok := unanswered[r.InReplyTo]
		if !ok {
			t.Fatalf("response in reply to %q: unknown or already answered request", r.InReplyTo)
		}
		if exp != rule {
			t.Errorf("request %s: got %q (%+v), want %q", r.InReplyTo, rule, r.Error, exp)
		}
		delete(unanswered, r.InReplyTo)
	}
	if len(unanswered) != len(oversized) || oversizedAnswers != len(oversized) {
		t.Errorf("%d requests unanswered (%d oversized, %d oversized answers)", len(unanswered), len(oversized), oversizedAnswers)
	}
	t.Logf("responses by rule: %v", byRule)
	// Timeouts are retried (each attempt is a dispatch) and then
	// dead-lettered; so are the unreadable and oversized envelopes, at once.
	s := h.Stats()
	var redelivered uint64
	for _, n := range s.Redeliveries {
		redelivered += n
	}
	if s.Requests != total+redelivered || s.Succeeded+s.Failed != s.Requests {
		t.Errorf("stats %+v", s)
	}
	if n := s.DeadLetters[delivery.Key{RuleID: "ENVELOPE-001"}] + s.DeadLetters[delivery.Key{RuleID: "ENVELOPE-005"}]; n != uint64(byRule["ENVELOPE-001"]+byRule["ENVELOPE-005"]) {
		t.Errorf("%d undecodable envelopes dead-lettered, want %d", n, byRule["ENVELOPE-001"]+byRule["ENVELOPE-005"])
	}
	// The host still serves.
	if err := b.Publish(context.Background(), bus.Message{Topic: bus.DefaultRequestTopic, Value: []byte(`{"operation":"test.echo"}`)}); err != nil {
		t.Fatal(err)
	}
	if r := rs.take(t, 1)[0]; !r.Success {
		t.Errorf("after the mix: %+v", r.Error)
	}
}

// TestInvocationHasNoPublisher is the static half of the no-publish
// guarantee: nothing reachable from what a handler receives has a publish
// method (the handler package walks the whole type graph; this checks the
// top level from the runtime's side).
func TestInvocationHasNoPublisher(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[*handler.Invocation](), reflect.TypeFor[*handler.InitEnv](), reflect.TypeFor[handler.Output]()} {
		for i := 0; i < typ.NumMethod(); i++ {
			name := typ.Method(i).Name
			if strings.Contains(strings.ToLower(name), "publish") || name == "Bus" || name == "Runtime" {
				t.Errorf("%s exposes %s", typ, name)
			}
		}
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		for i := 0; i < typ.NumField(); i++ {
			if typ.Field(i).IsExported() && typ != reflect.TypeFor[handler.Output]() {
				t.Errorf("%s exposes field %s", typ, typ.Field(i).Name)
			}
		}
	}
}

// TestSmuggledBusPublishIsRefused: a handler that captured a bus in a closure
// and publishes during its invocation gets ARCH-002, and nothing is published.
func TestSmuggledBusPublishIsRefused(t *testing.T) {
	b := memory.New(memory.DefaultConfig())
	var publishErr atomic.Value
	path := unique("example.com/test/smuggler")
	handler.Register(handler.Factory{ImportPath: path, Verbs: []string{"run"},
		New: func(json.RawMessage) (handler.Handler, error) {
			return handlerFunc(func(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
				err := b.Publish(ctx, bus.Message{Topic: "smuggled", Key: []byte("k"), Value: []byte("smuggled")})
				publishErr.Store(fmt.Sprint(err))
				return handler.Output{}, err
			}), nil
		}})
	got := make(chan string, 4)
	sub, err := b.Subscribe(context.Background(), "smuggled", "spy", func(_ context.Context, d *bus.Delivery) {
		d.Ack()
		got <- string(d.Value)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop(context.Background())
	h := startHost(t, b, Options{}, desc("smuggler", path, "s.run"))

	resp := mustDecode(t, h.Dispatch(context.Background(), []byte(`{"operation":"s.run"}`)))
	if resp.Success || resp.Error.RuleID != "ARCH-002" || resp.Error.ErrorType != string(handler.ErrArchitectureViolation) || resp.Error.RemediationHint == "" {
		t.Fatalf("response %+v %+v, want ARCH-002", resp, resp.Error)
	}
	if s, _ := publishErr.Load().(string); !strings.Contains(s, "ARCH-002") {
		t.Fatalf("the smuggled Publish returned %q, want ARCH-002", s)
	}
	// The same key lands in the same partition: a published smuggled message
	// would arrive before the sentinel.
	if err := b.Publish(context.Background(), bus.Message{Topic: "smuggled", Key: []byte("k"), Value: []byte("sentinel")}); err != nil {
		t.Fatal(err)
	}
	if v := <-got; v != "sentinel" {
		t.Fatalf("first message on the topic is %q: the handler published", v)
	}
}

type handlerFunc func(context.Context, *handler.Invocation) (handler.Output, error)

func (f handlerFunc) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	return f(ctx, inv)
}

func TestStartRefusals(t *testing.T) {
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	broken := desc("broken", lifePath, "broken.get")
	broken.Config = json.RawMessage(`{"fail_init":true}`)
	contractErr := diag.New("CONTRACT-004", `unknown field "handler_nme" (did you mean "handler_name"?)`)
	contractErr.HandlerIdentity, contractErr.FilePath, contractErr.Line, contractErr.Column = "bad", "contracts/bad/handler_contract.yaml", 3, 1
	for _, tc := range []struct {
		name  string
		src   *fakeSource
		opts  Options
		rules []string
	}{
		{name: "invalid contract", src: &fakeSource{descs: []*handler.Descriptor{desc("noop", noopPath, "n.run")}, errs: []*diag.ValidationError{contractErr}}, rules: []string{"CONTRACT-004"}},
		{name: "no handler", src: &fakeSource{}, rules: []string{"RUNTIME-001"}},
		{name: "route conflict", src: &fakeSource{descs: []*handler.Descriptor{desc("a", noopPath, "x.run"), desc("b", noopPath, "x.run")}}, rules: []string{"CONTRACT-012"}},
		{name: "expired bootstrap override", src: &fakeSource{mode: handler.SourceHybrid, descs: []*handler.Descriptor{desc("noop", noopPath, "n.run")}},
			opts: Options{Source: source.Config{BootstrapExpiresAt: past}}, rules: []string{"RUNTIME-003"}},
		{name: "bootstrap in production without override", src: &fakeSource{mode: handler.SourceBootstrap, descs: []*handler.Descriptor{desc("noop", noopPath, "n.run")}},
			opts: Options{Environment: handler.EnvProduction}, rules: []string{"RUNTIME-003"}},
		{name: "expired override in development", src: &fakeSource{mode: handler.SourceBootstrap, descs: []*handler.Descriptor{desc("noop", noopPath, "n.run")}},
			opts: Options{Environment: handler.EnvDevelopment, Source: source.Config{AllowBootstrapOverride: true, BootstrapExpiresAt: past}}, rules: []string{"RUNTIME-003"}},
		{name: "required handler fails init", src: &fakeSource{descs: []*handler.Descriptor{desc("noop", noopPath, "n.run"), broken}}, rules: []string{"RUNTIME-004"}},
		{name: "unknown optional handler name", src: &fakeSource{descs: []*handler.Descriptor{desc("noop", noopPath, "n.run")}},
			opts: Options{Config: func() Config { c := testConfig(); c.OptionalHandlers = []string{"nop"}; return c }()}, rules: []string{"RUNTIME-002"}},
		{name: "validator error", src: &fakeSource{descs: []*handler.Descriptor{desc("noop", noopPath, "n.run")}}, rules: []string{"SECURITY-306"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.Config.MaxConcurrency == 0 {
				tc.opts.Config = testConfig()
			}
			var validators []validate.Validator
			if tc.name == "validator error" {
				validators = append(validators, validate.Func(func(ds []*handler.Descriptor) []*diag.ValidationError {
					return []*diag.ValidationError{validate.At(ds[0], "security", diag.New("SECURITY-306", "compute handler declares allowed domains"))}
				}))
			}
			h := New(tc.src, validators, nil, nil, nil, tc.opts)
			err := h.Start(context.Background())
			var re *diag.ReportError
			if !errors.As(err, &re) {
				t.Fatalf("Start = %v, want a *diag.ReportError", err)
			}
			var ids []string
			for _, d := range re.Report.Diagnostics {
				ids = append(ids, string(d.RuleID))
				if d.RemediationHint == "" || d.Message == "" {
					t.Errorf("%s without message or hint", d.RuleID)
				}
			}
			for _, r := range tc.rules {
				if !strings.Contains(strings.Join(ids, " "), r) {
					t.Errorf("report %v lacks %s", ids, r)
				}
			}
			if r := mustDecode(t, h.Dispatch(context.Background(), []byte(`{"operation":"n.run"}`))); r.Success {
				t.Error("a host that refused to start served a request")
			}
		})
	}
}

func TestStartAllowsHardenedModes(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode handler.SourceType
		opts Options
	}{
		{"contract in production", handler.SourceContract, Options{Environment: handler.EnvProduction}},
		{"bootstrap in production with override", handler.SourceBootstrap, Options{Environment: handler.EnvProduction, Source: source.Config{AllowBootstrapOverride: true, BootstrapExpiresAt: time.Now().Add(time.Hour)}}},
		{"hybrid in staging", handler.SourceHybrid, Options{Environment: handler.EnvStaging}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Config = testConfig()
			h := New(&fakeSource{mode: tc.mode, descs: []*handler.Descriptor{desc("noop", noopPath, "n.run")}}, nil, nil, nil, nil, tc.opts)
			if err := h.Start(context.Background()); err != nil {
				t.Fatalf("Start: %v", err)
			}
			if err := h.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestStartupRecord(t *testing.T) {
	for _, tc := range []struct {
		name    string
		src     *fakeSource
		opts    Options
		compat  bool
		expired bool
		expires any
		counts  map[string]float64
	}{
		{name: "hybrid with source stats", compat: true, expires: "2030-12-31T00:00:00Z",
			src: &fakeSource{mode: handler.SourceHybrid,
				descs: []*handler.Descriptor{desc("a", noopPath, "a.run"), func() *handler.Descriptor {
					d := desc("b", noopPath, "b.run")
					d.SourceType = handler.SourceBootstrap
					return d
				}()},
				stats: source.Stats{"contract_handler_count": 1, "bootstrap_handler_count": 4, "fallback_handler_count": 1}},
			opts:   Options{Source: source.Config{BootstrapExpiresAt: time.Date(2030, 12, 31, 0, 0, 0, 0, time.UTC)}},
			counts: map[string]float64{"handler_count": 2, "contract_handler_count": 1, "bootstrap_handler_count": 4, "fallback_handler_count": 1}},
		{name: "contract without stats", compat: false, expires: nil,
			src:    &fakeSource{descs: []*handler.Descriptor{desc("a", noopPath, "a.run")}},
			counts: map[string]float64{"handler_count": 1, "contract_handler_count": 1, "bootstrap_handler_count": 0, "fallback_handler_count": 0}},
		{name: "expired override refused but recorded", compat: false, expired: true, expires: "2020-01-01T00:00:00Z",
			src:    &fakeSource{mode: handler.SourceHybrid, descs: []*handler.Descriptor{desc("a", noopPath, "a.run")}},
			opts:   Options{Source: source.Config{BootstrapExpiresAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}},
			counts: map[string]float64{"handler_count": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs testkit.Logs
			tc.opts.Config = testConfig()
			h := New(tc.src, nil, nil, nil, logs.Logger(), tc.opts)
			if err := h.Start(context.Background()); err == nil {
				defer h.Stop(context.Background())
			} else if !tc.expired {
				t.Fatal(err)
			}
			recs := logs.Records(t, "handlers resolved")
			if len(recs) != 1 {
				t.Fatalf("%d startup records in %s", len(recs), logs.String())
			}
			rec := recs[0]
			for _, k := range []string{"handler_source_mode", "handler_count", "contract_handler_count", "bootstrap_handler_count",
				"fallback_handler_count", "compat_mode", "bootstrap_expires_at", "bootstrap_expired"} {
				if _, ok := rec[k]; !ok {
					t.Errorf("startup record lacks %s: %v", k, rec)
				}
			}
			if rec["handler_source_mode"] != string(tc.src.SourceType()) || rec["compat_mode"] != tc.compat ||
				rec["bootstrap_expired"] != tc.expired || rec["bootstrap_expires_at"] != tc.expires {
				t.Errorf("record %v", rec)
			}
			for k, v := range tc.counts {
				if rec[k] != v {
					t.Errorf("%s = %v, want %v", k, rec[k], v)
				}
			}
		})
	}
}

// grantingPolicy grants a secret reader over a fixed map.
type grantingPolicy struct{ secrets map[string]string }

func (p grantingPolicy) Grant(*handler.Descriptor) (handler.Capabilities, error) {
	return handler.Capabilities{Secrets: mapSecrets(p.secrets)}, nil
}

type mapSecrets map[string]string

func (m mapSecrets) ReadSecret(_ context.Context, ref handler.SecretRef) (handler.Secret, error) {
	v, ok := m[ref.String()]
	if !ok {
		return handler.Secret{}, fmt.Errorf("no secret %s", ref)
	}
	return handler.NewSecret(v), nil
}

func TestSecretReferencesResolvedAtInit(t *testing.T) {
	d := desc("life", lifePath, "life.get")
	d.Config = json.RawMessage(`{"token":{"secret":"life/token"}}`)
	t.Run("granted", func(t *testing.T) {
		h := New(&fakeSource{descs: []*handler.Descriptor{d}}, nil, grantingPolicy{map[string]string{"life/token": "s3cr3t-value"}}, nil, nil, Options{Config: testConfig()})
		if err := h.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer h.Stop(context.Background())
		r := mustDecode(t, h.Dispatch(context.Background(), []byte(`{"operation":"life.get"}`)))
		if !r.Success || string(r.Result) != `{"token_len":"12"}` {
			t.Errorf("%s", r.Result)
		}
	})
	for _, tc := range []struct {
		name   string
		policy Policy
		want   string
	}{
		{"no reader granted", nil, "no secret reader was granted"},
		{"missing secret", grantingPolicy{map[string]string{"life/other": "s3cr3t-value"}}, "no secret life/token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs testkit.Logs
			h := New(&fakeSource{descs: []*handler.Descriptor{d}}, nil, tc.policy, nil, logs.Logger(), Options{Config: testConfig()})
			err := h.Start(context.Background())
			var re *diag.ReportError
			if !errors.As(err, &re) || re.Report.Diagnostics[0].RuleID != "RUNTIME-004" {
				t.Fatalf("Start = %v, want RUNTIME-004", err)
			}
			e := re.Report.Diagnostics[0]
			if !strings.Contains(e.Message, "config.token") || !strings.Contains(e.Message, tc.want) || e.HandlerIdentity != "life" {
				t.Errorf("error %+v does not name the path and cause", e)
			}
			if strings.Contains(fmt.Sprint(err, e.Message, logs.String()), "s3cr3t-value") {
				t.Error("a secret value leaked")
			}
		})
	}
}

func TestStopClosesHandlersInReverseOrder(t *testing.T) {
	var ds []*handler.Descriptor
	order := unique("order")
	for _, name := range []string{"a", "b", "c"} {
		d := desc(name, lifePath, name+".get")
		d.Config = json.RawMessage(`{"log":"` + order + `"}`)
		ds = append(ds, d)
	}
	h := New(&fakeSource{descs: ds}, nil, nil, nil, nil, Options{Config: testConfig()})
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"init a", "init b", "init c", "close", "close", "close"}
	if got := lifeLogs.get(order); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestFailedStartClosesInitialisedHandlers(t *testing.T) {
	a := desc("a", lifePath, "a.get")
	log := unique("failed-start")
	a.Config = json.RawMessage(`{"log":"` + log + `"}`)
	z := desc("z", lifePath, "z.get")
	z.Config = json.RawMessage(`{"fail_init":true}`)
	h := New(&fakeSource{descs: []*handler.Descriptor{a, z}}, nil, nil, nil, nil, Options{Config: testConfig()})
	if err := h.Start(context.Background()); err == nil {
		t.Fatal("Start succeeded with a failing required handler")
	}
	if got := lifeLogs.get(log); fmt.Sprint(got) != "[init a close]" {
		t.Errorf("events %v: the initialised handler was not closed", got)
	}
}

func TestOptionalHandlerFailure(t *testing.T) {
	cfg := testConfig()
	cfg.OptionalHandlers = []string{"broken"}
	broken := desc("broken", lifePath, "broken.get")
	broken.Config = json.RawMessage(`{"fail_init":true}`)
	h := startHost(t, nil, Options{Config: cfg}, desc("noop", noopPath, "n.run"), broken)
	infos := h.Handlers()
	if len(infos) != 2 || infos[0].Status != StatusFailed || infos[0].Required || infos[0].Error == nil || infos[1].Status != StatusRegistered {
		t.Errorf("handlers %+v", infos)
	}
	if err := h.Ready(context.Background()); err != nil {
		t.Errorf("Ready with only an optional handler down: %v", err)
	}
}

// TestDrainAnswersEverything stops a host while requests are in progress:
// the ones that finish within the drain timeout are answered with their
// result; one that ignores its context is answered HANDLER-004 at the drain
// timeout.
func TestDrainAnswersEverything(t *testing.T) {
	b := memory.New(memory.DefaultConfig())
	cfg := testConfig()
	cfg.DrainTimeout = 300 * time.Millisecond
	cfg.InvocationTimeout = time.Minute
	h := New(&fakeSource{descs: []*handler.Descriptor{desc("behave", behavePath, "b.block", "b.ok")}}, nil, nil, b, nil, Options{Config: cfg})
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	rs := collectResponses(t, b, 3)
	done, stuck := unique("drain-done"), unique("drain-stuck")
	for _, raw := range []string{`{"operation":"b.block","payload":{"release":"` + done + `"}}`, `{"operation":"b.block","payload":{"release":"` + stuck + `"}}`, `{"operation":"b.ok"}`} {
		if err := b.Publish(context.Background(), bus.Message{Topic: bus.DefaultRequestTopic, Value: []byte(raw)}); err != nil {
			t.Fatal(err)
		}
	}
	ok := rs.take(t, 1)[0] // b.ok answers at once
	<-releases.started(done)
	<-releases.started(stuck)
	stopped := make(chan error, 1)
	go func() { stopped <- h.Stop(context.Background()) }()
	close(releases.get(done)) // finishes within the drain timeout
	got := rs.take(t, 2)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	close(releases.get(stuck))
	rules := map[string]int{}
	for _, r := range append(got, ok) {
		if r.Success {
			rules["success"]++
		} else {
			rules[r.Error.RuleID]++
		}
	}
	if rules["success"] != 2 || rules["HANDLER-004"] != 1 {
		t.Errorf("responses %v, want 2 successes and 1 HANDLER-004", rules)
	}
	// Let the released handler return before goleak looks.
	h.workerWG.Wait()
}

// TestWatchdogAnswersAtDeadline: a handler that ignores its context is
// answered HANDLER-002 at its deadline through Submit, not when it returns.
func TestWatchdogAnswersAtDeadline(t *testing.T) {
	cfg := testConfig()
	cfg.HandlerTimeouts = map[string]time.Duration{"behave": 30 * time.Millisecond}
	h := New(&fakeSource{descs: []*handler.Descriptor{desc("behave", behavePath, "b.block")}}, nil, nil, nil, nil, Options{Config: cfg})
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := make(chan *envelope.Response, 2)
	reply := func(resp []byte, _ *Outcome) { got <- mustDecode(t, resp) }
	release := unique("watchdog")
	if err := h.Submit(context.Background(), []byte(`{"operation":"b.block","payload":{"release":"`+release+`"}}`), reply); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.Success || r.Error.RuleID != "HANDLER-002" || !r.Error.Retryable {
		t.Fatalf("%+v", r.Error)
	}
	close(releases.get(release))
	// Stop waits for the worker: the late result has been dropped by then.
	if err := h.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case extra := <-got:
		t.Fatalf("second answer %+v", extra)
	default:
	}
}

// TestWatchdogOneTimerPerWorker: a worker keeps one watchdog timer across its
// requests. A request on a handler with a shorter timeout than the timer is
// set for moves it earlier (answered HANDLER-002 at its own deadline, not the
// earlier request's); a timer that fires early, set for a finished request,
// is set again for the request in progress, which is not answered before its
// own deadline.
func TestWatchdogOneTimerPerWorker(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConcurrency = 1 // one worker serves every request
	cfg.HandlerTimeouts = map[string]time.Duration{"long": time.Hour, "short": 30 * time.Millisecond}
	h := New(&fakeSource{descs: []*handler.Descriptor{desc("long", behavePath, "l.ok", "l.block"), desc("short", behavePath, "s.ok", "s.block")}},
		nil, nil, nil, nil, Options{Config: cfg})
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer h.Stop(context.Background())
	got := make(chan *envelope.Response, 4)
	submit := func(raw string) {
		t.Helper()
		if err := h.Submit(context.Background(), []byte(raw), func(resp []byte, _ *Outcome) { got <- mustDecode(t, resp) }); err != nil {
			t.Fatal(err)
		}
	}

	// The timer is set an hour ahead for l.ok; s.block must move it.
	submit(`{"operation":"l.ok"}`)
	if r := <-got; !r.Success {
		t.Fatalf("l.ok: %+v", r.Error)
	}
	short := unique("short")
	submit(`{"operation":"s.block","payload":{"release":"` + short + `"}}`)
	if r := <-got; r.Success || r.Error.RuleID != "HANDLER-002" || r.Handler != "short" {
		t.Fatalf("s.block answered %+v, want HANDLER-002 at its 30ms deadline", r)
	}
	close(releases.get(short))

	// The timer is set for s.ok's deadline; when it fires during l.block it
	// must not answer l.block, only watch it.
	submit(`{"operation":"s.ok"}`)
	if r := <-got; !r.Success {
		t.Fatalf("s.ok: %+v", r.Error)
	}
	long := unique("long")
	submit(`{"operation":"l.block","payload":{"release":"` + long + `"}}`)
	<-releases.started(long)
	w := h.workers[0]
	w.expire() // what the timer does when it fires for s.ok
	w.mu.Lock()
	pending, at, fire := w.pending, w.timerAt, w.fireAt
	w.mu.Unlock()
	if !pending || !at.Equal(fire) || time.Until(fire) < 59*time.Minute {
		t.Errorf("after an early fire the timer is pending %v at %v; want it set for l.block's deadline %v", pending, at, fire)
	}
	close(releases.get(long))
	if r := <-got; !r.Success || r.Handler != "long" {
		t.Fatalf("l.block answered %+v, want its result", r)
	}
}

// TestMaxConcurrencyBoundsWorkersAndDispatch: runtime.max_concurrency bounds
// the invocations of queued requests (workers) and synchronous dispatches
// together; a request beyond it waits for capacity, and is answered
// HANDLER-004 when its context ends first.
func TestMaxConcurrencyBoundsWorkersAndDispatch(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConcurrency = 2
	h := startHost(t, nil, Options{Config: cfg}, desc("behave", behavePath, "b.block", "b.ok"))
	queued, direct := unique("bound-queued"), unique("bound-direct")
	got := make(chan *envelope.Response, 2)
	if err := h.Submit(context.Background(), []byte(`{"operation":"b.block","payload":{"release":"`+queued+`"}}`),
		func(resp []byte, _ *Outcome) { got <- mustDecode(t, resp) }); err != nil {
		t.Fatal(err)
	}
	go func() {
		got <- mustDecode(t, h.Dispatch(context.Background(), []byte(`{"operation":"b.block","payload":{"release":"`+direct+`"}}`)))
	}()
	<-releases.started(queued)
	<-releases.started(direct)

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	r := mustDecode(t, h.Dispatch(canceled, []byte(`{"operation":"b.ok"}`)))
	if r.Success || r.Error.RuleID != "HANDLER-004" || !strings.Contains(r.Error.Message, "max_concurrency 2") || !r.Error.Retryable {
		t.Errorf("a third invocation with both slots taken: %+v, want HANDLER-004 for want of capacity", r.Error)
	}
	if err := h.Submit(canceled, []byte(`{"operation":"b.ok"}`), func([]byte, *Outcome) { t.Error("answered without capacity") }); err == nil {
		t.Error("Submit queued a request with both slots taken")
	}

	close(releases.get(queued))
	close(releases.get(direct))
	for range 2 {
		if r := <-got; !r.Success {
			t.Errorf("blocked request: %+v", r.Error)
		}
	}
	if r := mustDecode(t, h.Dispatch(context.Background(), []byte(`{"operation":"b.ok"}`))); !r.Success {
		t.Errorf("after the release: %+v", r.Error)
	}
}

type fakeGuard struct {
	mu      sync.Mutex
	refuse  bool
	records []bool
}

func (g *fakeGuard) Admit(time.Time) *diag.ValidationError {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.refuse {
		return diag.New("HANDLER-005", "circuit open for behave")
	}
	return nil
}

func (g *fakeGuard) Record(_ time.Time, failed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.records = append(g.records, failed)
}

func TestGuardHook(t *testing.T) {
	g := &fakeGuard{}
	h := startHost(t, nil, Options{Config: testConfig(), Guard: func(*handler.Descriptor) Guard { return g }},
		desc("behave", behavePath, "b.ok", "b.fail", "b.invalid"))
	for _, op := range []string{"b.ok", "b.fail", "b.invalid"} {
		h.Dispatch(context.Background(), []byte(`{"operation":"`+op+`"}`))
	}
	if fmt.Sprint(g.records) != "[false true false]" {
		t.Errorf("recorded %v, want [false true false]", g.records)
	}
	g.refuse = true
	r := mustDecode(t, h.Dispatch(context.Background(), []byte(`{"operation":"b.ok"}`)))
	if r.Success || r.Error.RuleID != "HANDLER-005" || !r.Error.Retryable || r.Handler != "behave" {
		t.Errorf("%+v %+v", r, r.Error)
	}
	if len(g.records) != 3 {
		t.Error("a refused invocation was recorded as invoked")
	}
}

func TestFailedStartClosesTheBus(t *testing.T) {
	b := memory.New(memory.DefaultConfig())
	h := New(&fakeSource{}, nil, nil, b, nil, Options{Config: testConfig()})
	if err := h.Start(context.Background()); err == nil {
		t.Fatal("Start succeeded without handlers")
	}
	if err := b.Publish(context.Background(), bus.Message{Topic: "t", Value: []byte("x")}); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("bus still open after a failed start: %v", err)
	}
}

func TestResponseHeaders(t *testing.T) {
	b := memory.New(memory.DefaultConfig())
	startHost(t, b, Options{}, desc("echo", echoPath, "test.echo"))
	got := make(chan *bus.Delivery, 2)
	sub, err := b.Subscribe(context.Background(), bus.DefaultResponseTopic, "spy", func(_ context.Context, d *bus.Delivery) {
		d.Ack()
		got <- d
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop(context.Background())
	for _, tc := range []struct{ raw, traceparent string }{
		{`{"correlation_id":"` + corrID + `","operation":"test.echo","metadata":{"traceparent":"00-abc-def-01"}}`, "00-abc-def-01"},
		{`{"correlation_id":"` + corrID + `","operation":"test.echo"}`, ""},
	} {
		if err := b.Publish(context.Background(), bus.Message{Topic: bus.DefaultRequestTopic, Value: []byte(tc.raw)}); err != nil {
			t.Fatal(err)
		}
		d := <-got
		if c, _ := d.Header("correlation_id"); string(c) != corrID || string(d.Key) != corrID {
			t.Errorf("correlation header %q, key %q", c, d.Key)
		}
		tp, ok := d.Header("traceparent")
		if string(tp) != tc.traceparent || ok != (tc.traceparent != "") {
			t.Errorf("traceparent header %q (present %v), want %q", tp, ok, tc.traceparent)
		}
	}
}

// TestBlockingHandlersWakeWorkers: requests whose handlers block are each
// taken by a worker of their own, up to max_concurrency, although workers
// are woken one at a time: every blocked request is in progress at once.
func TestBlockingHandlersWakeWorkers(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConcurrency = 8
	h := startHost(t, nil, Options{Config: cfg}, desc("behave", behavePath, "b.block"))
	got := make(chan *envelope.Response, cfg.MaxConcurrency)
	var names []string
	for range cfg.MaxConcurrency {
		name := unique("wake")
		names = append(names, name)
		if err := h.Submit(context.Background(), []byte(`{"operation":"b.block","payload":{"release":"`+name+`"}}`),
			func(resp []byte, _ *Outcome) { got <- mustDecode(t, resp) }); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range names {
		<-releases.started(name) // all eight handlers run at the same time
	}
	for _, name := range names {
		close(releases.get(name))
	}
	for range names {
		if r := <-got; !r.Success {
			t.Errorf("%+v", r.Error)
		}
	}
}

func TestJobQueue(t *testing.T) {
	var q jobQueue
	next, want := 0, 0
	push := func(n int) {
		for range n {
			q.push(job{raw: []byte{byte(next)}})
			next++
		}
	}
	pop := func(n int) {
		for range n {
			j, ok := q.pop()
			if !ok || int(j.raw[0]) != want%256 {
				t.Fatalf("pop %d: %v %v, want %d", want, j.raw, ok, want%256)
			}
			want++
		}
	}
	// Wrap around the ring, then grow it while it is wrapped.
	push(10)
	pop(7)
	push(12)
	pop(5)
	push(40)
	if q.len() != next-want {
		t.Fatalf("len %d, want %d", q.len(), next-want)
	}
	pop(next - want)
	if _, ok := q.pop(); ok || q.len() != 0 {
		t.Fatal("the queue is not empty after every request was taken")
	}
	for i, j := range q.buf {
		if j.raw != nil {
			t.Fatalf("slot %d still holds a request", i)
		}
	}
}
