package runtime

import "time"

// clockRenewal is how old a clock's base reading may grow.
const clockRenewal = time.Second

// clock tells the time for the requests of one goroutine (a scratch's) with
// one reading of the monotonic clock, where time.Now takes two: the time is a
// base reading of time.Now, renewed every clockRenewal, advanced by the
// monotonic time since. Go compares and subtracts Times by their monotonic
// readings, so deadlines and durations are exactly those of time.Now; only the
// wall clock part can trail a step or slew of the system clock, by at most
// clockRenewal of monotonic time.
type clock struct{ base time.Time }

func (c *clock) now() time.Time {
	// The zero base has no monotonic reading: time.Since measures it by the
	// wall clock, far beyond clockRenewal, and the first call renews it.
	if el := time.Since(c.base); el >= 0 && el < clockRenewal {
		return c.base.Add(el)
	}
	c.base = time.Now()
	return c.base
}
