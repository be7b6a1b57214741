package kafka

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/internal/kafkatest"
)

func TestConfigValidate(t *testing.T) {
	valid := func() Config { c := DefaultConfig(); c.Brokers = []string{"localhost:9092"}; return c }
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ONEX_TEST_KAFKA_PW", "s3cret-value")
	for _, tc := range []struct {
		name   string
		change func(*Config)
		keys   []string
	}{
		{"defaults with brokers", func(*Config) {}, nil},
		{"no brokers", func(c *Config) { c.Brokers = nil }, []string{"bus.kafka.brokers"}},
		{"broker without port", func(c *Config) { c.Brokers = []string{"localhost:9092", "kafka"} }, []string{"bus.kafka.brokers[1]"}},
		{"broker bad port", func(c *Config) { c.Brokers = []string{"kafka:99999"} }, []string{"bus.kafka.brokers[0]"}},
		{"bad names", func(c *Config) { c.Group = "a b"; c.Topics.Requests = "x/y"; c.Topics.DeadLetters = "dead letters" },
			[]string{"bus.kafka.group", "bus.kafka.topics.requests", "bus.kafka.topics.dead_letters"}},
		{"create topics", func(c *Config) { c.CreateTopics = CreateTopics{Partitions: -1, ReplicationFactor: 0} },
			[]string{"bus.kafka.create_topics.partitions", "bus.kafka.create_topics.replication_factor"}},
		{"topics unset: the runtime's", func(c *Config) { c.Topics = Topics{} }, nil},
		{"in flight", func(c *Config) { c.MaxInFlight = 10; c.MaxPollRecords = 11 }, []string{"bus.kafka.max_poll_records"}},
		{"durations", func(c *Config) { c.CommitInterval = 0; c.RebalanceTimeout = c.RevokeTimeout },
			[]string{"bus.kafka.commit_interval", "bus.kafka.rebalance_timeout"}},
		{"heartbeat", func(c *Config) { c.HeartbeatInterval = c.SessionTimeout }, []string{"bus.kafka.heartbeat_interval"}},
		{"tls off with options", func(c *Config) { c.TLS.CAFile = "ca.pem" }, []string{"bus.kafka.tls.enabled"}},
		{"tls missing ca", func(c *Config) { c.TLS = TLS{Enabled: true, CAFile: "/nonexistent/ca.pem"} }, []string{"bus.kafka.tls"}},
		{"tls half a key pair", func(c *Config) { c.TLS = TLS{Enabled: true, CertFile: "c.pem"} },
			[]string{"bus.kafka.tls.cert_file"}},
		{"sasl unknown mechanism", func(c *Config) {
			c.SASL = SASL{Mechanism: "SCRAM-SHA-265", Username: "u", PasswordEnv: "ONEX_TEST_KAFKA_PW"}
		},
			[]string{"bus.kafka.sasl.mechanism"}},
		{"sasl two passwords", func(c *Config) { c.SASL = SASL{Mechanism: "PLAIN", Username: "u", Password: "p", PasswordFile: pwFile} },
			[]string{"bus.kafka.sasl.password"}},
		{"sasl env unset", func(c *Config) {
			c.SASL = SASL{Mechanism: "PLAIN", Username: "u", PasswordEnv: "ONEX_TEST_KAFKA_UNSET"}
		},
			[]string{"bus.kafka.sasl.password"}},
		{"sasl no user", func(c *Config) { c.SASL = SASL{Mechanism: "scram-sha-512", PasswordFile: pwFile} }, []string{"bus.kafka.sasl.username"}},
		{"sasl credentials without mechanism", func(c *Config) { c.SASL = SASL{Username: "u"} }, []string{"bus.kafka.sasl.mechanism"}},
		{"sasl ok from env", func(c *Config) {
			c.SASL = SASL{Mechanism: "SCRAM-SHA-256", Username: "u", PasswordEnv: "ONEX_TEST_KAFKA_PW"}
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.change(&c)
			f := config.Empty()
			errs := c.Validate(f, "bus.kafka")
			if len(errs) != len(tc.keys) {
				t.Fatalf("%d errors %v, want %v", len(errs), errs, tc.keys)
			}
			for i, e := range errs {
				if e.RuleID != "RUNTIME-002" || e.Details["key"] != tc.keys[i] || e.RemediationHint == "" {
					t.Errorf("error %d: %s %v %q, want RUNTIME-002 at %s with a hint", i, e.RuleID, e.Details["key"], e.RemediationHint, tc.keys[i])
				}
				if strings.Contains(e.Message, "s3cret-value") {
					t.Errorf("error %q shows the password", e.Message)
				}
			}
		})
	}
}

