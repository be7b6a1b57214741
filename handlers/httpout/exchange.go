package httpout

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"

	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/handlers/internal/remote"
)

// Body encodings of a result (its body_encoding).
const (
	EncodingJSON   = "json"
	EncodingText   = "text"
	EncodingBase64 = "base64"
	EncodingNone   = "none"
)

func (h *HTTP) buildRequest(ctx context.Context, method string, p *Payload) (*http.Request, error) {
	u, err := h.target(p)
	if err != nil {
		return nil, err
	}
	var body []byte
	contentType := ""
	hasBody := len(p.Body) > 0 && string(p.Body) != "null"
	switch {
	case len(p.Body) > 0 && p.BodyBase64 != "":
		return nil, handler.InvalidPayload("body_base64", "set body or body_base64, not both")
	case p.BodyBase64 != "":
		if base64.StdEncoding.DecodedLen(len(p.BodyBase64)) > int(h.cfg.maxRequestBytes)+2 {
			return nil, tooLarge("body_base64", h.cfg.maxRequestBytes)
		}
		body, err = base64.StdEncoding.DecodeString(p.BodyBase64)
		if err != nil {
			return nil, handler.InvalidPayload("body_base64", "not standard base64: %v", err)
		}
		contentType = "application/octet-stream"
	case hasBody && p.Body[0] == '"':
		var text string
		if err := json.Unmarshal(p.Body, &text); err != nil {
			return nil, handler.InvalidPayload("body", "%v", err)
		}
		body, contentType = []byte(text), "text/plain; charset=utf-8"
	case hasBody:
		body, contentType = p.Body, "application/json"
	}
	if int64(len(body)) > h.cfg.maxRequestBytes {
		field := "body"
		if p.BodyBase64 != "" {
			field = "body_base64"
		}
		return nil, tooLarge(field, h.cfg.maxRequestBytes)
	}
	if body != nil && method == http.MethodGet {
		return nil, handler.InvalidPayload("body", "a get request takes no body")
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	// The URL is already parsed and checked: hand it over as is rather than
	// formatting it for NewRequest to parse again. NewRequest allocates an
	// empty URL for ""; the target is copied into it.
	req, err := http.NewRequestWithContext(ctx, method, "", rd)
	if err != nil {
		return nil, handler.InvalidPayload("url", "%v", err)
	}
	*req.URL, req.Host = u, u.Host
	var names [8]string
	for _, name := range sortedKeys(p.Headers, names[:0]) {
		v := p.Headers[name]
		switch {
		case !httpguts.ValidHeaderFieldName(name):
			return nil, handler.InvalidPayload("headers."+name, "not a valid header name")
		case isForbiddenHeader(name):
			return nil, handler.InvalidPayload("headers."+name, "set by the HTTP client, not by the payload")
		case h.cfg.headers.Get(name) != "":
			return nil, handler.InvalidPayload("headers."+name, "set by the handler's config; the payload cannot override it")
		case !httpguts.ValidHeaderFieldValue(v):
			return nil, handler.InvalidPayload("headers."+name, "value has invalid characters (control characters or line breaks)")
		}
		req.Header.Set(name, v)
	}
	for name, vals := range h.cfg.headers {
		req.Header[name] = vals
	}
	if contentType != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req, nil
}

func tooLarge(field string, limit int64) error {
	e := handler.InvalidPayload(field, "request body larger than max_request_bytes (%d)", limit)
	e.Details = map[string]any{"max_request_bytes": limit}
	return e
}

// target resolves the payload's url or path, and appends the payload's query
// to the URL's own, encoded in sorted key order.
func (h *HTTP) target(p *Payload) (url.URL, error) {
	field, raw := "url", p.URL
	switch {
	case p.URL != "" && p.Path != "":
		return url.URL{}, handler.InvalidPayload("path", "set url or path, not both")
	case p.Path != "":
		field, raw = "path", p.Path
	case p.URL == "":
		return url.URL{}, handler.InvalidPayload("url", "required (absolute, or relative to the config's base_url)")
	}
	ref, err := parseRef(raw)
	if err != nil {
		return url.URL{}, handler.InvalidPayload(field, "not a URL: %v", err)
	}
	if ref.User != nil {
		return url.URL{}, handler.InvalidPayload(field, "credentials in the URL are not allowed; configure a header from a secret")
	}
	var u url.URL
	if abs := ref.IsAbs() || ref.Host != ""; abs {
		if field == "path" {
			return url.URL{}, handler.InvalidPayload(field, "must be relative to base_url")
		}
		if (ref.Scheme != "http" && ref.Scheme != "https") || ref.Host == "" {
			return url.URL{}, handler.InvalidPayload(field, "must be an http or https URL")
		}
		u, ref = ref, url.URL{}
	} else {
		if h.cfg.base == nil {
			return url.URL{}, handler.InvalidPayload(field, "is relative but the handler's config has no base_url")
		}
		if strings.Contains(ref.Path, "..") {
			for _, seg := range strings.Split(ref.Path, "/") {
				if seg == ".." {
					return url.URL{}, handler.InvalidPayload(field, "must stay under base_url: no .. segments")
				}
			}
		}
		u = *h.cfg.base
	}
	u.Fragment = ""
	if ref.Path == "" && ref.RawQuery == "" && len(p.Query) == 0 {
		return u, nil
	}
	// The joined path and the query are written into one buffer and become
	// one string, which both fields share.
	// A path escaped otherwise than by default (a%2Fb: a slash that is not
	// a separator) keeps its escaping, in the base_url and in the reference.
	// (url.URL escapes the path "*" as itself, not by default either.)
	var escaped string
	if ref.Path != "" && (ref.RawPath != "" || u.RawPath != "" || ref.Path == "*") {
		escaped = strings.TrimSuffix(u.EscapedPath(), "/") + "/" + strings.TrimPrefix(ref.EscapedPath(), "/")
	}
	var buf [256]byte
	b := buf[:0]
	if ref.Path != "" {
		b = append(b, strings.TrimSuffix(u.Path, "/")...)
		b = append(b, '/')
		b = append(b, strings.TrimPrefix(ref.Path, "/")...)
	} else {
		b = append(b, u.Path...)
	}
	split := len(b)
	b = append(b, u.RawQuery...)
	if ref.RawQuery != "" {
		if len(b) > split {
			b = append(b, '&')
		}
		b = append(b, ref.RawQuery...)
	}
	var names [8]string
	for _, name := range sortedKeys(p.Query, names[:0]) {
		if b, err = appendQuery(b, split, name, p.Query[name]); err != nil {
			return url.URL{}, handler.InvalidPayload("query."+name, "%v", err)
		}
	}
	s := string(b)
	u.Path, u.RawQuery = s[:split], s[split:]
	if ref.Path != "" {
		u.RawPath = keepEscaping(&u, escaped)
	}
	return u, nil
}

// keepEscaping returns the RawPath that makes u's path go out as escaped: ""
// when escaped is empty, the default escaping of u.Path, or not an encoding
// of u.Path at all (url.URL's own rule for RawPath).
func keepEscaping(u *url.URL, escaped string) string {
	if escaped == "" {
		return ""
	}
	v := *u
	v.RawPath = ""
	if escaped == v.EscapedPath() {
		return ""
	}
	v.RawPath = escaped
	if v.EscapedPath() != escaped {
		return ""
	}
	return escaped
}

// parseRef parses the payload's url or path. For the usual relative path (see
// isPlainPath) url.Parse is skipped: it would give that Path and nothing else.
func parseRef(raw string) (url.URL, error) {
	if isPlainPath(raw) {
		return url.URL{Path: raw}, nil
	}
	ref, err := url.Parse(raw)
	if err != nil {
		return url.URL{}, err
	}
	return *ref, nil
}

// isPlainPath reports whether url.Parse reads raw as a relative reference
// whose Path is raw itself, with nothing else set: no leading // (an
// authority), and only bytes a path's default escaping leaves as they are
// (letters, digits, -._~ and $&+,/;=@), so no scheme, query, fragment or
// escape, and no RawPath.
func isPlainPath(raw string) bool {
	if raw == "" || strings.HasPrefix(raw, "//") {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if !plainPathByte[raw[i]] {
			return false
		}
	}
	return true
}

// plainPathByte marks the bytes of a plain path (isPlainPath).
var plainPathByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
	}
	for _, c := range "-._~$&+,/;=@" {
		t[c] = true
	}
	return t
}()

