package kafka

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/onexhost/onex/internal/kafkatest"
	"github.com/onexhost/onex/internal/testkit"
	"github.com/onexhost/onex/runtime"
	"github.com/onexhost/onex/runtime/delivery"
)

// counter counts consumed records and lets a caller wait for a total.
type counter struct {
	mu   sync.Mutex
	cond *sync.Cond
	n    int
}

func newCounter() *counter {
	c := &counter{}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *counter) add(n int) {
	c.mu.Lock()
	c.n += n
	c.cond.Broadcast()
	c.mu.Unlock()
}

func (c *counter) wait(target int) {
	c.mu.Lock()
	for c.n < target {
		c.cond.Wait()
	}
	c.mu.Unlock()
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// consume counts the records of cl until it is closed.
func consume(cl *kgo.Client, c *counter, done chan<- struct{}) {
	defer close(done)
	for {
		fs := cl.PollFetches(context.Background())
		if fs.IsClientClosed() {
			return
		}
		if n := fs.NumRecords(); n > 0 {
			c.add(n)
		}
	}
}

// benchEnv is one kfake broker with three pipelines to compare.
type benchEnv struct {
	prod               *kgo.Client
	raw, echo, onex    []*kgo.Record // one batch for each
	rawN, echoN, onexN *counter      // records consumed at the end of each
}

const benchBatch = 1000

func newBenchEnv(b *testing.B) *benchEnv {
	cfg, prod := cluster(b, 6)
	createTopic(b, cfg.Brokers, 6, "raw", "echo.requests", "echo.responses")
	e := &benchEnv{prod: prod, rawN: newCounter(), echoN: newCounter(), onexN: newCounter()}
	read := func(c *counter, opts ...kgo.Opt) {
		cl := kafkatest.Client(b, cfg.Brokers, append(opts, kgo.FetchMaxWait(100*time.Millisecond))...)
		done := make(chan struct{})
		go consume(cl, c, done)
		b.Cleanup(func() { cl.Close(); <-done })
	}
	// raw: a consumer group member reading what was produced.
	read(e.rawN, kgo.ConsumerGroup("raw-bench"), kgo.ConsumeTopics("raw"))
	// echo: bare franz-go doing the host's job with the same guarantee —
	// consume a batch, produce one reply per record, wait for the broker,
	// commit — without onex's decoding, routing and encoding.
	echo := kafkatest.Client(b, cfg.Brokers, kgo.ConsumerGroup("echo-bench"), kgo.ConsumeTopics("echo.requests"),
		kgo.DisableAutoCommit(), kgo.FetchMaxWait(100*time.Millisecond))
	echoDone := make(chan struct{})
	go func() {
		defer close(echoDone)
		for {
			fs := echo.PollFetches(context.Background())
			if fs.IsClientClosed() {
				return
			}
			var replies []*kgo.Record
			fs.EachRecord(func(r *kgo.Record) {
				replies = append(replies, &kgo.Record{Topic: "echo.responses", Key: r.Key, Value: r.Value})
			})
			if err := echo.ProduceSync(context.Background(), replies...).FirstErr(); err != nil {
				return
			}
			if err := echo.CommitUncommittedOffsets(context.Background()); err != nil {
				return
			}
		}
	}()
	b.Cleanup(func() { echo.Close(); <-echoDone })
	read(e.echoN, kgo.ConsumeTopics("echo.responses"))
	// onex: a host on the Kafka bus with a no-op handler.
	startHostWith(b, cfg, runtime.DefaultMaxConcurrency(), delivery.DefaultMaxAttempts)
	read(e.onexN, kgo.ConsumeTopics(cfg.Topics.Responses))

	for i := 0; i < benchBatch; i++ {
		key := []byte("key-" + strconv.Itoa(i))
		value := []byte(`{"operation":"t.noop"}`)
		e.raw = append(e.raw, &kgo.Record{Topic: "raw", Key: key, Value: value})
		e.echo = append(e.echo, &kgo.Record{Topic: "echo.requests", Key: key, Value: value})
		e.onex = append(e.onex, &kgo.Record{Topic: cfg.Topics.Requests, Key: key, Value: value})
	}
	return e
}

// side is what one pipeline of a comparison spent: wall-clock time and the
// process's CPU time (every goroutine's: the broker's, the clients', the
// host's) while its rounds ran.
type side struct{ wall, cpu time.Duration }

// round produces recs and waits until c counted as many more records.
func (e *benchEnv) round(b *testing.B, recs []*kgo.Record, c *counter, spent *side) func() {
	return func() {
		cpu := testkit.ProcessCPU()
		start := time.Now()
		target := c.get() + len(recs)
		for _, r := range recs {
			r.Partition, r.Offset, r.Timestamp = 0, 0, time.Time{}
		}
		if err := e.prod.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			b.Fatal(err)
		}
		c.wait(target)
		spent.wall += time.Since(start)
		spent.cpu += testkit.ProcessCPU() - cpu
	}
}

// reportThroughput reports each side's messages per second, their ratio,
// and each side's CPU time per message (cpu-µs/msg): how much of the two
// cores a message costs, which, unlike the rates, does not depend on what
// else the machine runs.
func reportThroughput(b *testing.B, onex, peer side, name string) {
	n := float64(b.N+1) * benchBatch // Compare runs each once more to warm up
	b.ReportMetric(n/onex.wall.Seconds(), "onex-msgs/s")
	b.ReportMetric(n/peer.wall.Seconds(), name+"-msgs/s")
	b.ReportMetric(peer.wall.Seconds()/onex.wall.Seconds(), "onex/"+name)
	if onex.cpu > 0 && peer.cpu > 0 {
		b.ReportMetric(float64(onex.cpu.Microseconds())/n, "onex-cpu-µs/msg")
		b.ReportMetric(float64(peer.cpu.Microseconds())/n, name+"-cpu-µs/msg")
	}
}

// BenchmarkThroughput compares, in one run against one in-process kfake
// broker, raw franz-go (produce a batch, consume it in a consumer group) with
// the onex pipeline (produce a batch of requests, a host on the Kafka bus
// answers each with a no-op handler, consume the responses). Each operation
// is one batch of 1 000 records; the two alternate (testkit.Compare).
// onex/raw is onex's throughput as a fraction of raw franz-go's; the
// pipeline crosses the broker twice (request, then response) and commits
// each request only after its response is acknowledged.
func BenchmarkThroughput(b *testing.B) {
	e := newBenchEnv(b)
	var onex, raw side
	testkit.Compare(b, e.round(b, e.onex, e.onexN, &onex), e.round(b, e.raw, e.rawN, &raw))
	reportThroughput(b, onex, raw, "raw")
}

// BenchmarkThroughputEcho compares the onex pipeline with bare franz-go doing
// the same two crossings with the same guarantee (consume requests, produce
// a reply to each, commit after the broker acknowledged the replies): what
// onex's decoding, routing, invocation and encoding cost on the same path.
func BenchmarkThroughputEcho(b *testing.B) {
	e := newBenchEnv(b)
	var onex, echo side
	testkit.Compare(b, e.round(b, e.onex, e.onexN, &onex), e.round(b, e.echo, e.echoN, &echo))
	reportThroughput(b, onex, echo, "echo")
}
