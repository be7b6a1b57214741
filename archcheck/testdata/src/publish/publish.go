// Package publish exercises ARCH-002: handlers that can publish.
package publish

import (
	"context"

	"github.com/onexhost/onex/bus" // want `\[ARCH-002\] handler package imports github.com/onexhost/onex/bus \(it defines handler type Notifier\)\. Remediation: `
	"github.com/onexhost/onex/handler"
)

// Notifier holds the bus as a field and publishes from Handle.
type Notifier struct {
	name string
	pub  bus.Publisher // want `\[ARCH-002\] handler type Notifier holds a bus publisher in field pub \(bus.Publisher\)`
}

func (n *Notifier) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	err := n.pub.Publish(ctx, bus.Message{Topic: n.name}) // want `\[ARCH-002\] handler method Notifier.Handle calls Publish on a bus publisher \(bus.Publisher\)`
	return handler.Output{}, err
}

// SetPublisher receives a publisher.
func (n *Notifier) SetPublisher(p bus.Publisher) { // want `\[ARCH-002\] handler method Notifier.SetPublisher receives a bus publisher in parameter p`
	n.pub = p
}

// Relay is given the bus by its constructor.
type Relay struct{ topic string }

func NewRelay(b bus.Bus, topic string) *Relay { // want `\[ARCH-002\] constructor NewRelay receives a bus publisher in parameter b \(bus.Bus\)`
	_ = b
	return &Relay{topic: topic}
}

func (r *Relay) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	return handler.Output{Result: r.topic}, nil
}

// NewAny returns the interface: still a constructor of a handler.
func NewAny(sinks []bus.Publisher) handler.Handler { // want `\[ARCH-002\] constructor NewAny receives a bus publisher in parameter sinks \(bus.Publisher\)`
	_ = sinks
	return &Relay{}
}

// publisher is an ad-hoc interface: publishing through it is still publishing.
type publisher interface {
	Publish(ctx context.Context, msgs ...bus.Message) error
}

var sink any

// Emitter finds a publisher at run time and publishes through an interface.
type Emitter struct{}

func (Emitter) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	if p, ok := sink.(publisher); ok {
		go func() {
			_ = p.Publish(ctx) // want `\[ARCH-002\] handler method Emitter.Handle calls Publish on a bus publisher \(publisher\)`
		}()
	}
	return handler.Output{}, nil
}

// deps is a struct of this package that hides a publisher.
type deps struct {
	out publisher
}

// Nested holds the publisher one struct down.
type Nested struct {
	deps deps           // want `\[ARCH-002\] handler type Nested holds a bus publisher in field deps \(publisher\)`
	get  func() bus.Bus // want `\[ARCH-002\] handler type Nested holds a bus publisher in field get \(bus.Bus\)`
}

func (Nested) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	return handler.Output{}, nil
}
