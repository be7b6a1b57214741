package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/onexhost/onex/bus"
)

// subscription is one member of a consumer group: its own client, a poll
// goroutine that hands records to fn, and a committer.
type subscription struct {
	b     *Bus
	topic string
	group string
	fn    bus.HandlerFunc
	cl    *kgo.Client
	log   *slog.Logger

	// ctx is fn's context: canceled when Close runs or Stop's context ends.
	ctx    context.Context
	cancel context.CancelFunc
	// poll ends the poll loop (Stop): no record is handed out after it.
	poll     context.Context
	stopPoll context.CancelFunc

	sem chan struct{} // one token per delivered, unacknowledged record

	mu    sync.Mutex
	parts map[int32]*tracker

	lag lag

	// commitMu orders the committer's commits against revocations, so that
	// no commit for a partition is sent after it was handed over.
	commitMu sync.Mutex
	dirty    chan struct{}

	joined     chan struct{} // closed at the first assignment
	joinOnce   sync.Once
	loopDone   chan struct{}
	commitDone chan struct{}
	commitStop chan struct{}

	stopOnce sync.Once
}

func newSubscription(b *Bus, topic, group string, fn bus.HandlerFunc) (*subscription, error) {
	s := &subscription{
		b: b, topic: topic, group: group, fn: fn,
		log:        b.log.With("topic", topic, "group", group),
		sem:        make(chan struct{}, b.cfg.MaxInFlight),
		parts:      map[int32]*tracker{},
		dirty:      make(chan struct{}, 1),
		joined:     make(chan struct{}),
		loopDone:   make(chan struct{}),
		commitDone: make(chan struct{}),
		commitStop: make(chan struct{}),
	}
	opts := append(b.opts[:len(b.opts):len(b.opts)],
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		// No callback runs while a polled batch is being handed out: a
		// partition cannot be revoked between a record's poll and its
		// registration for commit.
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(s.onAssigned),
		kgo.OnPartitionsRevoked(s.onRevoked),
		kgo.OnPartitionsLost(s.onLost),
		kgo.SessionTimeout(b.cfg.SessionTimeout),
		kgo.RebalanceTimeout(b.cfg.RebalanceTimeout),
		kgo.HeartbeatInterval(b.cfg.HeartbeatInterval),
		// A new group starts at the beginning: requests published before the
		// first host started are answered too.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(time.Second),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: consumer: %w", err)
	}
	s.cl = cl
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.poll, s.stopPoll = context.WithCancel(s.ctx)
	go s.run()
	go s.commitLoop()
	return s, nil
}

// awaitJoin waits until the member joined its group and got its first
// assignment, so that a subscriber that returns is part of the group; it
// gives up (the member keeps trying in the background) after wait, or as soon
// as no broker answers.
func (s *subscription) awaitJoin(ctx context.Context, wait time.Duration) error {
	t := time.NewTimer(wait)
	defer t.Stop()
	// Meanwhile one round trip tells whether any broker answers at all: when
	// none does, the join cannot finish within wait, and waiting for it would
	// only hold the host's start back. The member keeps trying either way.
	pctx, cancel := context.WithCancel(ctx)
	pinged := make(chan error, 1)
	go func() { pinged <- s.b.prod.Ping(pctx) }()
	defer func() {
		cancel()
		if pinged != nil {
			<-pinged
		}
	}()
	for {
		select {
		case <-s.joined:
			return nil
		case err := <-pinged:
			pinged = nil
			if err != nil && pctx.Err() == nil {
				s.log.Warn("no broker reachable; consuming starts once the consumer group is joined", "error", err.Error())
				return nil
			}
		case <-t.C:
			s.log.Warn("consumer group not joined yet; consuming starts once it is", "waited", wait.String())
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// run polls and hands records to fn until Stop.
func (s *subscription) run() {
	defer close(s.loopDone)
	for {
		fetches := s.cl.PollRecords(s.poll, s.b.cfg.MaxPollRecords)
		if s.poll.Err() != nil || fetches.IsClientClosed() {
			s.cl.AllowRebalance()
			return
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				s.log.Warn("fetch failed", "partition", p, "error", err.Error())
			}
		})
		more := true
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			s.lag.watermark(p.Partition, p.HighWatermark)
			if len(p.Records) == 0 {
				return
			}
			// One tracker lookup and one lag update per partition of the
			// poll, not per record.
			t := s.tracker(p.Partition)
			last := int64(-1)
			for _, r := range p.Records {
				if !more {
					break
				}
				if more = s.deliver(t, r); more {
					last = r.Offset
				}
			}
			if last >= 0 {
				s.lag.next(p.Partition, last+1)
			}
		})
		s.cl.AllowRebalance()
		if !more {
			return
		}
	}
}

