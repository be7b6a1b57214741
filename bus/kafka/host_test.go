package kafka

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/kafkatest"
	"github.com/onexhost/onex/internal/testkit"
	"github.com/onexhost/onex/runtime"
	"github.com/onexhost/onex/runtime/delivery"
)

// The test handlers of the host tests.
const testImportPath = "example.com/kafkatest/behave"

// failures counts the attempts per request id of the flaky verb.
var failures = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

func init() {
	handler.Register(handler.Factory{ImportPath: testImportPath, Verbs: []string{"noop", "flaky", "down", "slow"},
		New: func(json.RawMessage) (handler.Handler, error) { return behave{}, nil }})
}

type behave struct{}

func (behave) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	switch inv.Verb() {
	case "noop":
		return handler.Output{}, nil
	case "flaky": // fails twice per request id, then succeeds
		var p struct {
			ID string `json:"id"`
		}
		if err := inv.Decode(&p); err != nil {
			return handler.Output{}, err
		}
		failures.Lock()
		failures.n[p.ID]++
		n := failures.n[p.ID]
		failures.Unlock()
		if n <= 2 {
			return handler.Output{}, handler.Transient(nil, "backend busy (attempt %d)", n)
		}
		return handler.Output{Result: map[string]int{"attempts": n}}, nil
	case "down":
		return handler.Output{}, handler.Transient(nil, "backend down")
	case "slow": // holds the request until released or canceled
		var p struct {
			Gate string `json:"gate"`
		}
		_ = inv.Decode(&p)
		select {
		case <-gates.get(p.Gate):
		case <-ctx.Done():
		}
		return handler.Output{}, nil
	}
	return handler.Output{}, handler.Failed(nil, "unexpected verb %s", inv.Verb())
}

// gates are channels the slow verb waits on, by name.
var gates = &gateSet{m: map[string]chan struct{}{}}

type gateSet struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

func (g *gateSet) get(name string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.m[name]
	if !ok {
		c = make(chan struct{})
		g.m[name] = c
	}
	return c
}

// staticSource serves fixed descriptors.
type staticSource []*handler.Descriptor

func (staticSource) SourceType() handler.SourceType { return handler.SourceContract }

func (s staticSource) Discover(context.Context) ([]*handler.Descriptor, []*diag.ValidationError, error) {
	return s, nil, nil
}

func testDescriptor() *handler.Descriptor {
	return &handler.Descriptor{
		Name: "behave", Version: "1.0.0", Type: handler.TypeCompute, Category: handler.CategoryCompute,
		ImportPath: testImportPath, SourceType: handler.SourceContract, Origin: "test",
		Commands: []handler.Command{"t.noop", "t.flaky", "t.down", "t.slow"},
	}
}

// startHost starts a host on a new Kafka bus of cfg; the host owns the bus.
func startHost(t testing.TB, cfg Config) (*runtime.Host, *Bus) {
	t.Helper()
	return startHostWith(t, cfg, 32, delivery.DefaultMaxAttempts)
}

// hostConfig is the runtime configuration of a test host on cfg: its topics
// and group, concurrency workers, and a request attempted up to attempts
// times, milliseconds apart.
func hostConfig(cfg Config, concurrency, attempts int) runtime.Config {
	rc := runtime.DefaultConfig()
	rc.MaxConcurrency = concurrency
	rc.DrainTimeout = 10 * time.Second
	rc.RequestTopic, rc.ResponseTopic, rc.ConsumerGroup = cfg.Topics.Requests, cfg.Topics.Responses, cfg.Group
	rc.Delivery = delivery.Config{MaxAttempts: attempts, DeadLetterTopic: cfg.Topics.DeadLetters,
		Backoff: delivery.Backoff{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond, Multiplier: 2}}
	return rc
}

