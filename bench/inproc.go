package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/onexhost/onex/bus"
	"github.com/onexhost/onex/bus/memory"
	"github.com/onexhost/onex/policy"
	"github.com/onexhost/onex/runtime"
)

// inprocWindow bounds the requests in flight on both sides: Watermill's best
// configuration here (unbounded, GoChannel starts goroutines per message and
// slows down), and the same bound for onex.
const inprocWindow = 1024

// Topics of the in-process workload on the Watermill side.
const (
	wmRequests  = "requests"
	wmResponses = "responses"
)

// messageRound publishes reqs through publish, bounded by window, and waits
// until the tracker made current in cur has every response, then checks them
// all. It returns the throughput in messages per second and the allocations
// per message (both sides' producers and pipelines, and the harness's
// collection of the responses).
func messageRound(ctx context.Context, reqs []Request, window int, timeout time.Duration, cur *atomic.Pointer[Tracker],
	publish func(context.Context, Request) error) (Sample, error) {
	if prev := cur.Load(); prev != nil {
		if err := prev.Late(); err != nil { // an extra response since the last round
			return Sample{}, err
		}
	}
	t := NewTracker(reqs, window)
	cur.Store(t)
	var ms0, ms1 goruntime.MemStats
	goruntime.ReadMemStats(&ms0)
	start := time.Now()
	for _, r := range reqs {
		if err := t.Acquire(ctx); err != nil {
			return Sample{}, err
		}
		if err := publish(ctx, r); err != nil {
			return Sample{}, fmt.Errorf("publish: %w", err)
		}
	}
	if err := t.Wait(ctx, timeout); err != nil {
		return Sample{}, err
	}
	elapsed := time.Since(start)
	goruntime.ReadMemStats(&ms1)
	if err := t.Err(); err != nil { // checked off the clock
		return Sample{}, err
	}
	n := float64(len(reqs))
	return Sample{Value: n / elapsed.Seconds(), Allocs: float64(ms1.Mallocs-ms0.Mallocs) / n}, nil
}

// onexInproc is the onex side: requests published on the memory bus, consumed
// by a host that dispatches them to the echo handler and publishes each
// response, which a consumer group of the harness receives.
type onexInproc struct {
	mb   *memory.Bus
	host *runtime.Host
	enf  *policy.Enforcer
	sub  bus.Subscription
	cur  atomic.Pointer[Tracker]
}

func newOnexInproc(ctx context.Context, dir string) (*onexInproc, error) {
	if err := writeContracts(dir, map[string]string{"echo": echoContract}); err != nil {
		return nil, err
	}
	o := &onexInproc{mb: memory.New(memory.DefaultConfig())}
	h, enf, err := startHost(ctx, dir, o.mb, nil)
	if err != nil {
		return nil, errors.Join(err, o.mb.Close())
	}
	o.host, o.enf = h, enf
	o.sub, err = o.mb.Subscribe(ctx, bus.DefaultResponseTopic, "bench", func(_ context.Context, d *bus.Delivery) {
		if t := o.cur.Load(); t != nil {
			t.Record(d.Value)
		}
		d.Ack()
	})
	if err != nil {
		return nil, errors.Join(err, o.close(ctx))
	}
	return o, nil
}

func (o *onexInproc) round(ctx context.Context, reqs []Request, timeout time.Duration) (Sample, error) {
	return messageRound(ctx, reqs, inprocWindow, timeout, &o.cur, func(ctx context.Context, r Request) error {
		return o.mb.Publish(ctx, bus.Message{Topic: bus.DefaultRequestTopic, Key: []byte(r.EnvelopeID), Value: r.Raw})
	})
}

// close stops the host (which closes the bus) and reports any response that
// arrived after the last round.
func (o *onexInproc) close(ctx context.Context) error {
	var errs []error
	if o.sub != nil {
		errs = append(errs, o.sub.Stop(ctx))
	}
	if o.host != nil {
		errs = append(errs, stopHost(ctx, o.host, o.enf))
	} else {
		errs = append(errs, o.mb.Close())
	}
	if t := o.cur.Load(); t != nil {
		errs = append(errs, t.Err())
	}
	return errors.Join(errs...)
}

// wmRequest and wmResponse are the envelopes of the Watermill side, the same
// wire format as onex's, through encoding/json (Watermill's JSON codec).
type wmRequest struct {
	EnvelopeID         string            `json:"envelope_id"`
	CorrelationID      string            `json:"correlation_id"`
	Operation          string            `json:"operation"`
	Handler            string            `json:"handler,omitempty"`
	Payload            json.RawMessage   `json:"payload"`
	DataClassification string            `json:"data_classification,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`
}

