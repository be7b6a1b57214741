// Package kafkatest starts in-process Kafka clusters (franz-go's kfake, which
// speaks the Kafka protocol) and reads topics for tests of the Kafka bus.
package kafkatest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Start starts a one-broker kfake cluster that accepts short group session
// timeouts, and closes it at the end of the test.
func Start(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{
		kfake.NumBrokers(1),
		kfake.GroupMinSessionTimeout(100 * time.Millisecond),
	}, opts...)...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// Client returns a plain client of the cluster, closed at the end of the test.
func Client(t testing.TB, brokers []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		t.Fatalf("kafka client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Reader reads every partition of one topic from the start, outside any
// group, and keeps the records.
type Reader struct {
	cl   *kgo.Client
	done chan struct{}

	mu      sync.Mutex
	cond    *sync.Cond
	records []*kgo.Record
}

// Read starts a reader of topic; it stops at the end of the test.
func Read(t testing.TB, brokers []string, topic string) *Reader {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond),
		kgo.MetadataMinAge(100*time.Millisecond))
	if err != nil {
		t.Fatalf("kafka reader: %v", err)
	}
	r := &Reader{cl: cl, done: make(chan struct{})}
	r.cond = sync.NewCond(&r.mu)
	go r.run()
	t.Cleanup(r.Close)
	return r
}

func (r *Reader) run() {
	defer close(r.done)
	for {
		fs := r.cl.PollFetches(context.Background())
		if fs.IsClientClosed() {
			return
		}
		var batch []*kgo.Record
		fs.EachRecord(func(rec *kgo.Record) { batch = append(batch, rec) })
		if len(batch) == 0 {
			continue
		}
		r.mu.Lock()
		r.records = append(r.records, batch...)
		r.cond.Broadcast()
		r.mu.Unlock()
	}
}

// Close stops the reader.
func (r *Reader) Close() {
	r.cl.Close()
	<-r.done
}

// Records returns the records read so far.
func (r *Reader) Records() []*kgo.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*kgo.Record(nil), r.records...)
}

// Len is how many records were read so far.
func (r *Reader) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.records)
}

// ErrTimeout is returned by Wait when the condition did not hold in time.
var ErrTimeout = errors.New("kafkatest: condition not met before the deadline")

// Wait blocks until cond holds over the records read so far (checked on every
// new batch), or timeout — a hang guard, not a timing assertion.
func (r *Reader) Wait(timeout time.Duration, cond func(records []*kgo.Record) bool) error {
	timer := time.AfterFunc(timeout, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(timeout)
	r.mu.Lock()
	defer r.mu.Unlock()
	for !cond(r.records) {
		if !time.Now().Before(deadline) {
			return ErrTimeout
		}
		r.cond.Wait()
	}
	return nil
}

// WaitN waits until at least n records were read.
func (r *Reader) WaitN(t testing.TB, n int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	if err := r.Wait(timeout, func(rs []*kgo.Record) bool { return len(rs) >= n }); err != nil {
		t.Fatalf("read %d of %d records within %s", r.Len(), n, timeout)
	}
	return r.Records()
}

// Eventually checks cond at a short interval until it holds or timeout
// passes, for state that announces no change (group membership, committed
// offsets): a hang guard with a deadline, not a sleep.
func Eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// Committed returns the offset group committed on topic/partition, -1 when
// none (or the lookup failed).
func Committed(cl *kgo.Client, group, topic string, partition int32) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	os, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err != nil {
		return -1
	}
	o, ok := os.Lookup(topic, partition)
	if !ok || o.Err != nil {
		return -1
	}
	return o.At
}

// Assigned returns the group's state and, per member id, the partitions of
// topic the member owns.
func Assigned(cl *kgo.Client, group, topic string) (state string, members map[string][]int32) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ds, err := kadm.NewClient(cl).DescribeGroups(ctx, group)
	if err != nil {
		return "", nil
	}
	d, ok := ds[group]
	if !ok || d.Err != nil {
		return "", nil
	}
	members = map[string][]int32{}
	for _, m := range d.Members {
		if c, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range c.Topics {
				if t.Topic == topic {
					members[m.MemberID] = append(members[m.MemberID], t.Partitions...)
				}
			}
			if _, ok := members[m.MemberID]; !ok {
				members[m.MemberID] = nil
			}
		}
	}
	return d.State, members
}
