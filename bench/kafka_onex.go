package main

import (
	"context"
	"time"
)

// onexKafka is the onex side of the Kafka workload: hosts on the Kafka bus,
// fed and read by the same driver as the peer.
type onexKafka struct {
	drv *kafkaDriver
}

// newOnexKafka starts the onex side, or returns nil and why it cannot run.
func newOnexKafka(_ context.Context, _ *kafkaCluster, _, _ string) (*onexKafka, string) {
	return nil, "the onex Kafka bus (bus/kafka) is not part of this build yet"
}

func (o *onexKafka) round(ctx context.Context, reqs []Request, timeout time.Duration) (Sample, error) {
	return o.drv.round(ctx, reqs, timeout)
}

func (o *onexKafka) close(context.Context) error { return o.drv.close() }