type wmResponse struct {
	EnvelopeID    string          `json:"envelope_id"`
	CorrelationID string          `json:"correlation_id"`
	InReplyTo     string          `json:"in_reply_to"`
	Operation     string          `json:"operation"`
	Handler       string          `json:"handler"`
	Success       bool            `json:"success"`
	Status        string          `json:"status"`
	Result        json.RawMessage `json:"result"`
	DurationUS    int64           `json:"duration_us"`
}

// echoReply is the peers' handler: decode the request, answer its payload.
func echoReply(raw []byte) ([]byte, error) {
	start := time.Now()
	var req wmRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, fmt.Errorf("decode request: %w", err)
	}
	if req.Operation != echoOperation {
		return nil, fmt.Errorf("unknown operation %q", req.Operation)
	}
	return json.Marshal(wmResponse{EnvelopeID: watermill.NewUUID(), CorrelationID: req.CorrelationID, InReplyTo: req.EnvelopeID,
		Operation: req.Operation, Handler: "bench-echo", Success: true, Status: "success", Result: req.Payload,
		DurationUS: time.Since(start).Microseconds()})
}

// watermillInproc is the peer side: Watermill's router on its GoChannel
// pub/sub, a handler returning the reply message, and a subscriber of the
// reply topic.
type watermillInproc struct {
	ps     *gochannel.GoChannel
	router *message.Router
	cancel context.CancelFunc
	wg     sync.WaitGroup
	runErr error
	cur    atomic.Pointer[Tracker]
}

func newWatermillInproc(ctx context.Context) (*watermillInproc, error) {
	logger := watermill.NopLogger{}
	w := &watermillInproc{ps: gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: inprocWindow}, logger)}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 30 * time.Second}, logger)
	if err != nil {
		return nil, errors.Join(err, w.ps.Close())
	}
	w.router = router
	router.AddHandler("echo", wmRequests, w.ps, wmResponses, w.ps, func(msg *message.Message) ([]*message.Message, error) {
		b, err := echoReply(msg.Payload)
		if err != nil {
			return nil, err
		}
		return []*message.Message{message.NewMessage(watermill.NewUUID(), b)}, nil
	})
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.cancel = cancel
	replies, err := w.ps.Subscribe(runCtx, wmResponses)
	if err != nil {
		cancel()
		return nil, errors.Join(err, w.ps.Close())
	}
	w.wg.Add(2)
	go func() {
		defer w.wg.Done()
		for msg := range replies {
			if t := w.cur.Load(); t != nil {
				t.Record(msg.Payload)
			}
			msg.Ack()
		}
	}()
	go func() {
		defer w.wg.Done()
		w.runErr = router.Run(runCtx)
	}()
	select {
	case <-router.Running():
	case <-ctx.Done():
		return nil, errors.Join(ctx.Err(), w.close())
	}
	return w, nil
}

func (w *watermillInproc) round(ctx context.Context, reqs []Request, timeout time.Duration) (Sample, error) {
	return messageRound(ctx, reqs, inprocWindow, timeout, &w.cur, func(_ context.Context, r Request) error {
		return w.ps.Publish(wmRequests, message.NewMessage(r.EnvelopeID, r.Raw))
	})
}

func (w *watermillInproc) close() error {
	errs := []error{w.router.Close()}
	w.cancel()
	errs = append(errs, w.ps.Close())
	w.wg.Wait()
	errs = append(errs, w.runErr)
	if t := w.cur.Load(); t != nil {
		errs = append(errs, t.Err())
	}
	return errors.Join(errs...)
}

// inprocWorkload measures workload 1: onex memory bus → runtime → response
// against Watermill's router on GoChannel, n messages per round.
func inprocWorkload(ctx context.Context, o Options) Row {
	p := Pair{Name: "in-process bus dispatch (msg/s)", Format: rate("msg/s"), Target: Target{AtLeast, 3}}
	dir, err := os.MkdirTemp("", "onexbench-inproc-")
	if err != nil {
		return ErrorRow(p.Name, p.Target, err)
	}
	defer os.RemoveAll(dir)
	ox, err := newOnexInproc(ctx, dir)
	if err != nil {
		return ErrorRow(p.Name, p.Target, fmt.Errorf("onex setup: %w", err))
	}
	wm, err := newWatermillInproc(ctx)
	if err != nil {
		return ErrorRow(p.Name, p.Target, errors.Join(fmt.Errorf("watermill setup: %w", err), ox.close(ctx)))
	}
	n := o.scaled(100_000)
	p.Onex = func(ctx context.Context, _ int) (Sample, error) { return ox.round(ctx, NewRequests(n), o.Timeout) }
	p.Peer = func(ctx context.Context, _ int) (Sample, error) { return wm.round(ctx, NewRequests(n), o.Timeout) }
	res, err := o.profiled("inproc", func() (PairResult, error) { return Interleave(ctx, o.Rounds, p.Onex, p.Peer) })
	if cerr := errors.Join(ox.close(ctx), wm.close()); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return ErrorRow(p.Name, p.Target, err)
	}
	return PairRow(p, res)
}
