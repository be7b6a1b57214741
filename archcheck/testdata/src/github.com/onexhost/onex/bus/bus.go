// Package bus is a minimal stand-in for the onex bus.
package bus

import "context"

type Message struct {
	Topic string
	Value []byte
}

type Publisher interface {
	Publish(ctx context.Context, msgs ...Message) error
}

type Bus interface {
	Publisher
	Close() error
}
