package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/bus/memory"
	"github.com/onexhost/onex/contract"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/testkit"
	"github.com/onexhost/onex/source"
)

// markerPath is a factory whose handlers answer {"marker": <config.marker>}:
// a response names the handler set that served it.
const markerPath = "example.com/test/marker"

func init() {
	handler.Register(handler.Factory{ImportPath: markerPath, Verbs: []string{"get"},
		New: func(cfg json.RawMessage) (handler.Handler, error) {
			var c markerConfig
			if err := handler.DecodeStrict(cfg, &c); err != nil {
				return nil, err
			}
			m := &marker{cfg: c}
			markers.add(m)
			return m, nil
		}})
}

type markerConfig struct {
	Marker string `json:"marker"`
	// CloseLog names a list that Close appends the handler's name to.
	CloseLog string `json:"close_log"`
	// BlockInit names a release channel: Init signals started:<name> and
	// waits for its context to end.
	BlockInit string `json:"block_init"`
}

// marker checks its own lifecycle: Handle after Close, or Close while an
// invocation runs, is a violation.
type marker struct {
	cfg        markerConfig
	name       string
	inflight   atomic.Int64
	closed     atomic.Bool
	closes     atomic.Int32
	violations atomic.Int32
}

func (m *marker) Init(ctx context.Context, env *handler.InitEnv) error {
	m.name = env.HandlerName()
	if m.cfg.BlockInit != "" {
		releases.start(m.cfg.BlockInit)
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (m *marker) Handle(context.Context, *handler.Invocation) (handler.Output, error) {
	m.inflight.Add(1)
	defer m.inflight.Add(-1)
	if m.closed.Load() {
		m.violations.Add(1)
	}
	return handler.Output{Result: map[string]string{"marker": m.cfg.Marker}}, nil
}

func (m *marker) Close(context.Context) error {
	if m.inflight.Load() != 0 {
		m.violations.Add(1)
	}
	m.closed.Store(true)
	m.closes.Add(1)
	lifeLogs.add(m.cfg.CloseLog, m.name)
	if m.cfg.CloseLog != "" {
		closeSignals.signal(m.cfg.CloseLog + ":" + m.name)
	}
	return nil
}

// markers are every marker handler made, for lifecycle checks.
var markers = &markerSet{}

type markerSet struct {
	mu  sync.Mutex
	all []*marker
}

func (s *markerSet) add(m *marker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, m)
}

// of returns the handlers made with a marker value.
func (s *markerSet) of(value string) []*marker {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*marker
	for _, m := range s.all {
		if m.cfg.Marker == value {
			out = append(out, m)
		}
	}
	return out
}

// closeSignals are channels closed when a handler closes, by name.
var closeSignals = &releaseSet{m: map[string]chan struct{}{}}

func (r *releaseSet) signal(name string) { close(r.get(name)) }

func markerDesc(name, value, closeLog string, commands ...string) *handler.Descriptor {
	d := desc(name, markerPath, commands...)
	cfg := map[string]string{"marker": value}
	if closeLog != "" {
		cfg["close_log"] = closeLog
	}
	d.Config, _ = json.Marshal(cfg)
	return d
}

// swapSource is a source whose result the test replaces between reloads.
type swapSource struct {
	mu    sync.Mutex
	descs []*handler.Descriptor
	errs  []*diag.ValidationError
	err   error
}

func (s *swapSource) SourceType() handler.SourceType { return handler.SourceContract }

func (s *swapSource) Discover(ctx context.Context) ([]*handler.Descriptor, []*diag.ValidationError, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, nil, s.err
	}
	out := make([]*handler.Descriptor, len(s.descs))
	for i, d := range s.descs {
		out[i] = d.Clone()
	}
	return out, slices.Clone(s.errs), nil
}

func (s *swapSource) set(descs []*handler.Descriptor, errs []*diag.ValidationError, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.descs, s.errs, s.err = descs, errs, err
}

