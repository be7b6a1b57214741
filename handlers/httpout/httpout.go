// Package httpout is the built-in outbound HTTP handler (import path
// github.com/onexhost/onex/handlers/httpout).
//
// Verbs get, post, put, patch and delete take {url | path, headers, query,
// body | body_base64} and answer {status_code, headers, body, body_encoding}.
// A non-2xx status is a result, not an error. Requests go through the runtime's
// egress-guarded HTTP client only: every connection and every redirect is
// checked against the descriptor's allowed_domains (SECURITY-310).
//
// Config:
//
//	base_url: https://api.partner.example/v1   # optional; relative url/path join it
//	timeout: 30s                               # whole exchange, body included
//	headers: {Authorization: {secret: "partner-api/bearer"}}  # sent on every request
//	max_request_bytes: 10485760                # 10 MiB
//	max_response_bytes: 52428800               # 50 MiB, checked before and while reading
//	max_redirects: 5                           # 0..5; 0 returns the 3xx as the result
//
// Bodies: a JSON string body is sent as text (text/plain; charset=utf-8), any
// other JSON value as JSON (application/json), body_base64 as bytes
// (application/octet-stream); a Content-Type header overrides the default.
// Response bodies come back as JSON (body_encoding json) when the response is
// JSON, as a string (text) when it is valid UTF-8 text, else base64 (base64).
package httpout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/handlers/internal/grant"
)

// ImportPath is the registry key of this handler's factory.
const ImportPath = "github.com/onexhost/onex/handlers/httpout"

// Verbs are the verbs the handler implements, one per method.
var Verbs = []string{"get", "post", "put", "patch", "delete"}

// methodOf is the HTTP method of a verb, "" for none.
func methodOf(verb string) string {
	switch verb {
	case "get":
		return http.MethodGet
	case "post":
		return http.MethodPost
	case "put":
		return http.MethodPut
	case "patch":
		return http.MethodPatch
	case "delete":
		return http.MethodDelete
	}
	return ""
}

func init() {
	handler.Register(handler.Factory{
		ImportPath: ImportPath,
		Verbs:      Verbs,
		New:        New,
		Uses:       handler.Uses{Egress: true, Secrets: true},
		Summary:    "outbound HTTP requests on the egress-guarded client",
	})
}

// Defaults and bounds of the config.
const (
	DefaultTimeout          = 30 * time.Second
	DefaultMaxRequestBytes  = 10 << 20
	DefaultMaxResponseBytes = 50 << 20
	DefaultMaxRedirects     = 5
	MaxRedirectsLimit       = 5
)

// Config is the handler's config.
type Config struct {
	BaseURL string `json:"base_url,omitempty"`
	// Timeout bounds one exchange, reading the body included (a Go duration).
	Timeout string `json:"timeout,omitempty"`
	// Headers are sent on every request; write credentials as secret
	// references {secret: "scope/key"}. A payload cannot override them.
	Headers          map[string]string `json:"headers,omitempty"`
	MaxRequestBytes  int64             `json:"max_request_bytes,omitempty"`
	MaxResponseBytes int64             `json:"max_response_bytes,omitempty"`
	MaxRedirects     *int              `json:"max_redirects,omitempty"`
}

type settings struct {
	base             *url.URL
	timeout          time.Duration
	headers          http.Header
	maxRequestBytes  int64
	maxResponseBytes int64
	maxRedirects     int
}

var forbiddenHeaders = []string{"Host", "Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "Te", "Trailer", "Keep-Alive", "Proxy-Connection"}

func parseConfig(raw json.RawMessage) (settings, error) {
	var c Config
	if err := handler.DecodeStrict(raw, &c); err != nil {
		var he *handler.Error
		if errors.As(err, &he) && he.Field != "" {
			return settings{}, fmt.Errorf("%s: %s", he.Field, he.Message)
		}
		return settings{}, err
	}
	s := settings{
		timeout:          DefaultTimeout,
		headers:          http.Header{},
		maxRequestBytes:  DefaultMaxRequestBytes,
		maxResponseBytes: DefaultMaxResponseBytes,
		maxRedirects:     DefaultMaxRedirects,
	}
	var errs []error
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			errs = append(errs, errors.New("base_url: must be an absolute http or https URL"))
		case u.User != nil:
			errs = append(errs, errors.New("base_url: must not carry credentials; send them in a header from a secret"))
		case u.Fragment != "":
			errs = append(errs, errors.New("base_url: must not have a fragment"))
		default:
			s.base = u
		}
	}
	if c.Timeout != "" {
		d, err := time.ParseDuration(c.Timeout)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("timeout: %q is not a positive duration such as 30s", c.Timeout))
		} else {
			s.timeout = d
		}
	}
	for _, name := range slices.Sorted(mapKeys(c.Headers)) {
		v := c.Headers[name]
		switch {
		case !httpguts.ValidHeaderFieldName(name):
			errs = append(errs, fmt.Errorf("headers.%s: not a valid header name", name))
		case isForbiddenHeader(name):
			errs = append(errs, fmt.Errorf("headers.%s: set by the HTTP client, not configurable", name))
		case !httpguts.ValidHeaderFieldValue(v):
			// The value may be a secret: never quote it.
			errs = append(errs, fmt.Errorf("headers.%s: value has invalid characters", name))
		default:
			s.headers.Set(name, v)
		}
	}
	if c.MaxRequestBytes < 0 {
		errs = append(errs, errors.New("max_request_bytes: must be positive"))
	} else if c.MaxRequestBytes > 0 {
		s.maxRequestBytes = c.MaxRequestBytes
	}
	if c.MaxResponseBytes < 0 {
		errs = append(errs, errors.New("max_response_bytes: must be positive"))
	} else if c.MaxResponseBytes > 0 {
		s.maxResponseBytes = c.MaxResponseBytes
	}
	if c.MaxRedirects != nil {
		if *c.MaxRedirects < 0 || *c.MaxRedirects > MaxRedirectsLimit {
			errs = append(errs, fmt.Errorf("max_redirects: must be between 0 and %d, got %d", MaxRedirectsLimit, *c.MaxRedirects))
		} else {
			s.maxRedirects = *c.MaxRedirects
		}
	}
	return s, errors.Join(errs...)
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func isForbiddenHeader(name string) bool {
	return slices.Contains(forbiddenHeaders, http.CanonicalHeaderKey(name))
}

