package kafka

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/bus/bustest"
	"github.com/onexhost/onex/internal/kafkatest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if binaries.dir != "" {
			os.RemoveAll(binaries.dir)
		}
		os.Exit(code)
	}))
}

// kfakeGoroutines are the cluster's own goroutines, alive for the whole test.
var kfakeGoroutines = []goleak.Option{
	goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*Cluster).run"),
	goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*broker).listen"),
	goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*clientConn).read"),
	goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*clientConn).write"),
}

// testConfig is a configuration for an in-process cluster: short timeouts,
// so that rebalances and retries finish quickly.
func testConfig(brokers []string) Config {
	c := DefaultConfig()
	c.Brokers = brokers
	c.Group = "onex"
	c.Topics.Requests = bus.DefaultRequestTopic
	c.Topics.Responses = bus.DefaultResponseTopic
	c.Topics.DeadLetters = bus.DefaultDeadLetterTopic
	c.CommitInterval = 50 * time.Millisecond
	c.RevokeTimeout = 5 * time.Second
	c.SessionTimeout = 3 * time.Second
	c.RebalanceTimeout = 10 * time.Second
	c.HeartbeatInterval = 100 * time.Millisecond
	return c
}

func newTestBus(t testing.TB, cfg Config) *Bus {
	t.Helper()
	b, err := New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

// createTopic makes a topic with partitions through a short-lived client.
func createTopic(t testing.TB, brokers []string, partitions int32, topics ...string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := EnsureTopics(ctx, cl, partitions, -1, topics...); err != nil {
		t.Fatal(err)
	}
}

func TestConformance(t *testing.T) {
	for _, partitions := range []int{4, 1} {
		t.Run("partitions="+string(rune('0'+partitions)), func(t *testing.T) {
			c := kafkatest.Start(t)
			brokers := c.ListenAddrs()
			bustest.Run(t, func(t *testing.T) bus.Bus { return newTestBus(t, testConfig(brokers)) },
				bustest.Features{
					Partitions: partitions,
					// A log: a new group reads what was published before it joined.
					Persistent: true,
					// Kafka keeps what is published whatever the consumers do:
					// producers never wait for a slow group, so there is no
					// bound for Publish to hit. Consumers bound their own
					// in-flight records instead (TestInFlightBound).
					MaxBuffered: 0,
					Topic: func(t *testing.T) string {
						name := "bustest." + uuid.NewString()
						createTopic(t, brokers, int32(partitions), name)
						return name
					},
					IgnoreGoroutines: kfakeGoroutines,
				})
		})
	}
}