// startHostWith starts a host with concurrency workers and attempts.
func startHostWith(t testing.TB, cfg Config, concurrency, attempts int) (*runtime.Host, *Bus) {
	t.Helper()
	b := newTestBus(t, cfg)
	h := runtime.New(staticSource{testDescriptor()}, nil, nil, b, nil, runtime.Options{Config: hostConfig(cfg, concurrency, attempts)})
	if err := h.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			if err := h.Stop(context.Background()); err != nil {
				t.Errorf("Stop: %v", err)
			}
		}
	})
	return h, b
}

// cluster is a kfake cluster with the three topics.
func cluster(t testing.TB, partitions int32) (Config, *kgo.Client) {
	t.Helper()
	c := kafkatest.Start(t)
	cfg := testConfig(c.ListenAddrs())
	createTopic(t, cfg.Brokers, partitions, cfg.Topics.Requests, cfg.Topics.Responses, cfg.Topics.DeadLetters)
	return cfg, kafkatest.Client(t, cfg.Brokers, kgo.ProducerLinger(time.Millisecond))
}

// request builds a request record for op with a fresh correlation id.
func request(t testing.TB, topic, op string, payload any) (*kgo.Record, string) {
	t.Helper()
	corr := uuid.NewString()
	raw, err := json.Marshal(map[string]any{"envelope_id": uuid.NewString(), "correlation_id": corr, "operation": op, "payload": payload})
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Topic: topic, Key: []byte(corr), Value: raw}, corr
}

