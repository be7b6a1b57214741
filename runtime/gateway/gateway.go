// Package gateway is the HTTP gateway, a bridge owned by the runtime (SPEC
// §9): POST /v1/envelopes with one request envelope answers with its response
// envelope, synchronously, through the host's workers (the same pipeline as
// the bus and --stdin: deadlines, bounded concurrency, one response per
// request). Requests the gateway refuses before they are envelopes (wrong
// path, method or content type: ENVELOPE-007; a body over
// ingress.http.max_request_bytes: ENVELOPE-005) are answered with the same
// response envelope, and reported to the host's observer like any other.
//
// The HTTP status mirrors the outcome so that HTTP clients and proxies need
// not parse the body to tell success from failure: 200 success; 400 a
// malformed envelope; 404 an unknown operation; 413 too large; 403 a policy
// denial; 422 a payload the handler rejected; 504 a timeout; 503 unavailable,
// circuit open or any other retryable failure; 500 the rest.
package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/runtime"
)

// Path is the gateway's one endpoint.
const Path = "/v1/envelopes"

// Config is the ingress section of onex.yaml.
type Config struct {
	// HTTP is the HTTP gateway.
	HTTP HTTPConfig `yaml:"http"`
}

// HTTPConfig configures the HTTP gateway.
type HTTPConfig struct {
	// Listen is the gateway's address (host:port); empty (the default) turns
	// the gateway off.
	Listen string `yaml:"listen"`
	// MaxRequestBytes refuses larger request bodies (413, ENVELOPE-005)
	// without reading them; 0 means runtime.max_envelope_bytes.
	MaxRequestBytes int `yaml:"max_request_bytes"`
	// ReadTimeout bounds reading one request, headers and body.
	ReadTimeout time.Duration `yaml:"read_timeout"`
}

// DefaultReadTimeout is the default ingress.http.read_timeout.
const DefaultReadTimeout = 30 * time.Second

// DefaultConfig returns the defaults: the gateway off.
func DefaultConfig() Config { return Config{HTTP: HTTPConfig{ReadTimeout: DefaultReadTimeout}} }

// LoadConfig decodes the ingress section of f over the defaults and checks it.
func LoadConfig(f *config.File) (Config, []*diag.ValidationError) {
	c := DefaultConfig()
	if errs := f.Decode("ingress", &c); len(errs) > 0 {
		return c, errs
	}
	return c, c.Validate(f)
}

// Validate checks the values (RUNTIME-002 with the key); f may be nil.
func (c Config) Validate(f *config.File) []*diag.ValidationError {
	var errs []*diag.ValidationError
	if c.HTTP.Listen != "" {
		if err := CheckListen(c.HTTP.Listen); err != nil {
			errs = append(errs, f.Errorf("ingress.http.listen", "%v", err))
		}
	}
	if n := c.HTTP.MaxRequestBytes; n != 0 && (n < 256 || n > 1<<30) {
		errs = append(errs, f.Errorf("ingress.http.max_request_bytes", "must be between 256 bytes and 1 GiB (0: runtime.max_envelope_bytes), got %d", n))
	}
	if c.HTTP.ReadTimeout <= 0 {
		errs = append(errs, f.Errorf("ingress.http.read_timeout", "must be a positive duration such as 30s, got %s", c.HTTP.ReadTimeout))
	}
	return errs
}

// CheckListen checks a listen address: host:port, the host optional (all
// interfaces), the port a number from 0 to 65535.
func CheckListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. 127.0.0.1:8080 or :8080)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port)
	}
	return nil
}

// Submitter queues request envelopes for a host's workers: *runtime.Host.
type Submitter interface {
	Submit(ctx context.Context, raw []byte, reply func(resp []byte, out *runtime.Outcome)) error
}

// Options configure a Gateway.
type Options struct {
	// MaxRequestBytes is the largest body read; required.
	MaxRequestBytes int
	// Observer is told about the requests the gateway refuses itself (the
	// host reports the others); nil for none.
	Observer runtime.Observer
}

// Gateway is the HTTP handler of the gateway.
type Gateway struct {
	host Submitter
	opts Options
}

// New makes the gateway over host.
func New(host Submitter, o Options) *Gateway {
	return &Gateway{host: host, opts: o}
}

// reply is one response handed back by a worker.
type reply struct {
	body []byte
	out  runtime.Outcome
}