// deliver registers r for commit in t, its partition's tracker, and hands it
// to fn; false when the subscription stops first. A record not handed out is
// not registered: the commit point of its partition stays before it, for the
// next owner.
func (s *subscription) deliver(t *tracker, r *kgo.Record) bool {
	select {
	case s.sem <- struct{}{}:
	default:
		// max_in_flight reached: the lag counts r as waiting meanwhile.
		s.lag.next(r.Partition, r.Offset)
		select {
		case s.sem <- struct{}{}:
		case <-s.poll.Done():
			return false
		}
	}
	seq, ok := t.add(r.Offset, r.LeaderEpoch)
	if !ok {
		<-s.sem
		return true
	}
	m := bus.Message{Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: busHeaders(r.Headers)}
	d := bus.NewDelivery(m, r.Partition, r.Offset, func() {
		t.ack(seq)
		<-s.sem
	})
	s.fn(s.ctx, d)
	return true
}

// tracker returns the live tracker of partition p, making one if needed.
func (s *subscription) tracker(p int32) *tracker {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.parts[p]
	if !ok {
		t = newTracker(s.markDirty)
		s.parts[p] = t
	}
	return t
}

func (s *subscription) markDirty() {
	select {
	case s.dirty <- struct{}{}:
	default:
	}
}

// commitLoop commits acknowledged offsets every commit_interval while some
// moved.
func (s *subscription) commitLoop() {
	defer close(s.commitDone)
	tick := time.NewTicker(s.b.cfg.CommitInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.commitStop:
			return
		case <-tick.C:
		}
		select {
		case <-s.dirty:
			ctx, cancel := context.WithTimeout(s.ctx, s.b.cfg.RevokeTimeout)
			s.commit(ctx)
			cancel()
		default:
		}
	}
}

// commit commits the commit point of every partition that moved.
func (s *subscription) commit(ctx context.Context) {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	offsets := map[int32]kgo.EpochOffset{}
	s.mu.Lock()
	for p, t := range s.parts {
		if eo, ok := t.uncommitted(); ok {
			offsets[p] = eo
		}
	}
	s.mu.Unlock()
	s.commitOffsets(ctx, offsets)
}

// commitOffsets commits offsets synchronously and records what the broker
// accepted. A failed commit is retried by the next one (the commit point
// only moves forward).
func (s *subscription) commitOffsets(ctx context.Context, offsets map[int32]kgo.EpochOffset) {
	if len(offsets) == 0 {
		return
	}
	s.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{s.topic: offsets},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				if !errors.Is(err, context.Canceled) {
					s.log.Warn("offset commit failed", "error", err.Error())
				}
				s.markDirty()
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
						s.log.Warn("offset commit refused", "partition", p.Partition, "error", err.Error())
						s.markDirty()
						continue
					}
					s.mu.Lock()
					tr := s.parts[p.Partition]
					s.mu.Unlock()
					if tr != nil {
						tr.committed(offsets[p.Partition].Offset)
					}
				}
			}
		})
}

func (s *subscription) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	ps := assigned[s.topic]
	s.mu.Lock()
	for _, p := range ps {
		s.parts[p] = newTracker(s.markDirty)
	}
	s.mu.Unlock()
	s.joinOnce.Do(func() { close(s.joined) })
	if len(ps) > 0 {
		slices.Sort(ps)
		s.log.Info("partitions assigned", "partitions", ps)
	}
}

// onRevoked runs when a rebalance takes partitions away (and at leave): it
// waits up to revoke_timeout for the records delivered from them, commits the
// acknowledged prefix and forgets them. Records still unacknowledged go to
// the next owner, which delivers them again.
func (s *subscription) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	ps := revoked[s.topic]
	if len(ps) == 0 {
		return
	}
	s.handOver(ctx, ps, s.b.cfg.RevokeTimeout)
	slices.Sort(ps)
	s.log.Info("partitions revoked", "partitions", ps)
}