func TestConfigErrorsAreLocated(t *testing.T) {
	src := "bus:\n  kind: kafka\n  kafka:\n    brokers: [\"kafka:9092\"]\n    commit_interval: 0s\n    sasl:\n      mechanism: PLAIN\n      username: u\n"
	f, errs := config.Parse("onex.yaml", []byte(src))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var sec struct {
		Kind  string `yaml:"kind"`
		Kafka Config `yaml:"kafka"`
	}
	sec.Kafka = DefaultConfig()
	if errs := f.Decode("bus", &sec); len(errs) > 0 {
		t.Fatal(errs)
	}
	errs = sec.Kafka.Validate(f, "bus.kafka")
	want := map[string]int{"bus.kafka.commit_interval": 5, "bus.kafka.sasl.password": 6}
	if len(errs) != len(want) {
		t.Fatalf("errors %v, want %v", errs, want)
	}
	for _, e := range errs {
		key, _ := e.Details["key"].(string)
		if line, ok := want[key]; !ok || e.Line < line || e.FilePath != "onex.yaml" {
			t.Errorf("%s at %s:%d, want onex.yaml around line %d", key, e.FilePath, e.Line, line)
		}
	}
}

func TestNewRefusesInvalidConfig(t *testing.T) {
	if _, err := New(context.Background(), DefaultConfig(), nil); err == nil || !strings.Contains(err.Error(), "broker") {
		t.Fatalf("New without brokers = %v, want an error naming the brokers", err)
	}
}

func TestCreateTopicsAtStart(t *testing.T) {
	c := kafkatest.Start(t)
	cfg := testConfig(c.ListenAddrs())
	cfg.CreateTopics = CreateTopics{Partitions: 3, ReplicationFactor: -1}
	for i := 0; i < 2; i++ { // the second start finds them and is fine
		b := newTestBus(t, cfg)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
	cl := kafkatest.Client(t, cfg.Brokers)
	for _, topic := range []string{cfg.Topics.Requests, cfg.Topics.Responses, cfg.Topics.DeadLetters} {
		if id := topicID(t, cl, topic); id == [16]byte{} {
			t.Errorf("topic %s not created", topic)
		}
	}
}

func TestInFlightBound(t *testing.T) {
	const bound, n = 8, 40
	c := kafkatest.Start(t)
	cfg := testConfig(c.ListenAddrs())
	cfg.MaxInFlight, cfg.MaxPollRecords = bound, 4
	createTopic(t, cfg.Brokers, 2, "inflight")
	b := newTestBus(t, cfg)
	defer b.Close()
	var mu sync.Mutex
	var held []*bus.Delivery
	var unacked, peak, delivered atomic.Int64
	arrived := make(chan struct{}, n)
	sub, err := b.Subscribe(context.Background(), "inflight", "g", func(_ context.Context, d *bus.Delivery) {
		if u := unacked.Add(1); u > peak.Load() {
			peak.Store(u)
		}
		delivered.Add(1)
		mu.Lock()
		held = append(held, d)
		mu.Unlock()
		arrived <- struct{}{}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop(context.Background())
	cl := kafkatest.Client(t, cfg.Brokers)
	var recs []*kgo.Record
	for i := 0; i < n; i++ {
		recs = append(recs, &kgo.Record{Topic: "inflight", Value: []byte{byte(i)}})
	}
	produce(t, cl, recs...)
	// Acknowledge one held delivery per arrival beyond the bound: the member
	// must never hold more than the bound unacknowledged.
	guard := time.NewTimer(hangGuard)
	defer guard.Stop()
	for got := 0; got < n; got++ {
		select {
		case <-arrived:
		case <-guard.C:
			t.Fatalf("%d of %d delivered", got, n)
		}
		if unacked.Load() == bound || got >= n-bound {
			mu.Lock()
			for _, d := range held {
				d.Ack()
			}
			unacked.Add(-int64(len(held)))
			held = held[:0]
			mu.Unlock()
		}
	}
	if p := peak.Load(); p > bound {
		t.Errorf("%d deliveries unacknowledged at once, above max_in_flight %d", p, bound)
	}
	if p := peak.Load(); p < bound {
		t.Errorf("peak of %d unacknowledged: the bound (%d) was never reached, the case proves nothing", p, bound)
	}
}