// ServeHTTP answers POST /v1/envelopes.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.URL.Path != Path {
		g.refuse(w, r, start, http.StatusNotFound, ruleid.EnvelopeGatewayRefused,
			fmt.Sprintf("no endpoint %s: the gateway serves POST %s", r.URL.Path, Path), map[string]any{"path": r.URL.Path})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		g.refuse(w, r, start, http.StatusMethodNotAllowed, ruleid.EnvelopeGatewayRefused,
			fmt.Sprintf("method %s is not allowed on %s: POST one envelope", r.Method, Path), map[string]any{"method": r.Method})
		return
	}
	if ct := r.Header.Get("Content-Type"); !isJSON(ct) {
		g.refuse(w, r, start, http.StatusUnsupportedMediaType, ruleid.EnvelopeGatewayRefused,
			fmt.Sprintf("content type %q is not JSON: send Content-Type: application/json", ct), map[string]any{"content_type": ct})
		return
	}
	limit := g.opts.MaxRequestBytes
	if r.ContentLength > int64(limit) {
		g.tooLarge(w, r, start, r.ContentLength)
		return
	}
	body, err := readBody(w, r, limit)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			g.tooLarge(w, r, start, -1)
			return
		}
		g.refuse(w, r, start, http.StatusBadRequest, ruleid.EnvelopeMalformed, fmt.Sprintf("the request body could not be read: %v", err), nil)
		return
	}
	done := make(chan reply, 1) // never blocks the worker, even when the client left
	err = g.host.Submit(r.Context(), body, func(resp []byte, out *runtime.Outcome) {
		rep := reply{body: append(make([]byte, 0, len(resp)+1), resp...), out: *out}
		rep.out.Response = nil
		done <- rep
	})
	if err != nil {
		if errors.Is(err, runtime.ErrNotAccepting) {
			g.fail(w, r, start, http.StatusServiceUnavailable, &envelope.Error{RuleID: string(ruleid.HandlerUnavailable), Retryable: true,
				Message: "the host is not accepting requests (starting or stopping)"})
		}
		return // otherwise the client went away while the workers were busy
	}
	select {
	case rep := <-done:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(Status(&rep.out))
		_, _ = w.Write(append(rep.body, '\n'))
	case <-r.Context().Done():
		// The client left; its request still runs and is answered to no one.
	}
}

// readBody reads at most limit bytes of the body (an *http.MaxBytesError
// beyond), in one allocation when the client sent Content-Length.
func readBody(w http.ResponseWriter, r *http.Request, limit int) ([]byte, error) {
	var b bytes.Buffer
	if r.ContentLength > 0 {
		b.Grow(int(r.ContentLength) + bytes.MinRead) // room to read EOF without growing
	}
	if _, err := b.ReadFrom(http.MaxBytesReader(w, r.Body, int64(limit))); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// isJSON accepts application/json and the application/*+json types, with any
// parameters (charset).
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

func (g *Gateway) tooLarge(w http.ResponseWriter, r *http.Request, start time.Time, size int64) {
	limit := g.opts.MaxRequestBytes
	msg := fmt.Sprintf("request body exceeds ingress.http.max_request_bytes (%d); it was not read", limit)
	details := map[string]any{"limit": limit}
	if size >= 0 {
		msg = fmt.Sprintf("request body of %d bytes exceeds ingress.http.max_request_bytes (%d); it was not read", size, limit)
		details["size"] = size
	}
	// The rest of the body is not read: close the connection rather than
	// drain it.
	w.Header().Set("Connection", "close")
	g.refuse(w, r, start, http.StatusRequestEntityTooLarge, ruleid.EnvelopeTooLarge, msg, details)
}

func (g *Gateway) refuse(w http.ResponseWriter, r *http.Request, start time.Time, status int, rule handler.RuleID, msg string, details map[string]any) {
	g.fail(w, r, start, status, &envelope.Error{RuleID: string(rule), Message: msg, Details: details})
}

// fail writes a response envelope for a request the gateway answers itself,
// and reports it to the observer.
func (g *Gateway) fail(w http.ResponseWriter, r *http.Request, start time.Time, status int, e *envelope.Error) {
	rule, _ := diag.Lookup(handler.RuleID(e.RuleID))
	e.ErrorType, e.RemediationHint = string(rule.ErrorType), rule.Remediation
	corr := uuid.New()
	resp := envelope.Response{CorrelationID: corr.String(), Error: e, DurationUS: time.Since(start).Microseconds()}
	id := uuid.New()
	body := envelope.AppendResponseID(make([]byte, 0, 512), id, &resp)
	if obs := g.opts.Observer; obs != nil {
		ctx := obs.Begin(r.Context(), start, nil)
		obs.Done(ctx, runtime.Result{Start: start, Duration: time.Since(start), RuleID: handler.RuleID(e.RuleID),
			Message: e.Message, Retryable: e.Retryable, EnvelopeID: id.String(), CorrelationID: resp.CorrelationID})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// Status is the HTTP status of a response with outcome out.
func Status(out *runtime.Outcome) int {
	if out.Success {
		return http.StatusOK
	}
	rule := out.RuleID
	switch {
	case rule == ruleid.EnvelopeUnknownOperation:
		return http.StatusNotFound
	case rule == ruleid.EnvelopeTooLarge:
		return http.StatusRequestEntityTooLarge
	case strings.HasPrefix(string(rule), "ENVELOPE-"):
		return http.StatusBadRequest
	case strings.HasPrefix(string(rule), "SECURITY-"):
		return http.StatusForbidden
	case rule == ruleid.HandlerPayloadRejected:
		return http.StatusUnprocessableEntity
	case rule == ruleid.HandlerTimeout:
		return http.StatusGatewayTimeout
	case rule == ruleid.HandlerUnavailable, rule == ruleid.HandlerCircuitOpen, out.Retryable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