// markerOf decodes the marker of a successful response.
func markerOf(t testing.TB, raw []byte) string {
	t.Helper()
	r := mustDecode(t, raw)
	if !r.Success {
		t.Fatalf("failed response: %s", raw)
	}
	var res struct {
		Marker string `json:"marker"`
	}
	if err := json.Unmarshal(r.Result, &res); err != nil {
		t.Fatalf("result %s: %v", r.Result, err)
	}
	return res.Marker
}

func mustReload(t *testing.T, h *Host, trigger string) ReloadResult {
	t.Helper()
	res, err := h.Reload(context.Background(), trigger)
	if err != nil || res.Outcome != ReloadApplied {
		t.Fatalf("reload: %s, %v", res.Outcome, err)
	}
	return res
}

// TestReloadUnderLoad streams 20 000 envelopes through the memory bus while
// the handler set is swapped three times, the second time to a broken set that
// must be refused: every envelope gets exactly one successful response, the
// broken set never serves one, and no handler is closed while it serves or
// served after it was closed.
func TestReloadUnderLoad(t *testing.T) {
	const total = 20_000
	src := &swapSource{}
	// Each set has two handlers, so closing order and mixed routing are
	// exercised; "a.get" is the operation under load.
	set := func(value string) []*handler.Descriptor {
		return []*handler.Descriptor{
			markerDesc("alpha", value, "load-"+value, "a.get"),
			markerDesc("beta", value, "load-"+value, "b.get"),
		}
	}
	// Marker values are unique to this run: the factory's handlers are
	// counted by value.
	run := uuid.NewString()[:8]
	one, two, three, brokenValue := "one-"+run, "two-"+run, "three-"+run, "BROKEN-"+run
	src.set(set(one), nil, nil)
	b := memory.New(memory.Config{Partitions: 4, Buffer: 256})
	var logs testkit.Logs
	h := New(src, nil, nil, b, logs.Logger(), Options{Config: testConfig()})
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Responses, by in_reply_to; milestones tell the test when to swap.
	var (
		mu       sync.Mutex
		byID     = map[string]int{}
		byMarker = map[string]int{}
		failures []string
		received atomic.Int64
	)
	milestones := map[int64]chan struct{}{4_000: make(chan struct{}), 9_000: make(chan struct{}), 14_000: make(chan struct{}), total: make(chan struct{})}
	sub, err := b.Subscribe(context.Background(), bus.DefaultResponseTopic, "load-client", func(_ context.Context, d *bus.Delivery) {
		r, err := envelope.DecodeResponse(d.Value)
		d.Ack()
		mu.Lock()
		if err != nil || !r.Success {
			failures = append(failures, string(d.Value))
		} else {
			var res struct{ Marker string }
			_ = json.Unmarshal(r.Result, &res)
			byMarker[res.Marker]++
			byID[r.InReplyTo]++
		}
		mu.Unlock()
		if ch, ok := milestones[received.Add(1)]; ok {
			close(ch)
		}
	})
	if err != nil {
		t.Fatal(err)
	}

	ids := make([]string, total)
	published := make(chan error, 1)
	go func() {
		for i := range ids {
			ids[i] = uuid.NewString()
			raw := fmt.Sprintf(`{"envelope_id":%q,"operation":"a.get"}`, ids[i])
			if err := b.Publish(context.Background(), bus.Message{Topic: bus.DefaultRequestTopic, Value: []byte(raw)}); err != nil {
				published <- err
				return
			}
		}
		published <- nil
	}()

	wait := func(n int64) {
		t.Helper()
		guard := time.NewTimer(2 * time.Minute)
		defer guard.Stop()
		select {
		case <-milestones[n]:
		case <-guard.C:
			t.Fatalf("received %d of %d responses", received.Load(), n)
		}
	}
	wait(4_000)
	src.set(set(two), nil, nil)
	mustReload(t, h, "test")
	wait(9_000)
	broken := []*handler.Descriptor{
		markerDesc("alpha", brokenValue, "", "a.get"),
		markerDesc("beta", brokenValue, "", "a.get"), // a.get twice: CONTRACT-012
	}
	src.set(broken, nil, nil)
	res, err := h.Reload(context.Background(), "test")
	var re *diag.ReportError
	if res.Outcome != ReloadRefused || !errors.As(err, &re) || !hasRule(re.Report, "CONTRACT-012") || res.Generation != 2 || res.HandlerCount != 2 {
		t.Fatalf("broken reload: %s gen %d, %v", res.Outcome, res.Generation, err)
	}
	src.set(set(three), nil, nil)
	wait(14_000)
	mustReload(t, h, "test")
	wait(total)
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	if err := h.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := sub.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(failures) > 0 {
		t.Fatalf("%d failed responses, first %s", len(failures), failures[0])
	}
	lost, dup := 0, 0
	for _, id := range ids {
		switch byID[id] {
		case 0:
			lost++
		case 1:
		default:
			dup++
		}
	}
	if lost != 0 || dup != 0 || len(byID) != total || received.Load() != total {
		t.Errorf("%d responses for %d distinct requests: %d lost, %d duplicated", received.Load(), len(byID), lost, dup)
	}
	if byMarker[brokenValue] != 0 {
		t.Errorf("the refused set served %d envelopes", byMarker[brokenValue])
	}
	if byMarker[one] == 0 || byMarker[two] == 0 || byMarker[three] == 0 || byMarker[one]+byMarker[two]+byMarker[three] != total {
		t.Errorf("served by set: %v", byMarker)
	}
	if got := markers.of(brokenValue); len(got) != 0 {
		t.Errorf("the refused set's factories ran: %d handlers made", len(got))
	}
	for _, value := range []string{one, two, three} {
		ms := markers.of(value)
		if len(ms) != 2 {
			t.Fatalf("set %s: %d handlers", value, len(ms))
		}
		for _, m := range ms {
			if m.violations.Load() != 0 || m.closes.Load() != 1 {
				t.Errorf("set %s, %s: %d lifecycle violations, closed %d times", value, m.name, m.violations.Load(), m.closes.Load())
			}
		}
		if got := lifeLogs.get("load-" + value); !slices.Equal(got, []string{"beta", "alpha"}) {
			t.Errorf("set %s closed %v, want reverse order [beta alpha]", value, got)
		}
	}
	recs := logs.Records(t, "handlers reloaded")
	var outcomes []string
	for _, r := range recs {
		outcomes = append(outcomes, fmt.Sprint(r["outcome"]))
		if r["duration_ms"] == nil || r["handler_count"] != 2.0 || r["trigger"] != "test" {
			t.Errorf("reload record %v", r)
		}
	}
	if !slices.Equal(outcomes, []string{"applied", "refused", "applied"}) {
		t.Errorf("reload outcomes %v", outcomes)
	}
}