// result is the handler's result: the response's status, its headers (names
// canonical, repeated values joined with ", "), and its body in the form its
// content allows, which bodyEncoding names: the JSON value itself (json) when
// the response is JSON, a string (text) when it is valid UTF-8 text, else the
// standard base64 of the bytes (base64); none, and no body, without one.
type result struct {
	statusCode   int
	headers      map[string]string
	body         any // json.RawMessage, string or []byte; nil for none
	bodyEncoding string
}

// value is the result as the runtime encodes it:
// {"status_code", "headers", "body" (absent without one), "body_encoding"}.
func (r result) value() handler.Object {
	o := make(handler.Object, 0, 4)
	o = append(o, handler.Member{Name: "status_code", Value: r.statusCode}, handler.Member{Name: "headers", Value: r.headers})
	if r.body != nil {
		o = append(o, handler.Member{Name: "body", Value: r.body})
	}
	return append(o, handler.Member{Name: "body_encoding", Value: r.bodyEncoding})
}

// readResponse reads the response into a result.
func (h *HTTP) readResponse(parent context.Context, x *exchangeContext, req *http.Request, resp *http.Response) (result, error) {
	max := h.cfg.maxResponseBytes
	if resp.ContentLength > max {
		return result{}, responseTooLarge(req, resp.ContentLength, max)
	}
	var body []byte
	var err error
	if n := resp.ContentLength; n >= 0 {
		// The declared length, read in one piece; net/http stops the body
		// there.
		body = make([]byte, n)
		_, err = io.ReadFull(resp.Body, body)
	} else {
		body, err = io.ReadAll(io.LimitReader(resp.Body, max+1))
	}
	if err != nil {
		return result{}, h.transportError(parent, x, req, err)
	}
	if int64(len(body)) > max {
		return result{}, responseTooLarge(req, -1, max)
	}
	return newResult(resp, body), nil
}

