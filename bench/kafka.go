package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaPartitions is the partition count of every topic of the workload.
const kafkaPartitions = 4

// kafkaMembers is how many consumer group members share the request topic on
// each side: onex hosts on the peer's side, raw loops on the other, like a
// small deployment.
const kafkaMembers = 2

// kafkaWindow bounds the requests in flight on both sides, like the
// in-process workload.
const kafkaWindow = 1024

// kafkaCluster is one in-process kfake cluster shared by both sides, each on
// its own topics.
type kafkaCluster struct {
	c     *kfake.Cluster
	addrs []string
}

func newKafkaCluster(topics ...string) (*kafkaCluster, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(kafkaPartitions, topics...))
	if err != nil {
		return nil, fmt.Errorf("start kfake: %w", err)
	}
	return &kafkaCluster{c: c, addrs: c.ListenAddrs()}, nil
}

// kafkaDriver produces the requests of a side and reads its responses: the
// same client code for both sides, so only what sits between the two topics
// differs.
type kafkaDriver struct {
	requests string
	prod     *kgo.Client
	reader   *kgo.Client
	cur      atomic.Pointer[Tracker]
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	prodErr  atomic.Pointer[error]
}

func newKafkaDriver(ctx context.Context, k *kafkaCluster, requests, responses string) (*kafkaDriver, error) {
	prod, err := kgo.NewClient(kgo.SeedBrokers(k.addrs...), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		return nil, err
	}
	reader, err := kgo.NewClient(kgo.SeedBrokers(k.addrs...), kgo.ConsumeTopics(responses),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		prod.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d := &kafkaDriver{requests: requests, prod: prod, reader: reader, cancel: cancel}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		for runCtx.Err() == nil {
			fs := reader.PollFetches(runCtx)
			fs.EachRecord(func(r *kgo.Record) {
				if t := d.cur.Load(); t != nil {
					t.Record(r.Value)
				}
			})
		}
	}()
	return d, nil
}

func (d *kafkaDriver) round(ctx context.Context, reqs []Request, timeout time.Duration) (Sample, error) {
	s, err := messageRound(ctx, reqs, kafkaWindow, timeout, &d.cur, func(ctx context.Context, r Request) error {
		if perr := d.prodErr.Load(); perr != nil {
			return *perr
		}
		d.prod.Produce(ctx, &kgo.Record{Topic: d.requests, Key: []byte(r.EnvelopeID), Value: r.Raw}, func(_ *kgo.Record, err error) {
			if err != nil {
				d.prodErr.CompareAndSwap(nil, &err)
			}
		})
		return nil
	})
	if perr := d.prodErr.Load(); perr != nil && err == nil {
		err = fmt.Errorf("produce a request: %w", *perr)
	}
	return Sample{Value: s.Value, Allocs: -1}, err // allocations of the broker are not the side's
}

func (d *kafkaDriver) close() error {
	d.cancel()
	d.wg.Wait()
	d.prod.Close()
	d.reader.Close()
	if t := d.cur.Load(); t != nil {
		return t.Err()
	}
	return nil
}

// rawLoop is the peer: a franz-go consumer group member that decodes each
// request, produces the reply, and commits the consumed offsets once the
// replies are acknowledged (at least once, like the onex Kafka bus).
type rawLoop struct {
	cl     *kgo.Client
	cancel context.CancelFunc
	wg     sync.WaitGroup
	err    error
}

func newRawLoop(ctx context.Context, k *kafkaCluster, requests, responses string) (*rawLoop, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.addrs...), kgo.ConsumerGroup("raw-loop"), kgo.ConsumeTopics(requests),
		kgo.DisableAutoCommit(), kgo.FetchMaxWait(50*time.Millisecond), kgo.ProducerLinger(0))
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &rawLoop{cl: cl, cancel: cancel}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.err = l.run(runCtx, responses)
	}()
	return l, nil
}

func (l *rawLoop) run(ctx context.Context, responses string) error {
	for {
		fs := l.cl.PollRecords(ctx, 256)
		if ctx.Err() != nil {
			return nil
		}
		var errs []error
		fs.EachError(func(t string, p int32, err error) { errs = append(errs, fmt.Errorf("fetch %s/%d: %w", t, p, err)) })
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		var produceErr atomic.Pointer[error]
		for _, r := range recs {
			reply, err := echoReply(r.Value)
			if err != nil {
				return fmt.Errorf("request at %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
			}
			l.cl.Produce(ctx, &kgo.Record{Topic: responses, Key: r.Key, Value: reply}, func(_ *kgo.Record, err error) {
				if err != nil {
					produceErr.CompareAndSwap(nil, &err)
				}
			})
		}
		if err := l.cl.Flush(ctx); err != nil {
			return err
		}
		if perr := produceErr.Load(); perr != nil {
			return *perr
		}
		if err := l.cl.CommitRecords(ctx, recs...); err != nil {
			return err
		}
	}
}

func (l *rawLoop) close() error {
	l.cancel()
	l.wg.Wait()
	l.cl.Close()
	return l.err
}

// kafkaWorkload measures workload 2: a request topic → consumer group → reply
// topic pipeline on one kfake cluster, onex hosts against raw franz-go
// consume→produce loops, kafkaMembers of each.
func kafkaWorkload(ctx context.Context, o Options) Row {
	p := Pair{Name: "kafka pipeline on kfake (msg/s)", Format: rate("msg/s"), Target: Target{AtLeast, 0.5}}
	k, err := newKafkaCluster("raw.requests", "raw.responses", "onex.requests", "onex.responses")
	if err != nil {
		return ErrorRow(p.Name, p.Target, err)
	}
	defer k.c.Close()
	n := o.scaled(40_000)
	var loops []*rawLoop
	closeLoops := func() error {
		var errs []error
		for _, l := range loops {
			errs = append(errs, l.close())
		}
		return errors.Join(errs...)
	}
	for range kafkaMembers {
		l, err := newRawLoop(ctx, k, "raw.requests", "raw.responses")
		if err != nil {
			return ErrorRow(p.Name, p.Target, errors.Join(err, closeLoops()))
		}
		loops = append(loops, l)
	}
	drv, err := newKafkaDriver(ctx, k, "raw.requests", "raw.responses")
	if err != nil {
		return ErrorRow(p.Name, p.Target, errors.Join(err, closeLoops()))
	}
	onex, err := newOnexKafka(ctx, k, "onex.requests", "onex.responses")
	if err != nil {
		return ErrorRow(p.Name, p.Target, errors.Join(err, drv.close(), closeLoops()))
	}
	p.Onex = func(ctx context.Context, _ int) (Sample, error) { return onex.round(ctx, NewRequests(n), o.Timeout) }
	p.Peer = func(ctx context.Context, _ int) (Sample, error) { return drv.round(ctx, NewRequests(n), o.Timeout) }
	res, err := o.profiled("kafka", func() (PairResult, error) { return Interleave(ctx, o.Rounds, p.Onex, p.Peer) })
	if cerr := errors.Join(onex.close(ctx), drv.close(), closeLoops()); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return ErrorRow(p.Name, p.Target, err)
	}
	return PairRow(p, res)
}