func hasRule(r *diag.Report, rule diag.RuleID) bool {
	for _, d := range r.Diagnostics {
		if d.RuleID == rule {
			return true
		}
	}
	return false
}

// TestReloadInFlightFinishesOnOldSet: a request in progress during a swap is
// answered by the handler it started on, whose set closes only afterwards;
// requests routed after the swap reach the new set.
func TestReloadInFlightFinishesOnOldSet(t *testing.T) {
	// Names are unique to this run: release and close channels are global.
	run := uuid.NewString()[:8]
	release, oldLog, oldValue, newValue := "reload-inflight-"+run, "inflight-old-"+run, "old-"+run, "new-"+run
	src := &swapSource{}
	src.set([]*handler.Descriptor{
		desc("behave", behavePath, "b.block"),
		markerDesc("m", oldValue, oldLog, "m.get"),
	}, nil, nil)
	h := startHost(t, nil, Options{}, src.descs...)
	h.src = src

	answered := make(chan []byte, 1)
	if err := h.Submit(context.Background(), []byte(`{"operation":"b.block","payload":{"release":"`+release+`"}}`),
		func(resp []byte, _ *Outcome) { answered <- append([]byte(nil), resp...) }); err != nil {
		t.Fatal(err)
	}
	<-releases.started(release)

	src.set([]*handler.Descriptor{markerDesc("m", newValue, "", "m.get")}, nil, nil)
	res := mustReload(t, h, "test")
	if res.Generation != 2 || !slices.Equal(res.Removed, []string{"behave"}) || !slices.Equal(res.Changed, []string{"m"}) || len(res.Added) != 0 {
		t.Errorf("result %+v", res)
	}
	if got := markerOf(t, h.Dispatch(context.Background(), []byte(`{"operation":"m.get"}`))); got != newValue {
		t.Errorf("after the swap m.get answered by %q", got)
	}
	select {
	case <-closeSignals.get(oldLog + ":m"):
		t.Fatal("the old set closed while a request it serves was in progress")
	default:
	}
	if old := markers.of(oldValue); len(old) != 1 || old[0].closed.Load() {
		t.Fatal("old handler closed early")
	}

	close(releases.get(release))
	resp := mustDecode(t, <-answered)
	if !resp.Success || string(resp.Result) != `"late"` || resp.Handler != "behave" {
		t.Errorf("in-flight request answered %+v", resp)
	}
	guard := time.NewTimer(time.Minute)
	defer guard.Stop()
	select {
	case <-closeSignals.get(oldLog + ":m"):
	case <-guard.C:
		t.Fatal("the old set was not closed after its last request")
	}
	if h.Handlers()[0].Descriptor.Name != "m" || !slices.Equal(h.Operations(), []string{"m.get"}) {
		t.Errorf("handlers after reload: %v %v", h.Handlers(), h.Operations())
	}
}

