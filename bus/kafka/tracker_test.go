package kafka

import (
	"testing"
)

func TestTrackerCommitsContiguousPrefix(t *testing.T) {
	type step struct {
		ack  int   // index into the added records
		want int64 // commit point after the ack (-1: none yet)
	}
	for _, tc := range []struct {
		name    string
		offsets []int64 // delivered, in order
		steps   []step
	}{
		{"in order", []int64{0, 1, 2}, []step{{0, 1}, {1, 2}, {2, 3}}},
		{"reverse", []int64{0, 1, 2}, []step{{2, -1}, {1, -1}, {0, 3}}},
		{"gap held by a slow record", []int64{5, 6, 7, 8}, []step{{1, -1}, {0, 7}, {3, 7}, {2, 9}}},
		{"offsets with holes (compaction, transaction markers)", []int64{10, 13, 20}, []step{{0, 11}, {2, 11}, {1, 21}}},
		{"duplicate ack", []int64{0, 1}, []step{{0, 1}, {0, 1}, {1, 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			moves := 0
			tr := newTracker(func() { moves++ })
			seqs := make([]int64, len(tc.offsets))
			for i, o := range tc.offsets {
				seq, ok := tr.add(o, 7)
				if !ok {
					t.Fatal("add refused on a live tracker")
				}
				seqs[i] = seq
			}
			for i, s := range tc.steps {
				tr.ack(seqs[s.ack])
				if tr.point.Offset != s.want {
					t.Fatalf("step %d (ack offset %d): commit point %d, want %d", i, tc.offsets[s.ack], tr.point.Offset, s.want)
				}
				if s.want >= 0 && tr.point.Epoch != 7 {
					t.Errorf("commit point epoch %d, want the record's (7)", tr.point.Epoch)
				}
			}
			if tr.outstanding() != 0 {
				t.Errorf("%d outstanding after every ack", tr.outstanding())
			}
			select {
			case <-tr.drained():
			default:
				t.Error("drained() not closed with nothing pending")
			}
			if moves == 0 {
				t.Error("the commit point moved without telling the committer")
			}
		})
	}
}

func TestTrackerUncommittedAndRetire(t *testing.T) {
	tr := newTracker(nil)
	if _, ok := tr.uncommitted(); ok {
		t.Fatal("nothing delivered, yet something to commit")
	}
	a, _ := tr.add(0, -1)
	b, _ := tr.add(1, -1)
	drained := tr.drained()
	tr.ack(a)
	if eo, ok := tr.uncommitted(); !ok || eo.Offset != 1 {
		t.Fatalf("uncommitted = %v %v, want offset 1", eo, ok)
	}
	tr.committed(1)
	if _, ok := tr.uncommitted(); ok {
		t.Fatal("a committed point is offered again")
	}
	select {
	case <-drained:
		t.Fatal("drained with a record pending")
	default:
	}
	if eo, ok := tr.retire(); ok {
		t.Fatalf("retire offered %v though nothing moved since the commit", eo)
	}
	<-drained // retiring releases the waiters
	tr.ack(b) // an ack after the hand-over changes nothing
	if tr.point.Offset != 1 {
		t.Errorf("an ack after retire moved the commit point to %d", tr.point.Offset)
	}
	if _, ok := tr.add(2, -1); ok {
		t.Error("a retired tracker accepted a record")
	}
}

func TestTrackerCompactsAcknowledgedPrefix(t *testing.T) {
	tr := newTracker(nil)
	slow, _ := tr.add(0, 0)
	var seqs []int64
	for o := int64(1); o <= 5000; o++ {
		s, _ := tr.add(o, 0)
		seqs = append(seqs, s)
	}
	tr.ack(slow)
	for _, s := range seqs[:4000] {
		tr.ack(s)
	}
	if len(tr.pend) > 2000 || tr.point.Offset != 4001 {
		t.Fatalf("queue holds %d entries with commit point %d; want it compacted to ≤ 2000 and 4001", len(tr.pend), tr.point.Offset)
	}
	for _, s := range seqs[4000:] {
		tr.ack(s)
	}
	if tr.point.Offset != 5001 || tr.outstanding() != 0 {
		t.Fatalf("commit point %d, %d outstanding; want 5001, 0", tr.point.Offset, tr.outstanding())
	}
}
