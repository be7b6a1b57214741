// Package handler is a minimal stand-in for the onex SDK: just the surface the
// analyzers recognise.
package handler

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
)

type Handler interface {
	Handle(ctx context.Context, inv *Invocation) (Output, error)
}

type Reducer interface{ OnexReducer() }

type Orchestrator interface{ OnexOrchestrator() }

type Output struct{ Result any }

type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

type SecretReader interface {
	Read(ctx context.Context, scope, key string) (string, error)
}

type Invocation struct{}

func (*Invocation) HTTPClient() *http.Client { return nil }
func (*Invocation) Dialer() Dialer           { return nil }
func (*Invocation) Secrets() SecretReader    { return nil }

type InitEnv struct{}

func (*InitEnv) HTTPClient() *http.Client { return nil }
func (*InitEnv) Dialer() Dialer           { return nil }
func (*InitEnv) Secrets() SecretReader    { return nil }

type Factory struct {
	ImportPath string
	Verbs      []string
	New        func(config json.RawMessage) (Handler, error)
}

func Register(Factory) {}