// TestReloadRefused: a reload whose set has any blocking problem, or that
// cannot run, leaves the serving set untouched and logs why.
func TestReloadRefused(t *testing.T) {
	failing := desc("life", lifePath, "l.get")
	failing.Config = json.RawMessage(`{"fail_init":true}`)
	okLife := desc("life-ok", lifePath, "k.get")
	initLog := "refused-init-" + uuid.NewString()[:8]
	okLife.Config = json.RawMessage(`{"log":"` + initLog + `"}`)
	parseErr := diag.New("CONTRACT-001", "yaml: bad indentation")
	parseErr.HandlerIdentity, parseErr.FilePath, parseErr.Line = "unknown@c/handler_contract.yaml", "c/handler_contract.yaml", 3
	for _, tc := range []struct {
		name    string
		descs   []*handler.Descriptor
		errs    []*diag.ValidationError
		err     error
		outcome ReloadOutcome
		rule    diag.RuleID
	}{
		{"route conflict", []*handler.Descriptor{markerDesc("m", "bad", "", "m.get"), markerDesc("n", "bad", "", "m.get")}, nil, nil, ReloadRefused, "CONTRACT-012"},
		{"broken contract", []*handler.Descriptor{markerDesc("m", "bad", "", "m.get")}, []*diag.ValidationError{parseErr}, nil, ReloadRefused, "CONTRACT-001"},
		{"no handlers", nil, nil, nil, ReloadRefused, "RUNTIME-001"},
		{"required handler fails to initialise", []*handler.Descriptor{okLife, failing, markerDesc("m", "bad", "", "m.get")}, nil, nil, ReloadRefused, "RUNTIME-004"},
		{"discovery fails", nil, nil, errors.New("disk gone"), ReloadFailed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &swapSource{}
			src.set([]*handler.Descriptor{markerDesc("m", "good", "", "m.get")}, nil, nil)
			var logs testkit.Logs
			h := New(src, nil, nil, nil, logs.Logger(), Options{Config: testConfig()})
			if err := h.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := h.Stop(context.Background()); err != nil {
					t.Error(err)
				}
			}()
			src.set(tc.descs, tc.errs, tc.err)
			res, err := h.Reload(context.Background(), "test")
			if err == nil || res.Outcome != tc.outcome || res.Generation != 1 {
				t.Fatalf("reload: %s gen %d, %v", res.Outcome, res.Generation, err)
			}
			if tc.rule != "" {
				var re *diag.ReportError
				if !errors.As(err, &re) || !hasRule(re.Report, tc.rule) {
					t.Errorf("error %v, want a report with %s", err, tc.rule)
				}
			}
			if got := markerOf(t, h.Dispatch(context.Background(), []byte(`{"operation":"m.get"}`))); got != "good" {
				t.Errorf("after a refused reload m.get answered by %q", got)
			}
			if err := h.Ready(context.Background()); err != nil {
				t.Errorf("not ready after a refused reload: %v", err)
			}
			recs := logs.Records(t, "handlers reloaded")
			if len(recs) != 1 || recs[0]["outcome"] != string(tc.outcome) || recs[0]["level"] != "ERROR" {
				t.Fatalf("records %v", recs)
			}
			if tc.rule != "" {
				ds, _ := json.Marshal(recs[0]["diagnostics"])
				if !strings.Contains(string(ds), string(tc.rule)) || recs[0]["summary"] == "" || recs[0]["error_count"].(float64) < 1 {
					t.Errorf("record %v does not carry the report", recs[0])
				}
			}
			if tc.name == "required handler fails to initialise" {
				// The handler that did initialise is closed again.
				if got := lifeLogs.get(initLog); !slices.Equal(got, []string{"init life-ok", "close"}) {
					t.Errorf("initialised handlers of the refused set: %v", got)
				}
			}
			for _, m := range markers.of("bad") {
				if m.name != "" && m.closes.Load() != 1 {
					t.Errorf("handler %s of the refused set initialised and closed %d times", m.name, m.closes.Load())
				}
			}
		})
	}
}

