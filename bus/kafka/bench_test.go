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

// BenchmarkThroughput compares, in one run against one in-process kfake
// broker, raw franz-go (produce a batch, consume it in a consumer group) with
// the onex pipeline (produce a batch of requests, a host on the Kafka bus
// answers each with a no-op handler, consume the responses). Each operation
// is one batch of 1 000 records; the two alternate (testkit.Compare).
// onex/raw is onex's throughput as a fraction of raw franz-go's: the
// pipeline crosses the broker twice (request and response) and commits
// offsets only after each response is acknowledged.
func BenchmarkThroughput(b *testing.B) {
	const batch = 1000
	cfg, prod := cluster(b, 6)
	createTopic(b, cfg.Brokers, 6, "raw")

	rawCount, rawDone := newCounter(), make(chan struct{})
	rawCl := kafkatest.Client(b, cfg.Brokers, kgo.ConsumerGroup("raw-bench"), kgo.ConsumeTopics("raw"),
		kgo.FetchMaxWait(100*time.Millisecond))
	go consume(rawCl, rawCount, rawDone)
	defer func() { rawCl.Close(); <-rawDone }()

	startHostWith(b, cfg, runtime.DefaultMaxConcurrency())
	respCount, respDone := newCounter(), make(chan struct{})
	respCl := kafkatest.Client(b, cfg.Brokers, kgo.ConsumeTopics(cfg.Topics.Responses), kgo.FetchMaxWait(100*time.Millisecond))
	go consume(respCl, respCount, respDone)
	defer func() { respCl.Close(); <-respDone }()

	raw := make([]*kgo.Record, batch)
	reqs := make([]*kgo.Record, batch)
	for i := range raw {
		key := []byte("key-" + strconv.Itoa(i))
		raw[i] = &kgo.Record{Topic: "raw", Key: key, Value: []byte(`{"operation":"t.noop"}`)}
		reqs[i] = &kgo.Record{Topic: cfg.Topics.Requests, Key: key, Value: []byte(`{"operation":"t.noop"}`)}
	}
	ctx := context.Background()
	run := func(recs []*kgo.Record, c *counter, spent *time.Duration) func() {
		return func() {
			start := time.Now()
			target := c.get() + len(recs)
			for _, r := range recs {
				r.Partition, r.Offset, r.Timestamp = 0, 0, time.Time{}
			}
			if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				b.Fatal(err)
			}
			c.wait(target)
			*spent += time.Since(start)
		}
	}
	var onexTime, rawTime time.Duration
	testkit.Compare(b, run(reqs, respCount, &onexTime), run(raw, rawCount, &rawTime))
	n := float64(b.N+1) * batch // Compare runs each once more to warm up
	b.ReportMetric(n/onexTime.Seconds(), "onex-msgs/s")
	b.ReportMetric(n/rawTime.Seconds(), "raw-msgs/s")
	b.ReportMetric(rawTime.Seconds()/onexTime.Seconds(), "onex/raw")
}
