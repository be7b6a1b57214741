package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/onexhost/onex/handler"
)

// statusError stands for an API client's error carrying the HTTP status.
type statusError struct {
	code int
	body string
}

func (e statusError) Error() string {
	return fmt.Sprintf("unexpected response code: %d (%s)", e.code, e.body)
}

var testAPI = &API{
	Name: "svc",
	Status: func(err error) (Status, bool) {
		var se statusError
		if errors.As(err, &se) {
			return Status{Code: se.code, Reason: se.body}, true
		}
		return Status{}, false
	},
	Transient: []int{412},
	Hints:     map[int]string{403: "check the token", 404: "check the path"},
}

// secretURL is what the client's url.Error quotes: the query carries a token.
const secretURL = "http://127.0.0.1:8500/v1/kv/a?token=s3cret-never-shown"

func inURLError(err error) error { return &url.Error{Op: "Get", URL: secretURL, Err: err} }

func TestCallMapsErrors(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		retryable bool
		status    any // Details["status_code"], nil when absent
		hint      string
		message   string
	}{
		{"429 is transient", statusError{429, "slow down"}, true, 429, "", "svc get a: HTTP 429: slow down"},
		{"500 is transient", statusError{500, "boom"}, true, 500, "", "svc get a: HTTP 500: boom"},
		{"503 is transient", statusError{503, "sealed"}, true, 503, "", "svc get a: HTTP 503: sealed"},
		{"a status the API lists is transient", statusError{412, "standby behind"}, true, 412, "", "svc get a: HTTP 412: standby behind"},
		{"403 is permanent with its hint", statusError{403, "permission denied"}, false, 403, "check the token", "svc get a: HTTP 403: permission denied"},
		{"404 is permanent with its hint", statusError{404, ""}, false, 404, "check the path", "svc get a: HTTP 404"},
		{"400 is permanent", statusError{400, "bad request"}, false, 400, "", "svc get a: HTTP 400: bad request"},
		{"a status inside the client's url.Error", inURLError(statusError{403, "denied"}), false, 403, "check the token", "svc get a: HTTP 403: denied"},
		{"a long reason is cut", statusError{502, strings.Repeat("x", 1000)}, true, 502, "",
			"svc get a: HTTP 502: " + strings.Repeat("x", MaxReasonBytes) + "…"},
		{"a network failure is transient", inURLError(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}),
			true, nil, "", "svc get a: dial tcp: connection refused"},
		{"anything else is permanent", fmt.Errorf("decode the answer: %w", errors.New("unexpected end of JSON input")),
			false, nil, "", "svc get a: decode the answer: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := testAPI.Call(context.Background(), time.Minute, "get a", func(context.Context) error { return tt.err })
			var he *handler.Error
			if !errors.As(err, &he) {
				t.Fatalf("error %T %v, want a *handler.Error", err, err)
			}
			if he.Retryable != tt.retryable || he.Details["status_code"] != tt.status || he.Hint != tt.hint || he.Message != tt.message {
				t.Errorf("error %+v %v, want retryable %v, status %v, hint %q, message %q", he, he.Details, tt.retryable, tt.status, tt.hint, tt.message)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("error %v does not wrap the client's %v", err, tt.err)
			}
			for _, shown := range []string{he.Message, he.Error()} {
				if strings.Contains(shown, "s3cret") || strings.Contains(shown, "http://") {
					t.Errorf("the message quotes the request URL: %s", shown)
				}
			}
		})
	}
}

// TestCallEgressRefused: a refusal by the egress guard is permanent and keeps
// its rule id and remediation hint.
func TestCallEgressRefused(t *testing.T) {
	refused := &handler.ValidationError{RuleID: "SECURITY-310", Message: "outbound connection to 10.0.0.9 refused",
		RemediationHint: "add the host to security.allowed_domains"}
	err := testAPI.Call(context.Background(), time.Minute, "get a", func(context.Context) error { return inURLError(refused) })
	var he *handler.Error
	if !errors.As(err, &he) || he.Retryable || he.Kind != handler.KindFailed || he.Details["rule_id"] != "SECURITY-310" ||
		he.Hint != refused.RemediationHint || he.Message != refused.Message || !errors.Is(err, refused) {
		t.Fatalf("error %+v, want a permanent SECURITY-310 with its hint", err)
	}
}

// TestCallTimeout: the handler's own timeout is a transient error naming it;
// the invocation's deadline or cancellation goes back as is, for the runtime.
func TestCallTimeout(t *testing.T) {
	waitDone := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }

	err := testAPI.Call(context.Background(), time.Nanosecond, "get a", waitDone)
	var he *handler.Error
	if !errors.As(err, &he) || !he.Retryable || he.Details["timeout"] != "1ns" || he.Message != "svc get a: no answer within 1ns (timeout)" {
		t.Fatalf("handler timeout: %+v, want a transient timeout error", err)
	}

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancelExpired := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancelExpired()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"canceled", canceled, context.Canceled},
		{"deadline passed", expired, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := testAPI.Call(tc.ctx, time.Minute, "get a", waitDone)
			if err != tc.want {
				t.Fatalf("error %T %v, want the invocation's own %v", err, err, tc.want)
			}
		})
	}
}

func TestCallSucceeds(t *testing.T) {
	var bounded bool
	err := testAPI.Call(context.Background(), time.Minute, "get a", func(ctx context.Context) error {
		_, bounded = ctx.Deadline()
		return nil
	})
	if err != nil || !bounded {
		t.Fatalf("error %v, deadline set %v; want nil and a deadline", err, bounded)
	}
}

func TestWithoutURL(t *testing.T) {
	inner := errors.New("connection reset by peer")
	plain := errors.New("no url here")
	tests := []struct {
		name      string
		err, want error
	}{
		{"url.Error", inURLError(inner), inner},
		{"wrapped url.Error", fmt.Errorf("put: %w", inURLError(inner)), inner},
		{"no url.Error", plain, plain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := WithoutURL(tt.err); got != tt.want {
				t.Fatalf("WithoutURL(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