// TestReloadOnReloadBeforeLog: Options.OnReload sees every reload, applied
// or refused, before its "handlers reloaded" record is written, so whoever
// reads the log finds the reload already counted.
func TestReloadOnReloadBeforeLog(t *testing.T) {
	src := &swapSource{}
	src.set([]*handler.Descriptor{markerDesc("m", "first", "", "m.get")}, nil, nil)
	var logs testkit.Logs
	var seen []string
	h := New(src, nil, nil, nil, logs.Logger(), Options{Config: testConfig(),
		OnReload: func(r ReloadResult, err error) {
			if n := len(logs.Records(t, "handlers reloaded")); n != len(seen) {
				t.Errorf("OnReload of reload %d called after %d reload records", len(seen)+1, n)
			}
			seen = append(seen, fmt.Sprintf("%s %v", r.Outcome, err != nil))
		}})
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := h.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	src.set([]*handler.Descriptor{markerDesc("m", "second", "", "m.get")}, nil, nil)
	if _, err := h.Reload(context.Background(), "test"); err != nil {
		t.Fatal(err)
	}
	src.set(nil, nil, nil)
	if _, err := h.Reload(context.Background(), "test"); err == nil {
		t.Fatal("a reload to no handlers was applied")
	}
	if want := []string{"applied false", "refused true"}; !slices.Equal(seen, want) {
		t.Errorf("OnReload saw %q, want %q", seen, want)
	}
	if n := len(logs.Records(t, "handlers reloaded")); n != 2 {
		t.Errorf("%d reload records, want 2", n)
	}
}

// TestStopCancelsReload: Stop during a reload cancels it (here: a handler
// initialisation that waits for its context); the half-built set never
// serves and Stop completes.
func TestStopCancelsReload(t *testing.T) {
	src := &swapSource{}
	serving := "serving-" + uuid.NewString()[:8]
	src.set([]*handler.Descriptor{markerDesc("m", serving, "", "m.get")}, nil, nil)
	h := New(src, nil, nil, nil, nil, Options{Config: testConfig()})
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	blocking := markerDesc("m", "blocked", "", "m.get")
	blockName := "stop-reload-" + uuid.NewString()[:8]
	blocking.Config = json.RawMessage(`{"marker":"blocked","block_init":"` + blockName + `"}`)
	src.set([]*handler.Descriptor{blocking}, nil, nil)
	done := make(chan error, 1)
	go func() {
		_, err := h.Reload(context.Background(), "test")
		done <- err
	}()
	<-releases.started(blockName)
	if err := h.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("a reload canceled by Stop succeeded")
	}
	if _, err := h.Reload(context.Background(), "test"); err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Errorf("reload of a stopped host: %v", err)
	}
	if m := markers.of(serving); len(m) != 1 || m[0].closes.Load() != 1 {
		t.Error("the serving set was not closed once by Stop")
	}
}

