// Package remote holds what the built-in handlers that call a remote HTTP API
// through its official client (Consul, Vault) do alike with one call: bound it
// by the handler's timeout, and turn its failure into a *handler.Error the
// runtime can act on (retry or not, a hint, the HTTP status in the details)
// without quoting the request URL, whose query may carry a token.
package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/text"
)

// MaxReasonBytes bounds the server's reason quoted in a message.
const MaxReasonBytes = 300

// Status is what an API client's error says of the HTTP response.
type Status struct {
	Code int
	// Reason is the server's explanation (a body, the API's error list), quoted
	// in the message up to MaxReasonBytes; empty when there is none.
	Reason string
}

// API is how a handler's calls to one remote API fail.
type API struct {
	// Name starts every message, e.g. "consul".
	Name string
	// Status reads the HTTP status from the client's error; false when err
	// carries none (a network failure, a refusal by the egress guard).
	Status func(err error) (Status, bool)
	// Transient lists the statuses below 500, other than 429, worth retrying
	// for this API.
	Transient []int
	// Hints are the remediation hints of permanent statuses.
	Hints map[int]string
}

// errTimeout is the cause of a call's context when the handler's own timeout
// ended it, as opposed to the invocation's deadline.
var errTimeout = errors.New("handler timeout")

// Call runs fn with ctx bounded by timeout and maps its error; what names the
// call in messages (a verb and its target, never a secret).
func (a *API) Call(ctx context.Context, timeout time.Duration, what string, fn func(ctx context.Context) error) error {
	tctx, cancel := context.WithTimeoutCause(ctx, timeout, errTimeout)
	defer cancel()
	if err := fn(tctx); err != nil {
		return a.mapError(ctx, tctx, timeout, what, err)
	}
	return nil
}

// mapError: the invocation's own deadline or cancellation goes back as is; a
// refusal by the egress guard is permanent with its rule id; the handler's
// timeout, network failures, 429, 5xx and the API's Transient statuses are
// transient; other statuses are permanent, with the API's hint.
func (a *API) mapError(parent, ctx context.Context, timeout time.Duration, what string, err error) error {
	var ve *handler.ValidationError
	var ne net.Error
	st, isStatus := a.Status(err)
	switch {
	case errors.As(err, &ve):
		return &handler.Error{Kind: handler.KindFailed, Message: ve.Message, Hint: ve.RemediationHint, Err: err,
			Details: map[string]any{"rule_id": string(ve.RuleID)}}
	case parent.Err() != nil:
		return parent.Err()
	case errors.Is(context.Cause(ctx), errTimeout):
		e := handler.Transient(err, "%s %s: no answer within %s (timeout)", a.Name, what, timeout)
		e.Details = map[string]any{"timeout": timeout.String()}
		return e
	case isStatus:
		msg := fmt.Sprintf("%s %s: HTTP %d", a.Name, what, st.Code)
		if st.Reason != "" {
			msg += ": " + text.Truncate(st.Reason, MaxReasonBytes)
		}
		var e *handler.Error
		if st.Code == http.StatusTooManyRequests || st.Code >= 500 || slices.Contains(a.Transient, st.Code) {
			e = handler.Transient(err, "%s", msg)
		} else {
			e = handler.Failed(err, "%s", msg)
			e.Hint = a.Hints[st.Code]
		}
		e.Details = map[string]any{"status_code": st.Code}
		return e
	case errors.As(err, &ne):
		return handler.Transient(err, "%s %s: %v", a.Name, what, WithoutURL(err))
	}
	return handler.Failed(err, "%s %s: %v", a.Name, what, WithoutURL(err))
}

// WithoutURL drops the *url.Error wrapper of an HTTP client's error, which
// quotes the whole request URL, and returns what it wraps.
func WithoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
