// Package handler is the public SDK for writing onex handlers.
//
// A handler implements one method, Handle. It receives an *Invocation: the
// operation, the payload, the correlation id, the data classification, a logger, a
// deadline, and only the capabilities its descriptor earned (an egress-guarded HTTP
// client and dialer, a secret reader limited to the declared scopes). Nothing a
// handler receives can publish, reach the bus, or reach the runtime: the handler
// returns an Output and the runtime publishes it.
//
// Handlers are made by a Factory registered at init under a Go-import-path-style
// key; a contract's implementation.import_path names that key:
//
//	func init() {
//		handler.Register(handler.Factory{
//			ImportPath: "github.com/acme/handlers/greet",
//			Verbs:      []string{"hello"},
//			New:        func(cfg json.RawMessage) (handler.Handler, error) { return greeter{}, nil },
//		})
//	}
//
// A custom host binary blank-imports its handler packages and runs the onex command.
package handler

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Handler is the one method every handler implements.
type Handler interface {
	Handle(ctx context.Context, inv *Invocation) (Output, error)
}

// Initializer is implemented by handlers that set up long-lived resources
// (connection pools, clients) before the first invocation. An error marks the
// handler failed.
type Initializer interface {
	Init(ctx context.Context, env *InitEnv) error
}

// Closer is implemented by handlers that release resources at shutdown. The host
// closes handlers in reverse order of initialisation.
type Closer interface {
	Close(ctx context.Context) error
}

// HealthChecker is implemented by handlers that can report their health; readiness
// is true only when every required handler is healthy.
type HealthChecker interface {
	Health(ctx context.Context) error
}

// Reducer marks a type that owns an aggregate state machine; reducers may hold
// workflow state (see the architecture rule ARCH-003).
type Reducer interface {
	OnexReducer()
}

// Orchestrator marks a type that coordinates handlers; orchestrators must not hold
// workflow FSM state (ARCH-003).
type Orchestrator interface {
	OnexOrchestrator()
}

// Output is what a handler returns to the runtime. The runtime encodes Result as
// the response's result; there is nothing here that publishes.
type Output struct {
	Result any
}

// Dialer opens network connections. The one handed to effect handlers is
// egress-guarded: it refuses hosts outside the descriptor's allowed_domains.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Capabilities are what the runtime grants a handler according to its descriptor.
// A nil field was not earned.
type Capabilities struct {
	// HTTPClient is built on the guarded dialer and re-checks every redirect.
	HTTPClient *http.Client
	// Dialer is the egress-guarded dialer.
	Dialer Dialer
	// Secrets reads only the declared secret scopes.
	Secrets SecretReader
}

// InvocationParams are what the runtime fills in to make an Invocation.
type InvocationParams struct {
	HandlerName    string
	Operation      Command
	Payload        json.RawMessage
	EnvelopeID     string
	CorrelationID  string
	Classification Classification
	Logger         *slog.Logger
	Deadline       time.Time
	Capabilities   Capabilities
}

// Invocation is what one call may see and use. It has no publisher, no bus and no
// reference to the runtime.
type Invocation struct {
	p InvocationParams
}

// NewInvocation is used by the runtime (and by tests) to build an Invocation.
func NewInvocation(p InvocationParams) *Invocation {
	if p.Logger == nil {
		p.Logger = discardLogger
	}
	return &Invocation{p: p}
}

// Reset reuses inv for another call; the runtime pools invocations.
func (inv *Invocation) Reset(p InvocationParams) {
	if p.Logger == nil {
		p.Logger = discardLogger
	}
	inv.p = p
}

var discardLogger = slog.New(slog.DiscardHandler)

// HandlerName is the handler_name of the invoked handler.
func (inv *Invocation) HandlerName() string { return inv.p.HandlerName }

// Operation is the full operation of the envelope, e.g. orders.query.
func (inv *Invocation) Operation() Command { return inv.p.Operation }

// Verb is the last segment of the operation, e.g. query: what the factory
// implements.
func (inv *Invocation) Verb() string { return inv.p.Operation.Verb() }

// Payload is the raw JSON payload of the envelope.
func (inv *Invocation) Payload() json.RawMessage { return inv.p.Payload }

// Decode strictly decodes the payload into v: unknown fields, trailing data and
// wrong types are an *Error naming the field, which the runtime answers as an
// invalid payload.
func (inv *Invocation) Decode(v any) error { return DecodeStrict(inv.p.Payload, v) }

// EnvelopeID is the id of the request envelope.
func (inv *Invocation) EnvelopeID() string { return inv.p.EnvelopeID }

// CorrelationID is the correlation id of the request envelope.
func (inv *Invocation) CorrelationID() string { return inv.p.CorrelationID }

// Classification is the data classification of the envelope.
func (inv *Invocation) Classification() Classification { return inv.p.Classification }

// Logger is a structured logger tagged with the handler, operation and correlation
// id. Never log secret values; Secret renders as [redacted].
func (inv *Invocation) Logger() *slog.Logger { return inv.p.Logger }

// Deadline is when the invocation times out; ok is false when there is none.
func (inv *Invocation) Deadline() (deadline time.Time, ok bool) {
	return inv.p.Deadline, !inv.p.Deadline.IsZero()
}

// HTTPClient is the egress-guarded HTTP client, or nil when not granted.
func (inv *Invocation) HTTPClient() *http.Client { return inv.p.Capabilities.HTTPClient }

// Dialer is the egress-guarded dialer, or nil when not granted.
func (inv *Invocation) Dialer() Dialer { return inv.p.Capabilities.Dialer }

// Secrets is the scoped secret reader, or nil when not granted.
func (inv *Invocation) Secrets() SecretReader { return inv.p.Capabilities.Secrets }

// InitParams are what the runtime fills in to make an InitEnv.
type InitParams struct {
	HandlerName  string
	Config       json.RawMessage // secret references already resolved
	Logger       *slog.Logger
	Capabilities Capabilities
}

// InitEnv is what a handler's Init receives: its validated config and the same
// capabilities as its invocations, for long-lived clients (connection pools are
// built here, on the guarded dialer).
type InitEnv struct {
	p InitParams
}

// NewInitEnv is used by the runtime (and by tests) to build an InitEnv.
func NewInitEnv(p InitParams) *InitEnv {
	if p.Logger == nil {
		p.Logger = discardLogger
	}
	return &InitEnv{p: p}
}

// HandlerName is the handler_name being initialised.
func (e *InitEnv) HandlerName() string { return e.p.HandlerName }

// Config is the handler's config with secret references resolved. Do not log it.
func (e *InitEnv) Config() json.RawMessage { return e.p.Config }

// DecodeConfig strictly decodes the config into v.
func (e *InitEnv) DecodeConfig(v any) error { return DecodeStrict(e.p.Config, v) }

// Logger is a structured logger tagged with the handler.
func (e *InitEnv) Logger() *slog.Logger { return e.p.Logger }

// HTTPClient is the egress-guarded HTTP client, or nil when not granted.
func (e *InitEnv) HTTPClient() *http.Client { return e.p.Capabilities.HTTPClient }

// Dialer is the egress-guarded dialer, or nil when not granted.
func (e *InitEnv) Dialer() Dialer { return e.p.Capabilities.Dialer }

// Secrets is the scoped secret reader, or nil when not granted.
func (e *InitEnv) Secrets() SecretReader { return e.p.Capabilities.Secrets }
