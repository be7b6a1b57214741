package kafka

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// tracker follows the records of one assigned partition from delivery to
// acknowledgement. Records are acknowledged in any order (the host's workers
// run concurrently), but an offset is committable only when every record
// delivered before it was acknowledged too: the commit point is the offset
// after the longest acknowledged prefix. Committing past an unacknowledged
// record would lose it on a crash.
type tracker struct {
	mu      sync.Mutex
	live    bool  // false once the partition is revoked or lost: acks are ignored
	base    int64 // sequence number of pend[0]
	start   int   // index of the first unacknowledged record in pend
	pend    []pending
	point   kgo.EpochOffset // commit point: offset after the acknowledged prefix
	sent    int64           // last commit point handed to the broker
	idle    chan struct{}   // closed when nothing is pending; nil unless someone waits
	dirtyFn func()          // called (outside mu) when the commit point moves
}

type pending struct {
	offset int64
	epoch  int32
	acked  bool
}

func newTracker(dirty func()) *tracker {
	return &tracker{live: true, point: kgo.EpochOffset{Epoch: -1, Offset: -1}, sent: -1, dirtyFn: dirty}
}

// add registers a delivered record and returns its sequence number, or false
// when the partition is no longer assigned here.
func (t *tracker) add(offset int64, epoch int32) (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.live {
		return 0, false
	}
	seq := t.base + int64(len(t.pend))
	t.pend = append(t.pend, pending{offset: offset, epoch: epoch})
	return seq, true
}

// ack acknowledges the record with sequence number seq and advances the
// commit point over the acknowledged prefix.
func (t *tracker) ack(seq int64) {
	t.mu.Lock()
	if !t.live {
		t.mu.Unlock()
		return
	}
	i := int(seq - t.base)
	if i < t.start || i >= len(t.pend) || t.pend[i].acked {
		t.mu.Unlock()
		return
	}
	t.pend[i].acked = true
	moved := false
	for t.start < len(t.pend) && t.pend[t.start].acked {
		p := t.pend[t.start]
		t.point = kgo.EpochOffset{Epoch: p.epoch, Offset: p.offset + 1}
		t.start++
		moved = true
	}
	switch {
	case t.start == len(t.pend):
		t.base += int64(len(t.pend))
		t.pend, t.start = t.pend[:0], 0
		if t.idle != nil {
			close(t.idle)
			t.idle = nil
		}
	case t.start >= 1024 && t.start > len(t.pend)/2:
		// Keep the queue from growing behind a slow record.
		n := copy(t.pend, t.pend[t.start:])
		t.pend = t.pend[:n]
		t.base += int64(t.start)
		t.start = 0
	}
	t.mu.Unlock()
	if moved && t.dirtyFn != nil {
		t.dirtyFn()
	}
}

// outstanding is how many delivered records wait for their acknowledgement.
func (t *tracker) outstanding() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pend) - t.start
}

// drained returns a channel closed once no delivered record is pending.
func (t *tracker) drained() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pend) == t.start || !t.live {
		c := make(chan struct{})
		close(c)
		return c
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	return t.idle
}

// uncommitted returns the commit point when it moved since the last commit.
func (t *tracker) uncommitted() (kgo.EpochOffset, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.live || t.point.Offset <= t.sent {
		return kgo.EpochOffset{}, false
	}
	return t.point, true
}

// committed records that the broker accepted a commit at offset.
func (t *tracker) committed(offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if offset > t.sent {
		t.sent = offset
	}
}

// retire stops the tracker: later acks are ignored (the partition belongs to
// another member now, which resumes from the last commit). It returns the
// final commit point, if it moved since the last commit.
func (t *tracker) retire() (kgo.EpochOffset, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.live = false
	if t.idle != nil {
		close(t.idle)
		t.idle = nil
	}
	if t.point.Offset <= t.sent {
		return kgo.EpochOffset{}, false
	}
	return t.point, true
}
