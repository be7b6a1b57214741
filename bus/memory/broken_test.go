package memory

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/bus/bustest"
)

// Broken buses, each violating one promise; the conformance suite must catch
// every one of them (TestConformanceCatchesBrokenBuses).

// markStripper publishes even under an invocation context.
type markStripper struct{ *Bus }

func (m markStripper) Publish(_ context.Context, msgs ...bus.Message) error {
	return m.Bus.Publish(context.Background(), msgs...)
}

// groupSplitter gives every member its own group, so a message reaches every
// member instead of one per group.
type groupSplitter struct{ *Bus }

func (g groupSplitter) Subscribe(ctx context.Context, topic, group string, fn bus.HandlerFunc) (bus.Subscription, error) {
	return g.Bus.Subscribe(ctx, topic, group+"-"+uuid.NewString(), fn)
}

// unbounded accepts every message at once and publishes in the background.
type unbounded struct {
	*Bus
	wg *sync.WaitGroup
}

func (u unbounded) Publish(ctx context.Context, msgs ...bus.Message) error {
	if err := bus.CheckPublish(ctx); err != nil {
		return err
	}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		_ = u.Bus.Publish(context.Background(), msgs...)
	}()
	return nil
}

var brokenBuses = map[string]struct {
	newBus func() bus.Bus
	catch  string // the case that must fail
}{
	"marks":  {func() bus.Bus { return markStripper{New(Config{Partitions: 4, Buffer: 64})} }, "PublishUnderInvocation"},
	"groups": {func() bus.Bus { return groupSplitter{New(Config{Partitions: 4, Buffer: 64})} }, "GroupLoadBalance"},
	"buffer": {func() bus.Bus { return unbounded{New(Config{Partitions: 4, Buffer: 64}), &sync.WaitGroup{}} }, "BackPressure"},
}

// TestBrokenBus runs the suite against one broken bus; it is meant to fail and
// runs only as the subprocess of TestConformanceCatchesBrokenBuses.
func TestBrokenBus(t *testing.T) {
	name := os.Getenv("ONEX_BROKEN_BUS")
	if name == "" {
		t.Skip("runs as a subprocess of TestConformanceCatchesBrokenBuses")
	}
	b := brokenBuses[name]
	bustest.Run(t, func(*testing.T) bus.Bus { return b.newBus() }, bustest.Features{Partitions: 4, MaxBuffered: 64})
}

func TestConformanceCatchesBrokenBuses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	for name, b := range brokenBuses {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run", "^TestBrokenBus$/^"+b.catch+"$", "-test.v")
			cmd.Env = append(os.Environ(), "ONEX_BROKEN_BUS="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a bus that breaks %s:\n%s", b.catch, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestBrokenBus/"+b.catch) {
				t.Fatalf("%s did not fail as expected:\n%s", b.catch, out)
			}
		})
	}
}