// HTTP is the outbound HTTP handler.
type HTTP struct {
	cfg    settings
	client *http.Client
	// deadlines enforces cfg.timeout on the exchanges the invocation's own
	// deadline does not already bound.
	deadlines *deadlines
}

var (
	_ handler.Handler     = (*HTTP)(nil)
	_ handler.Initializer = (*HTTP)(nil)
	_ handler.Closer      = (*HTTP)(nil)
)

// New validates config and returns a handler; it does no I/O.
func New(config json.RawMessage) (handler.Handler, error) {
	cfg, err := parseConfig(config)
	if err != nil {
		return nil, err
	}
	return &HTTP{cfg: cfg, deadlines: newDeadlines(cfg.timeout)}, nil
}

// Init takes the resolved config (header secrets filled in) and the granted
// HTTP client.
func (h *HTTP) Init(_ context.Context, env *handler.InitEnv) error {
	cfg, err := grant.Config(env, h.cfg, parseConfig)
	if err != nil {
		return err
	}
	h.cfg = cfg
	h.deadlines = newDeadlines(cfg.timeout)
	for name, vals := range h.cfg.headers {
		if slices.Contains(vals, handler.Redacted) {
			return fmt.Errorf("headers.%s: the secret reference was not resolved", name)
		}
	}
	c, err := grant.HTTPClient(env, "target")
	if err != nil {
		return err
	}
	h.client = h.limitRedirects(c)
	return nil
}

// limitRedirects returns a copy of the granted client (same guarded transport)
// that also stops after max_redirects; the granted client's own redirect
// check, which re-applies the allowlist, still runs first.
func (h *HTTP) limitRedirects(granted *http.Client) *http.Client {
	c := *granted
	check := granted.CheckRedirect
	limit := h.cfg.maxRedirects
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if limit == 0 {
			return http.ErrUseLastResponse
		}
		if len(via) > limit {
			return &redirectLimitError{limit: limit}
		}
		if check != nil {
			return check(req, via)
		}
		return nil
	}
	return &c
}

type redirectLimitError struct{ limit int }

func (e *redirectLimitError) Error() string {
	return fmt.Sprintf("stopped after %d redirects (max_redirects)", e.limit)
}

// Close releases idle connections of the handler's client and stops its
// timeout timer.
func (h *HTTP) Close(context.Context) error {
	h.deadlines.stop()
	if h.client != nil {
		h.client.CloseIdleConnections()
	}
	return nil
}

// Handle sends one request.
func (h *HTTP) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	method := methodOf(inv.Verb())
	if method == "" {
		return handler.Output{}, handler.Failed(nil, "verb %q is not implemented by the HTTP handler", inv.Verb())
	}
	client := h.client
	if client == nil {
		granted := inv.HTTPClient()
		if granted == nil {
			return handler.Output{}, handler.Failed(nil, "no egress capability granted: list the hosts in security.allowed_domains")
		}
		client = h.limitRedirects(granted)
	}
	var p Payload
	if err := inv.Decode(&p); err != nil {
		return handler.Output{}, err
	}
	// The handler's timeout bounds the exchange, unless the invocation's
	// deadline comes first (x stays nil).
	tctx := ctx
	var x *exchangeContext
	if d, ok := ctx.Deadline(); !ok || time.Until(d) > h.cfg.timeout {
		x = h.deadlines.bound(ctx)
		defer x.end()
		tctx = x
	}
	req, err := h.buildRequest(tctx, method, &p)
	if err != nil {
		return handler.Output{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return handler.Output{}, h.transportError(ctx, x, req, err)
	}
	defer resp.Body.Close()
	res, err := h.readResponse(ctx, x, req, resp)
	if err != nil {
		return handler.Output{}, err
	}
	return handler.Output{Result: res.value()}, nil
}
