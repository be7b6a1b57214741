package delivery

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/bus/bustest"
	"github.com/onexhost/onex/bus/kafka"
	"github.com/onexhost/onex/bus/memory"
	"github.com/onexhost/onex/internal/kafkatest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// layer is the policy as the dead-letter contract drives it: every failed
// attempt a retryable handler error.
func layer(b bus.Bus, group, dlq string, maxAttempts int, attempt bustest.Attempt) bus.HandlerFunc {
	cfg := fast(maxAttempts)
	cfg.DeadLetterTopic = dlq
	return New(cfg, b, group, nil).Handler(func(ctx context.Context, d *bus.Delivery) *Failure {
		if err := attempt(ctx, d); err != nil {
			return &Failure{RuleID: "HANDLER-001", Message: err.Error(), Retryable: true}
		}
		return nil
	})
}

// TestDeadLetterContract runs the dead-letter contract over every bus.
func TestDeadLetterContract(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		bustest.RunDeadLetters(t, func(*testing.T) bus.Bus { return memory.New(memory.DefaultConfig()) },
			bustest.Features{Partitions: memory.DefaultPartitions}, layer)
	})
	// The cluster's own goroutines live for the whole test.
	kfake := []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*Cluster).run"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*broker).listen"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*clientConn).read"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*clientConn).write"),
	}
	for _, partitions := range []int32{4, 1} {
		t.Run("kafka/partitions="+strconv.Itoa(int(partitions)), func(t *testing.T) {
			brokers := kafkatest.Start(t).ListenAddrs()
			bustest.RunDeadLetters(t, func(t *testing.T) bus.Bus {
				cfg := kafka.DefaultConfig()
				cfg.Brokers = brokers
				cfg.CommitInterval = 50 * time.Millisecond
				cfg.RevokeTimeout = 5 * time.Second
				cfg.SessionTimeout = 3 * time.Second
				cfg.RebalanceTimeout = 10 * time.Second
				cfg.HeartbeatInterval = 100 * time.Millisecond
				b, err := kafka.New(context.Background(), cfg, nil)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}, bustest.Features{
				Partitions: int(partitions),
				Persistent: true,
				Topic: func(t *testing.T) string {
					// A short-lived client: the case checks for leaks before
					// the test ends.
					name := "bustest." + uuid.NewString()
					cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
					if err != nil {
						t.Fatal(err)
					}
					defer cl.Close()
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					if err := kafka.EnsureTopics(ctx, cl, partitions, -1, name); err != nil {
						t.Fatal(err)
					}
					return name
				},
				IgnoreGoroutines: kfake,
			}, layer)
		})
	}
}