// newResult is the result for a response and its body.
func newResult(resp *http.Response, body []byte) result {
	res := result{statusCode: resp.StatusCode, headers: make(map[string]string, len(resp.Header)), bodyEncoding: EncodingNone}
	for name, vals := range resp.Header {
		res.headers[name] = strings.Join(vals, ", ")
	}
	if len(body) == 0 {
		return res
	}
	// The transport canonicalised the names, as Header.Get would.
	mt := ""
	if ct := resp.Header["Content-Type"]; len(ct) > 0 {
		mt = mediaType(ct[0])
	}
	switch {
	case (mt == "application/json" || strings.HasSuffix(mt, "+json")) && json.Valid(body):
		res.body, res.bodyEncoding = json.RawMessage(body), EncodingJSON
	case isText(mt) && utf8.Valid(body):
		res.body, res.bodyEncoding = string(body), EncodingText
	default:
		res.body, res.bodyEncoding = body, EncodingBase64 // []byte encodes as base64
	}
	return res
}

func responseTooLarge(req *http.Request, length, max int64) error {
	e := handler.Failed(nil, "response from %s is larger than max_response_bytes (%d)", where(req), max)
	e.Details = map[string]any{"max_response_bytes": max}
	if length > 0 {
		e.Details["content_length"] = length
	}
	e.Hint = "raise max_response_bytes in the handler's config, or ask for less data"
	return e
}

// mediaType is the lower-cased type/subtype of a Content-Type value.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	for i := 0; i < len(ct); i++ {
		if c := ct[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(ct)
		}
	}
	return ct
}

func isText(mt string) bool {
	switch {
	case mt == "", strings.HasPrefix(mt, "text/"), mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"), mt == "application/javascript",
		mt == "application/x-www-form-urlencoded", mt == "application/yaml", mt == "application/x-ndjson":
		return true
	}
	return false
}

// where names the request target without its query (which may hold keys).
func where(req *http.Request) string {
	return req.Method + " " + req.URL.Scheme + "://" + req.URL.Host + req.URL.Path
}

// errTimeout is the cause of the handler's own timeout. The error it ends an
// exchange with wraps it, not context.DeadlineExceeded, which the runtime would
// read as the invocation's own deadline (HANDLER-002).
var errTimeout = errors.New("handler timeout")

// transportError maps a failed exchange: the invocation's own deadline or
// cancellation goes back as is (the runtime answers it); the handler's timeout
// and network failures are transient; policy refusals, redirect limits and
// certificate errors are permanent. parent is the invocation's context, x the
// exchange bounded by the handler's timeout (nil when the invocation's
// deadline is the sooner).
func (h *HTTP) transportError(parent context.Context, x *exchangeContext, req *http.Request, err error) error {
	var ve *handler.ValidationError
	var rl *redirectLimitError
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ne net.Error
	switch {
	case errors.As(err, &ve):
		return &handler.Error{Kind: handler.KindFailed, Message: ve.Message, Hint: ve.RemediationHint, Err: err,
			Details: map[string]any{"rule_id": string(ve.RuleID), "url": where(req)}}
	case errors.As(err, &rl):
		e := handler.Failed(err, "%s: %v", where(req), rl)
		e.Details = map[string]any{"max_redirects": rl.limit}
		return e
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &hn):
		return handler.Failed(err, "%s: TLS certificate not accepted: %v", where(req), remote.WithoutURL(err))
	case parent.Err() != nil:
		return parent.Err()
	case x != nil && x.timedOut():
		e := handler.Transient(err, "%s: no complete response within %s (timeout)", where(req), h.cfg.timeout)
		e.Details = map[string]any{"timeout": h.cfg.timeout.String()}
		e.Hint = "retry, or raise timeout in the handler's config"
		return e
	case errors.As(err, &ne):
		return handler.Transient(err, "%s: %v", where(req), remote.WithoutURL(err))
	}
	return handler.Failed(err, "%s: %v", where(req), remote.WithoutURL(err))
}
