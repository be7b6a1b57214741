package config

import (
	"testing"
	"time"
)

// benchFile is an onex.yaml of typical size: a kafka bus with every key set.
const benchFile = `handler_source:
  mode: contract
  contract_paths: [./contracts]
runtime:
  max_concurrency: 128
  levels: [low, high]
  drain_timeout: 30s
  limits: {max_envelope_bytes: 1048576}
bus:
  kind: kafka
  kafka:
    brokers: ["localhost:9092"]
    client_id: onex
    group: onex
    topics:
      requests: onex.cmd.requests.v1
      responses: onex.evt.responses.v1
      dead_letters: onex.dlq.requests.v1
    create_topics: {partitions: 6, replication_factor: -1}
    max_attempts: 5
    backoff: {initial: 100ms, max: 10s, multiplier: 2}
    max_in_flight: 1024
    commit_interval: 1s
    session_timeout: 45s
`

// BenchmarkParseDecode parses an onex.yaml and strictly decodes two of its
// sections, as a host does once at start.
func BenchmarkParseDecode(b *testing.B) {
	type kafka struct {
		Brokers  []string          `yaml:"brokers"`
		ClientID string            `yaml:"client_id"`
		Group    string            `yaml:"group"`
		Topics   map[string]string `yaml:"topics"`
		Create   struct {
			Partitions        int `yaml:"partitions"`
			ReplicationFactor int `yaml:"replication_factor"`
		} `yaml:"create_topics"`
		MaxAttempts int `yaml:"max_attempts"`
		Backoff     struct {
			Initial    time.Duration `yaml:"initial"`
			Max        time.Duration `yaml:"max"`
			Multiplier float64       `yaml:"multiplier"`
		} `yaml:"backoff"`
		MaxInFlight    int           `yaml:"max_in_flight"`
		CommitInterval time.Duration `yaml:"commit_interval"`
		SessionTimeout time.Duration `yaml:"session_timeout"`
	}
	data := []byte(benchFile)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		f, errs := Parse("onex.yaml", data)
		if errs != nil {
			b.Fatal(errs)
		}
		var rt runtimeSection
		var bus struct {
			Kind  string `yaml:"kind"`
			Kafka kafka  `yaml:"kafka"`
		}
		if errs := append(f.Decode("runtime", &rt), f.Decode("bus", &bus)...); errs != nil {
			b.Fatal(errs)
		}
	}
}