// TestWatchReloadsSignalAndContracts: SIGHUP and a contract change under a
// watched directory (a new subdirectory included) each reload the host.
func TestWatchReloadsSignalAndContracts(t *testing.T) {
	root := t.TempDir()
	writeContract := func(dir, name, value string) {
		t.Helper()
		p := filepath.Join(root, dir, contract.FileName)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		doc := fmt.Sprintf(`contract_version: "1.0.0"
handler_identity: {name: %s, version: "1.0.0"}
handler_type: compute_handler
handler_type_category: compute
commands_accepted: [%s.get]
implementation: {import_path: %s}
config: {marker: %s}
`, name, name, markerPath, value)
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeContract("a", "wa", "w1")
	src := source.NewContract([]string{root}, source.ContractOptions{})
	results := make(chan ReloadResult, 16)
	h := New(src, nil, nil, nil, nil, Options{Config: testConfig(), OnReload: func(r ReloadResult, _ error) { results <- r }})
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := h.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	}()

	signals := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan error, 1)
	go func() {
		watched <- h.WatchReloads(ctx, ReloadTriggers{Signals: signals, Paths: []string{root}, Debounce: 20 * time.Millisecond})
	}()
	defer func() {
		cancel()
		if err := <-watched; err != nil {
			t.Error(err)
		}
	}()
	next := func(want string) ReloadResult {
		t.Helper()
		guard := time.NewTimer(time.Minute)
		defer guard.Stop()
		for {
			select {
			case r := <-results:
				if r.Trigger == want {
					return r
				}
			case <-guard.C:
				t.Fatalf("no %s reload", want)
			}
		}
	}

	signals <- syscall.SIGHUP
	if r := next(TriggerSignal); r.Outcome != ReloadApplied || r.Generation != 2 {
		t.Errorf("SIGHUP reload %+v", r)
	}
	// A contract in a directory created after the watch began.
	writeContract("b/c", "wb", "w2")
	for {
		r := next(TriggerContractChange)
		if r.Outcome == ReloadApplied && slices.Contains(r.Added, "wb") {
			break
		}
	}
	if got := markerOf(t, h.Dispatch(context.Background(), []byte(`{"operation":"wb.get"}`))); got != "w2" {
		t.Errorf("wb.get answered by %q", got)
	}
	// An edit of an existing contract.
	writeContract("a", "wa", "w3")
	for {
		r := next(TriggerContractChange)
		if r.Outcome == ReloadApplied && slices.Contains(r.Changed, "wa") {
			break
		}
	}
	if got := markerOf(t, h.Dispatch(context.Background(), []byte(`{"operation":"wa.get"}`))); got != "w3" {
		t.Errorf("wa.get answered by %q", got)
	}
}

// registryDoc is a registry contract for the marker factory.
func registryDoc(name, value string) string {
	return fmt.Sprintf(`contract_version: "1.0.0"
handler_identity: {name: %s, version: "1.0.0"}
handler_type: compute_handler
handler_type_category: compute
commands_accepted: [%s.get]
implementation: {import_path: %s}
config: {marker: %s}
`, name, name, markerPath, value)
}

// testRegistry serves an index and its documents on 127.0.0.1.
type testRegistry struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string]string
	down  bool
}

func newTestRegistry(t *testing.T) *testRegistry {
	r := &testRegistry{files: map[string]string{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		body, ok := r.files[req.URL.Path]
		down := r.down
		r.mu.Unlock()
		switch {
		case down:
			http.Error(w, "down", http.StatusServiceUnavailable)
		case !ok:
			http.NotFound(w, req)
		default:
			_, _ = w.Write([]byte(body))
		}
	}))
	t.Cleanup(r.Close)
	return r
}

