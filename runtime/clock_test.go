package runtime

import (
	"strings"
	"testing"
	"time"
)

func TestClockReadsLikeTimeNow(t *testing.T) {
	var c clock
	for range 1000 {
		before := time.Now()
		got := c.now()
		after := time.Now()
		// Comparisons of Times with monotonic readings use those readings.
		if got.Before(before) || after.Before(got) {
			t.Fatalf("clock read %v outside [%v, %v]", got, before, after)
		}
		if !strings.Contains(got.String(), " m=+") {
			t.Fatalf("clock read %v has no monotonic reading", got)
		}
		// The wall clock part trails time.Now's by at most a renewal period
		// plus what the system clock was adjusted by meanwhile.
		if d := got.Round(0).Sub(before.Round(0)); d < -clockRenewal || d > clockRenewal {
			t.Fatalf("clock wall time %v is %v away from time.Now", got.Round(0), d)
		}
	}
}

func TestClockRenewsItsBase(t *testing.T) {
	var c clock
	first := c.now()
	if c.base != first {
		t.Fatalf("the first reading did not become the base: base %v, read %v", c.base, first)
	}
	base := c.base
	if c.now(); c.base != base {
		t.Fatal("a fresh base was renewed")
	}
	stale := time.Now().Add(-2 * clockRenewal)
	c.base = stale
	got := c.now()
	if c.base == stale || c.base != got {
		t.Fatalf("a stale base was not renewed: base %v, read %v", c.base, got)
	}
}
