package memory

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"go.uber.org/goleak"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/bus/bustest"
	"github.com/onexhost/onex/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"partitions=4", Config{Partitions: 4, Buffer: 64}},
		{"partitions=1", Config{Partitions: 1, Buffer: 16}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bustest.Run(t, func(*testing.T) bus.Bus { return New(tc.cfg) },
				bustest.Features{Partitions: tc.cfg.Partitions, MaxBuffered: tc.cfg.Buffer})
		})
	}
}

func TestConfigValidate(t *testing.T) {
	f, errs := config.Parse("onex.yaml", []byte("bus:\n  memory:\n    partitions: 0\n    buffer: 5\n"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, tc := range []struct {
		cfg  Config
		keys []string
	}{
		{DefaultConfig(), nil},
		{Config{Partitions: 0, Buffer: 5}, []string{"bus.memory.partitions"}},
		{Config{Partitions: 2, Buffer: maxBuffer + 1}, []string{"bus.memory.buffer"}},
		{Config{Partitions: maxPartitions + 1, Buffer: 0}, []string{"bus.memory.partitions", "bus.memory.buffer"}},
	} {
		errs := tc.cfg.Validate(f, "bus.memory")
		if len(errs) != len(tc.keys) {
			t.Fatalf("%+v: %d errors (%v), want %v", tc.cfg, len(errs), errs, tc.keys)
		}
		for i, e := range errs {
			if e.RuleID != "RUNTIME-002" || e.Details["key"] != tc.keys[i] || e.RemediationHint == "" || e.FilePath != "onex.yaml" {
				t.Errorf("error %d: %+v, want RUNTIME-002 at %s with a hint", i, e, tc.keys[i])
			}
		}
	}
	if errs := (Config{Partitions: 0, Buffer: 5}).Validate(f, "bus.memory"); errs[0].Line != 3 {
		t.Errorf("partitions error at line %d, want 3", errs[0].Line)
	}
}

func TestNewRepairsInvalidConfig(t *testing.T) {
	b := New(Config{})
	defer b.Close()
	if b.cfg != DefaultConfig() {
		t.Errorf("New(Config{}) uses %+v, want the defaults", b.cfg)
	}
}

func TestLag(t *testing.T) {
	b := New(Config{Partitions: 2, Buffer: 8})
	defer b.Close()
	release := make(chan struct{})
	sub, err := b.Subscribe(context.Background(), "t", "g", func(ctx context.Context, d *bus.Delivery) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := b.Publish(context.Background(), bus.Message{Topic: "t", Key: []byte("k"), Value: []byte(strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	// The consumer holds one message; the pump may not have taken it yet.
	if lag := b.Lag()["t/g"]; lag < 4 || lag > 5 {
		t.Errorf("lag %d, want 4 or 5", lag)
	}
	close(release)
	if err := sub.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestPublishValidation(t *testing.T) {
	b := New(DefaultConfig())
	defer b.Close()
	if err := b.Publish(context.Background(), bus.Message{Value: []byte("x")}); err == nil {
		t.Error("Publish accepted a message without a topic")
	}
	if _, err := b.Subscribe(context.Background(), "t", "", func(context.Context, *bus.Delivery) {}); err == nil {
		t.Error("Subscribe accepted an empty group")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Subscribe(ctx, "t", "g", func(context.Context, *bus.Delivery) {}); !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe with a canceled context = %v", err)
	}
}