// publish serves docs (name → document) and their index.
func (r *testRegistry) publish(docs map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var entries []map[string]string
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range docs {
			if !yield(k) {
				return
			}
		}
	}) {
		sum := sha256.Sum256([]byte(docs[name]))
		r.files["/docs/"+name+".yaml"] = docs[name]
		entries = append(entries, map[string]string{"name": name, "url": "docs/" + name + ".yaml", "digest": "sha256:" + hex.EncodeToString(sum[:])})
	}
	b, _ := json.Marshal(entries)
	r.files["/index.json"] = string(b)
}

func (r *testRegistry) setDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

// TestRegistryIndexChangeReloads: a running host polls its registry and
// reloads when the index changes.
func TestRegistryIndexChangeReloads(t *testing.T) {
	reg := newTestRegistry(t)
	reg.publish(map[string]string{"ra": registryDoc("ra", "r1")})
	src, err := source.NewRegistry(reg.URL+"/index.json", source.RegistryOptions{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan ReloadResult, 16)
	h := New(src, nil, nil, nil, nil, Options{Config: testConfig(), OnReload: func(r ReloadResult, _ error) { results <- r }})
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := h.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan error, 1)
	go func() {
		watched <- h.WatchReloads(ctx, ReloadTriggers{PollInterval: 10 * time.Millisecond})
	}()
	defer func() {
		cancel()
		if err := <-watched; err != nil {
			t.Error(err)
		}
	}()

	reg.publish(map[string]string{"ra": registryDoc("ra", "r2"), "rb": registryDoc("rb", "r2")})
	guard := time.NewTimer(time.Minute)
	defer guard.Stop()
	select {
	case r := <-results:
		if r.Trigger != TriggerSourceChange || r.Outcome != ReloadApplied || !slices.Equal(r.Added, []string{"rb"}) || !slices.Equal(r.Changed, []string{"ra"}) {
			t.Errorf("reload %+v", r)
		}
	case <-guard.C:
		t.Fatal("the index change was not picked up")
	}
	for _, op := range []string{"ra.get", "rb.get"} {
		if got := markerOf(t, h.Dispatch(context.Background(), []byte(`{"operation":"`+op+`"}`))); got != "r2" {
			t.Errorf("%s answered by %q", op, got)
		}
	}
	for _, hi := range h.Handlers() {
		if hi.Descriptor.SourceType != handler.SourceRegistry || !strings.HasPrefix(hi.Descriptor.Origin, reg.URL+"/docs/") {
			t.Errorf("%s: provenance %s %s", hi.Descriptor.Name, hi.Descriptor.SourceType, hi.Descriptor.Origin)
		}
	}
}

// TestRegistryDownAtStartRecord: a host started while its registry is down
// serves the cached set, and its startup record says registry_cache: stale.
func TestRegistryDownAtStartRecord(t *testing.T) {
	reg := newTestRegistry(t)
	reg.publish(map[string]string{"ra": registryDoc("ra", "cached")})
	cache := t.TempDir()
	for _, tc := range []struct {
		name, cache string
		down        bool
	}{
		{"registry up", "fresh", false},
		{"registry down", "stale", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg.setDown(tc.down)
			src, err := source.NewRegistry(reg.URL+"/index.json", source.RegistryOptions{CacheDir: cache})
			if err != nil {
				t.Fatal(err)
			}
			var logs testkit.Logs
			h := New(src, nil, nil, nil, logs.Logger(), Options{Config: testConfig()})
			if err := h.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := h.Stop(context.Background()); err != nil {
					t.Error(err)
				}
			}()
			recs := logs.Records(t, "handlers resolved")
			if len(recs) != 1 || recs[0]["registry_cache"] != tc.cache || recs[0]["handler_source_mode"] != "registry" ||
				recs[0]["contract_handler_count"] != 1.0 || recs[0]["handler_count"] != 1.0 {
				t.Errorf("startup record %v", recs)
			}
			if got := markerOf(t, h.Dispatch(context.Background(), []byte(`{"operation":"ra.get"}`))); got != "cached" {
				t.Errorf("ra.get answered by %q", got)
			}
		})
	}
}
