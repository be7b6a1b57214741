package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/onexhost/onex/archcheck"
	"github.com/onexhost/onex/bus/kafka"
	"github.com/onexhost/onex/policy"
	"github.com/onexhost/onex/runtime"
	"github.com/onexhost/onex/source"
	"github.com/onexhost/onex/validate"
)

// onexKafka is the onex side of the Kafka workload: hosts on the Kafka bus in
// one consumer group, fed and read by the same driver as the peer.
type onexKafka struct {
	dir   string
	hosts []*runtime.Host
	enfs  []*policy.Enforcer
	drv   *kafkaDriver
}

// newOnexKafka starts the onex side.
func newOnexKafka(ctx context.Context, k *kafkaCluster, requests, responses string) (_ *onexKafka, err error) {
	dir, err := os.MkdirTemp("", "onexbench-kafka-")
	if err != nil {
		return nil, err
	}
	o := &onexKafka{dir: dir}
	defer func() {
		if err != nil {
			err = errors.Join(err, o.close(ctx))
		}
	}()
	if err := writeContracts(dir, map[string]string{"echo": echoContract}); err != nil {
		return nil, err
	}
	rc := runtime.DefaultConfig()
	rc.RequestTopic, rc.ResponseTopic, rc.ConsumerGroup = requests, responses, "onex-bench"
	rc.Delivery.DeadLetterTopic = requests + ".dlq"
	for range kafkaMembers { // each host on its own Kafka bus client
		kc := kafka.DefaultConfig()
		kc.Brokers = k.addrs
		kc.Topics = kafka.Topics{Requests: requests, Responses: responses, DeadLetters: requests + ".dlq"}
		kc.CreateTopics = kafka.CreateTopics{Partitions: kafkaPartitions, ReplicationFactor: -1}
		if verrs := kc.Validate(nil, "bus.kafka"); len(verrs) > 0 {
			return nil, fmt.Errorf("kafka bus config: %w", verrs[0])
		}
		b, err := kafka.New(ctx, kc, nil)
		if err != nil {
			return nil, fmt.Errorf("kafka bus: %w", err)
		}
		enf := newEnforcer(nil)
		src := source.NewContract([]string{dir}, source.ContractOptions{})
		h := runtime.New(src, []validate.Validator{enf.Registration(), archcheck.Startup()}, enf, b, nil,
			runtime.Options{Config: rc})
		if err := h.Start(ctx); err != nil {
			return nil, errors.Join(fmt.Errorf("start host: %w", err), enf.Close())
		}
		o.hosts, o.enfs = append(o.hosts, h), append(o.enfs, enf)
	}
	if o.drv, err = newKafkaDriver(ctx, k, requests, responses); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *onexKafka) round(ctx context.Context, reqs []Request, timeout time.Duration) (Sample, error) {
	return o.drv.round(ctx, reqs, timeout)
}

func (o *onexKafka) close(ctx context.Context) error {
	var errs []error
	if o.drv != nil {
		errs = append(errs, o.drv.close())
	}
	for i, h := range o.hosts {
		errs = append(errs, stopHost(context.WithoutCancel(ctx), h, o.enfs[i]))
	}
	errs = append(errs, os.RemoveAll(o.dir))
	return errors.Join(errs...)
}