// handOver drains partitions ps (up to wait, or until fn's context ends),
// commits their acknowledged prefix and retires their trackers.
func (s *subscription) handOver(ctx context.Context, ps []int32, wait time.Duration) {
	s.mu.Lock()
	ts := make(map[int32]*tracker, len(ps))
	for _, p := range ps {
		if t, ok := s.parts[p]; ok {
			ts[p] = t
		}
	}
	s.mu.Unlock()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
drain:
	for p, t := range ts {
		select {
		case <-t.drained():
		case <-deadline.C:
			s.log.Warn("revoke timeout: records still in progress are left to the next owner", "partition", p, "outstanding", t.outstanding())
			break drain
		case <-s.ctx.Done():
			break drain
		}
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	offsets := map[int32]kgo.EpochOffset{}
	for p, t := range ts {
		if eo, ok := t.retire(); ok {
			offsets[p] = eo
		}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.b.cfg.RevokeTimeout)
	defer cancel()
	s.commitOffsets(cctx, offsets)
	s.mu.Lock()
	for p, t := range ts {
		if s.parts[p] == t {
			delete(s.parts, p)
		}
	}
	s.mu.Unlock()
	s.lag.forget(ps)
}

// onLost runs when the member was fenced out of the group (a session
// timeout): the partitions already belong to others, so nothing is
// committed; records in progress are answered and delivered again there.
func (s *subscription) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	ps := lost[s.topic]
	s.mu.Lock()
	for _, p := range ps {
		if t, ok := s.parts[p]; ok {
			t.retire()
			delete(s.parts, p)
		}
	}
	s.mu.Unlock()
	s.lag.forget(ps)
	if len(ps) > 0 {
		slices.Sort(ps)
		s.log.Warn("partitions lost", "partitions", ps)
	}
}

// Stop stops intake, waits (up to ctx, or revoke_timeout) for the records
// already delivered to be acknowledged, commits the acknowledged offsets and
// leaves the group, so the other members take the partitions over from there.
// Later calls return nil.
func (s *subscription) Stop(ctx context.Context) error {
	var err error
	s.stopOnce.Do(func() { err = s.stop(ctx) })
	return err
}

func (s *subscription) stop(ctx context.Context) error {
	defer s.b.forget(s)
	s.stopPoll()
	var err error
	select {
	case <-s.loopDone:
	case <-ctx.Done():
		// fn did not return in time: end its wait.
		s.cancel()
		<-s.loopDone
		err = fmt.Errorf("kafka: stop %s/%s: %w", s.topic, s.group, ctx.Err())
	}
	close(s.commitStop)
	<-s.commitDone
	wait := s.b.cfg.RevokeTimeout
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl))
	}
	s.mu.Lock()
	ps := make([]int32, 0, len(s.parts))
	for p := range s.parts {
		ps = append(ps, p)
	}
	s.mu.Unlock()
	s.handOver(ctx, ps, max(wait, 0))
	// Leaving the group hands the partitions over now, not after the
	// session timeout.
	s.cl.CloseAllowingRebalance()
	s.cancel()
	return err
}

// lag follows, per assigned partition, the broker's high watermark and the
// next offset to hand out: the records waiting for this member.
type lag struct {
	mu      sync.Mutex
	hwm     map[int32]int64
	nextOff map[int32]int64
}

func (l *lag) watermark(p int32, hwm int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hwm == nil {
		l.hwm, l.nextOff = map[int32]int64{}, map[int32]int64{}
	}
	l.hwm[p] = hwm
}

// next records the next offset of p to hand out.
func (l *lag) next(p int32, offset int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.nextOff != nil {
		l.nextOff[p] = offset
	}
}

func (l *lag) forget(ps []int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range ps {
		delete(l.hwm, p)
		delete(l.nextOff, p)
	}
}

// total is how many records wait in the partitions this member fetched from.
func (l *lag) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for p, hwm := range l.hwm {
		if next, ok := l.nextOff[p]; ok && hwm > next {
			n += int(hwm - next)
		}
	}
	return n
}