func produce(t testing.TB, cl *kgo.Client, rs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

func decode(t testing.TB, r *kgo.Record) *envelope.Response {
	t.Helper()
	resp, err := envelope.DecodeResponse(r.Value)
	if err != nil {
		t.Fatalf("response %q: %v", r.Value, err)
	}
	return resp
}

// byCorrelation indexes responses by correlation id and fails on duplicates.
func byCorrelation(t testing.TB, rs []*kgo.Record) map[string]*envelope.Response {
	t.Helper()
	out := make(map[string]*envelope.Response, len(rs))
	for _, r := range rs {
		resp := decode(t, r)
		if _, dup := out[resp.CorrelationID]; dup {
			t.Errorf("correlation id %s answered twice", resp.CorrelationID)
		}
		out[resp.CorrelationID] = resp
	}
	return out
}

const hangGuard = 2 * time.Minute

func TestHostAnswersEveryEnvelope(t *testing.T) {
	const n = 10_000
	cfg, cl := cluster(t, 6)
	startHost(t, cfg)
	responses := kafkatest.Read(t, cfg.Brokers, cfg.Topics.Responses)
	want := make(map[string]bool, n)
	batch := make([]*kgo.Record, 0, 500)
	for i := 0; i < n; i++ {
		r, corr := request(t, cfg.Topics.Requests, "t.noop", map[string]int{"i": i})
		want[corr] = true
		batch = append(batch, r)
		if len(batch) == cap(batch) {
			produce(t, cl, batch...)
			batch = batch[:0]
		}
	}
	got := byCorrelation(t, responses.WaitN(t, n, hangGuard))
	for corr := range want {
		r, ok := got[corr]
		if !ok {
			t.Fatalf("no response for %s", corr)
		}
		if !r.Success {
			t.Fatalf("%s: %+v", corr, r.Error)
		}
	}
	if len(got) != n {
		t.Errorf("%d responses, want %d", len(got), n)
	}
}

func TestResponseHeaders(t *testing.T) {
	cfg, cl := cluster(t, 2)
	startHost(t, cfg)
	responses := kafkatest.Read(t, cfg.Brokers, cfg.Topics.Responses)
	const tp1 = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	const tp2 = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	inHeader, corr1 := request(t, cfg.Topics.Requests, "t.noop", nil)
	inHeader.Headers = []kgo.RecordHeader{{Key: "traceparent", Value: []byte(tp1)}}
	corr2 := uuid.NewString()
	inMetadata := &kgo.Record{Topic: cfg.Topics.Requests, Value: []byte(`{"correlation_id":"` + corr2 + `","operation":"t.noop","metadata":{"traceparent":"` + tp2 + `"}}`)}
	produce(t, cl, inHeader, inMetadata)
	want := map[string]string{corr1: tp1, corr2: tp2}
	for _, r := range responses.WaitN(t, 2, hangGuard) {
		headers := map[string]string{}
		for _, h := range r.Headers {
			headers[h.Key] = string(h.Value)
		}
		corr := headers[bus.HeaderCorrelationID]
		if string(r.Key) != corr || want[corr] == "" {
			t.Errorf("response keyed %q with correlation_id header %q, want a request's correlation id in both", r.Key, corr)
		}
		if headers[bus.HeaderTraceparent] != want[corr] {
			t.Errorf("response to %s: traceparent header %q, want %q", corr, headers[bus.HeaderTraceparent], want[corr])
		}
	}
}

func TestPoisonRecordIsDeadLettered(t *testing.T) {
	cfg, cl := cluster(t, 1)
	startHost(t, cfg)
	responses := kafkatest.Read(t, cfg.Brokers, cfg.Topics.Responses)
	dlq := kafkatest.Read(t, cfg.Brokers, cfg.Topics.DeadLetters)
	before, corrBefore := request(t, cfg.Topics.Requests, "t.noop", nil)
	poison := &kgo.Record{Topic: cfg.Topics.Requests, Key: []byte("poison-key"), Value: []byte("this is not JSON"),
		Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")}}}
	after, corrAfter := request(t, cfg.Topics.Requests, "t.noop", nil)
	produce(t, cl, before)
	produce(t, cl, poison)
	produce(t, cl, after)

	got := responses.WaitN(t, 3, hangGuard)
	byCorr := byCorrelation(t, got)
	if !byCorr[corrBefore].Success || !byCorr[corrAfter].Success {
		t.Errorf("the stream did not continue around the poison record: %+v %+v", byCorr[corrBefore], byCorr[corrAfter])
	}
	var poisonResp *envelope.Response
	for corr, r := range byCorr {
		if corr != corrBefore && corr != corrAfter {
			poisonResp = r
		}
	}
	if poisonResp == nil || poisonResp.Success || poisonResp.Error.RuleID != "ENVELOPE-001" {
		t.Fatalf("poison record answered %+v, want one ENVELOPE-001 error response", poisonResp)
	}

	dls := dlq.WaitN(t, 1, hangGuard)
	dl, err := bus.ParseDeadLetter(bus.Message{Key: dls[0].Key, Value: dls[0].Value, Headers: busHeaders(dls[0].Headers)})
	if err != nil {
		t.Fatal(err)
	}
	offset := poisonOffset(t, cfg, cl)
	if dl.Topic != cfg.Topics.Requests || dl.Partition != 0 || dl.Offset != offset ||
		string(dl.Key) != "poison-key" || string(dl.Value) != "this is not JSON" ||
		dl.RuleID != "ENVELOPE-001" || dl.Attempts != 1 || dl.LastError == "" || dl.Group != cfg.Group ||
		dl.CorrelationID != poisonResp.CorrelationID || time.Since(dl.Time) > time.Hour || dl.Time.After(time.Now()) {
		t.Errorf("dead letter %+v (value %q): provenance incomplete; want %s/0@%d, rule ENVELOPE-001, 1 attempt", dl, dl.Value, cfg.Topics.Requests, offset)
	}
	if len(dl.Headers) != 1 || dl.Headers[0].Key != "traceparent" {
		t.Errorf("original headers not kept: %+v", dl.Headers)
	}
	if n := dlq.Len(); n != 1 {
		t.Errorf("%d dead letters, want 1", n)
	}
}

// poisonOffset finds the offset of the record that is not JSON.
func poisonOffset(t testing.TB, cfg Config, _ *kgo.Client) int64 {
	t.Helper()
	r := kafkatest.Read(t, cfg.Brokers, cfg.Topics.Requests)
	var off int64 = -1
	if err := r.Wait(hangGuard, func(rs []*kgo.Record) bool {
		for _, rec := range rs {
			if string(rec.Value) == "this is not JSON" {
				off = rec.Offset
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatal("poison record not found in the request topic")
	}
	r.Close()
	return off
}

func TestRetryThenSuccess(t *testing.T) {
	cfg, cl := cluster(t, 1)
	startHostWith(t, cfg, 32, 3)
	responses := kafkatest.Read(t, cfg.Brokers, cfg.Topics.Responses)
	dlq := kafkatest.Read(t, cfg.Brokers, cfg.Topics.DeadLetters)
	id := uuid.NewString()
	rec, corr := request(t, cfg.Topics.Requests, "t.flaky", map[string]string{"id": id})
	// A sentinel after it: once it is answered, the flaky request was
	// answered too (one partition, in order), and any dead letter written.
	sentinel, sentinelCorr := request(t, cfg.Topics.Requests, "t.noop", nil)
	produce(t, cl, rec, sentinel)
	got := byCorrelation(t, responses.WaitN(t, 2, hangGuard))
	r := got[corr]
	if r == nil || !r.Success || string(r.Result) != `{"attempts":3}` {
		t.Fatalf("flaky request answered %+v, want one success on the third attempt", r)
	}
	if got[sentinelCorr] == nil {
		t.Fatal("sentinel not answered")
	}
	if n := len(got); n != 2 {
		t.Errorf("%d responses, want 2 (no response per failed attempt)", n)
	}
	if n := dlq.Len(); n != 0 {
		t.Errorf("%d dead letters for a request that succeeded on a retry", n)
	}
}

func TestPermanentFailureIsDeadLettered(t *testing.T) {
	const maxAttempts = 4
	cfg, cl := cluster(t, 1)
	startHostWith(t, cfg, 32, maxAttempts)
	responses := kafkatest.Read(t, cfg.Brokers, cfg.Topics.Responses)
	dlq := kafkatest.Read(t, cfg.Brokers, cfg.Topics.DeadLetters)
	rec, corr := request(t, cfg.Topics.Requests, "t.down", nil)
	sentinel, _ := request(t, cfg.Topics.Requests, "t.noop", nil)
	produce(t, cl, rec, sentinel)
	got := byCorrelation(t, responses.WaitN(t, 2, hangGuard))
	r := got[corr]
	if r == nil || r.Success || r.Error.RuleID != "HANDLER-001" || !r.Error.Retryable {
		t.Fatalf("failing request answered %+v, want one retryable HANDLER-001 error response", r)
	}
	dls := dlq.WaitN(t, 1, hangGuard)
	dl, err := bus.ParseDeadLetter(bus.Message{Key: dls[0].Key, Value: dls[0].Value, Headers: busHeaders(dls[0].Headers)})
	if err != nil {
		t.Fatal(err)
	}
	if dl.RuleID != "HANDLER-001" || dl.Attempts != maxAttempts || dl.Handler != "behave" || dl.CorrelationID != corr ||
		dl.LastError == "" || dl.Topic != cfg.Topics.Requests || dl.Offset != 0 || string(dl.Value) != string(rec.Value) {
		t.Errorf("dead letter %+v, want HANDLER-001 after %d attempts with the request's provenance", dl, maxAttempts)
	}
	if n := dlq.Len(); n != 1 {
		t.Errorf("%d dead letters, want 1", n)
	}
}

// theSubscription returns the bus's one subscription (the host's).
func theSubscription(t testing.TB, b *Bus) *subscription {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.subs) != 1 {
		t.Fatalf("%d subscriptions, want 1", len(b.subs))
	}
	for s := range b.subs {
		return s
	}
	return nil
}

// commitPoint is the offset the member would commit for partition p, and
// how many delivered records there wait for their acknowledgement.
func (s *subscription) commitPoint(p int32) (offset int64, unacked int) {
	s.mu.Lock()
	t := s.parts[p]
	s.mu.Unlock()
	if t == nil {
		return -1, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.pend[t.start:] {
		if !p.acked {
			unacked++
		}
	}
	return t.point.Offset, unacked
}

func TestDeadLetterFailureBlocksCommit(t *testing.T) {
	c := kafkatest.Start(t)
	cfg := testConfig(c.ListenAddrs())
	createTopic(t, cfg.Brokers, 1, cfg.Topics.Requests, cfg.Topics.Responses, cfg.Topics.DeadLetters)
	cl := kafkatest.Client(t, cfg.Brokers)
	// The broker refuses writes to the dead-letter topic until healed.
	dlqID := topicID(t, cl, cfg.Topics.DeadLetters)
	var refusing atomic.Bool
	refusing.Store(true)
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		pr := req.(*kmsg.ProduceRequest)
		if !refusing.Load() || !onlyTopic(pr, cfg.Topics.DeadLetters, dlqID) {
			return nil, nil, false
		}
		c.KeepControl()
		return refuseProduce(pr), nil, true
	})
	var logs testkit.Logs
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	b, err := New(context.Background(), cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	h := runtime.New(staticSource{testDescriptor()}, nil, nil, b, logger, runtime.Options{Config: hostConfig(cfg, 8, delivery.DefaultMaxAttempts)})
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer h.Stop(context.Background())
	responses := kafkatest.Read(t, cfg.Brokers, cfg.Topics.Responses)

	first, _ := request(t, cfg.Topics.Requests, "t.noop", nil) // offset 0
	poison := &kgo.Record{Topic: cfg.Topics.Requests, Value: []byte("not JSON")}
	last, lastCorr := request(t, cfg.Topics.Requests, "t.noop", nil) // offset 2
	produce(t, cl, first, poison, last)

	// The record after the poison one is answered and acknowledged…
	_ = responses.Wait(20*time.Second, func(rs []*kgo.Record) bool {
		for _, r := range rs {
			if string(r.Key) == lastCorr {
				return true
			}
		}
		return false
	})
	sub := theSubscription(t, b)
	if !kafkatest.Eventually(hangGuard, func() bool { _, n := sub.commitPoint(0); return n == 1 }) {
		t.Fatalf("the records around the poison one were not acknowledged; logs:\n%s", logs.String())
	}
	// …and the dead letter failed at least twice (retried, not dropped)…
	if !kafkatest.Eventually(hangGuard, func() bool {
		return logs.Count("dead letter not written; retrying (the request stays unacknowledged)") >= 2
	}) {
		t.Fatalf("the failing dead letter was not retried; logs:\n%s", logs.String())
	}
	// …yet the commit point stays before the poison record, and a commit
	// made now commits exactly that.
	if off, n := sub.commitPoint(0); off != 1 || n != 1 {
		t.Fatalf("commit point %d with %d outstanding, want 1 (just before the poison record) with 1", off, n)
	}
	sub.commit(context.Background())
	if got := kafkatest.Committed(cl, cfg.Group, cfg.Topics.Requests, 0); got != 1 {
		t.Fatalf("committed offset %d while the dead letter is not written, want 1", got)
	}

	// Once the broker accepts it the retry succeeds, and the commit moves past.
	refusing.Store(false)
	dlq := kafkatest.Read(t, cfg.Brokers, cfg.Topics.DeadLetters)
	dlq.WaitN(t, 1, hangGuard)
	if !kafkatest.Eventually(hangGuard, func() bool { return kafkatest.Committed(cl, cfg.Group, cfg.Topics.Requests, 0) == 3 }) {
		t.Fatalf("committed offset %d after the dead letter was written, want 3", kafkatest.Committed(cl, cfg.Group, cfg.Topics.Requests, 0))
	}
	if n := dlq.Len(); n != 1 {
		t.Errorf("%d dead letters, want 1", n)
	}
	if strings.Contains(logs.String(), "not JSON") {
		t.Error("the record's value reached the logs")
	}
}

func TestRebalanceDrainsRevokedPartitions(t *testing.T) {
	const partitions = 4
	cfg, _ := cluster(t, partitions)
	cl := kafkatest.Client(t, cfg.Brokers, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	_, b1 := startHost(t, cfg)
	responses := kafkatest.Read(t, cfg.Brokers, cfg.Topics.Responses)

	// Two slow requests on every partition, in progress on the first host.
	gate := "rebalance-" + uuid.NewString()
	var recs []*kgo.Record
	for p := int32(0); p < partitions; p++ {
		for i := 0; i < 2; i++ {
			r, _ := request(t, cfg.Topics.Requests, "t.slow", map[string]string{"gate": gate})
			r.Partition = p
			recs = append(recs, r)
		}
	}
	produce(t, cl, recs...)
	sub1 := theSubscription(t, b1)
	if !kafkatest.Eventually(hangGuard, func() bool {
		n := 0
		for p := int32(0); p < partitions; p++ {
			_, o := sub1.commitPoint(p)
			n += o
		}
		return n == len(recs)
	}) {
		t.Fatal("the slow requests did not reach the first host")
	}

	// A second host joins: the group takes partitions from the first one,
	// which has requests in progress on them.
	startHost(t, cfg)
	close(gates.get(gate))

	var more []*kgo.Record
	for i := 0; i < 200; i++ {
		r, _ := request(t, cfg.Topics.Requests, "t.noop", nil)
		r.Partition = int32(i % partitions)
		more = append(more, r)
	}
	produce(t, cl, more...)
	total := len(recs) + len(more)
	got := byCorrelation(t, responses.WaitN(t, total, hangGuard))
	if len(got) != total {
		t.Errorf("%d requests answered, want %d", len(got), total)
	}
	if !kafkatest.Eventually(hangGuard, func() bool {
		state, members := kafkatest.Assigned(cl, cfg.Group, cfg.Topics.Requests)
		if state != "Stable" || len(members) != 2 {
			return false
		}
		for _, ps := range members {
			if len(ps) != partitions/2 {
				return false
			}
		}
		return true
	}) {
		state, members := kafkatest.Assigned(cl, cfg.Group, cfg.Topics.Requests)
		t.Fatalf("group %s with %v, want two members sharing the partitions", state, members)
	}
	// Nothing was answered twice: every response so far is unique
	// (byCorrelation), and none comes late.
	for p := int32(0); p < partitions; p++ {
		produce(t, cl, &kgo.Record{Topic: cfg.Topics.Requests, Partition: p, Value: []byte(`{"operation":"t.noop"}`)})
	}
	byCorrelation(t, responses.WaitN(t, total+partitions, hangGuard))
	if n := responses.Len(); n != total+partitions {
		t.Errorf("%d responses, want %d", n, total+partitions)
	}
}

func topicID(t testing.TB, cl *kgo.Client, topic string) [16]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	td, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil || td[topic].Err != nil {
		t.Fatalf("topic %s: %v %v", topic, err, td[topic].Err)
	}
	return td[topic].ID
}

// onlyTopic reports whether the produce request writes to topic alone (named,
// or by id in newer protocol versions).
func onlyTopic(pr *kmsg.ProduceRequest, topic string, id [16]byte) bool {
	for _, t := range pr.Topics {
		if t.Topic != topic && t.TopicID != id {
			return false
		}
	}
	return len(pr.Topics) > 0
}

// refuseProduce answers a produce request with TOPIC_AUTHORIZATION_FAILED for
// every partition: a failure the client does not retry by itself.
func refuseProduce(pr *kmsg.ProduceRequest) *kmsg.ProduceResponse {
	resp := pr.ResponseKind().(*kmsg.ProduceResponse)
	resp.Version = pr.Version
	for _, t := range pr.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = kerr.TopicAuthorizationFailed.Code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
