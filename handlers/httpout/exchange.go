package httpout

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"

	"github.com/onexhost/onex/envelope/rawjson"
	"github.com/onexhost/onex/handler"
)

// Body encodings of a result (its body_encoding).
const (
	EncodingJSON   = "json"
	EncodingText   = "text"
	EncodingBase64 = "base64"
	EncodingNone   = "none"
)

func (h *HTTP) buildRequest(ctx context.Context, method string, p *payload) (*http.Request, error) {
	u, err := h.target(p)
	if err != nil {
		return nil, err
	}
	if len(p.query) > 0 {
		// Appended to the URL's own query, encoded in sorted key order.
		var q strings.Builder
		q.WriteString(u.RawQuery)
		for _, kv := range p.query {
			if err := appendQuery(&q, kv.name, kv.value); err != nil {
				return nil, handler.InvalidPayload("query."+kv.name, "%v", err)
			}
		}
		u.RawQuery = q.String()
	}
	var body []byte
	contentType := ""
	hasBody := len(p.body) > 0 && p.body.Kind() != rawjson.Null
	switch {
	case len(p.body) > 0 && p.bodyBase64 != "":
		return nil, handler.InvalidPayload("body_base64", "set body or body_base64, not both")
	case p.bodyBase64 != "":
		if base64.StdEncoding.DecodedLen(len(p.bodyBase64)) > int(h.cfg.maxRequestBytes)+2 {
			return nil, tooLarge("body_base64", h.cfg.maxRequestBytes)
		}
		body, err = base64.StdEncoding.DecodeString(p.bodyBase64)
		if err != nil {
			return nil, handler.InvalidPayload("body_base64", "not standard base64: %v", err)
		}
		contentType = "application/octet-stream"
	case hasBody && p.body.Kind() == rawjson.String:
		body, contentType = []byte(p.body.Unquote()), "text/plain; charset=utf-8"
	case hasBody:
		body, contentType = p.body, "application/json"
	}
	if int64(len(body)) > h.cfg.maxRequestBytes {
		field := "body"
		if p.bodyBase64 != "" {
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
	// formatting it for NewRequest to parse again.
	req, err := http.NewRequestWithContext(ctx, method, "", rd)
	if err != nil {
		return nil, handler.InvalidPayload("url", "%v", err)
	}
	req.URL, req.Host = u, u.Host
	for _, kv := range p.headers {
		name, v := kv.name, kv.value
		field := "headers." + name
		switch {
		case !httpguts.ValidHeaderFieldName(name):
			return nil, handler.InvalidPayload(field, "not a valid header name")
		case isForbiddenHeader(name):
			return nil, handler.InvalidPayload(field, "set by the HTTP client, not by the payload")
		case h.cfg.headers.Get(name) != "":
			return nil, handler.InvalidPayload(field, "set by the handler's config; the payload cannot override it")
		case !httpguts.ValidHeaderFieldValue(v):
			return nil, handler.InvalidPayload(field, "value has invalid characters (control characters or line breaks)")
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

// target resolves the payload's url or path.
func (h *HTTP) target(p *payload) (*url.URL, error) {
	field, raw := "url", p.url
	switch {
	case p.url != "" && p.path != "":
		return nil, handler.InvalidPayload("path", "set url or path, not both")
	case p.path != "":
		field, raw = "path", p.path
	case p.url == "":
		return nil, handler.InvalidPayload("url", "required (absolute, or relative to the config's base_url)")
	}
	ref, err := url.Parse(raw)
	if err != nil {
		return nil, handler.InvalidPayload(field, "not a URL: %v", err)
	}
	if ref.User != nil {
		return nil, handler.InvalidPayload(field, "credentials in the URL are not allowed; configure a header from a secret")
	}
	if ref.IsAbs() || ref.Host != "" {
		if field == "path" {
			return nil, handler.InvalidPayload(field, "must be relative to base_url")
		}
		if (ref.Scheme != "http" && ref.Scheme != "https") || ref.Host == "" {
			return nil, handler.InvalidPayload(field, "must be an http or https URL")
		}
		ref.Fragment = ""
		return ref, nil
	}
	if h.cfg.base == nil {
		return nil, handler.InvalidPayload(field, "is relative but the handler's config has no base_url")
	}
	if strings.Contains(ref.Path, "..") {
		for _, seg := range strings.Split(ref.Path, "/") {
			if seg == ".." {
				return nil, handler.InvalidPayload(field, "must stay under base_url: no .. segments")
			}
		}
	}
	u := *h.cfg.base
	if ref.Path != "" {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/" + strings.TrimPrefix(ref.Path, "/")
		u.RawPath = ""
	}
	if ref.RawQuery != "" {
		if u.RawQuery != "" {
			u.RawQuery += "&" + ref.RawQuery
		} else {
			u.RawQuery = ref.RawQuery
		}
	}
	u.Fragment = ""
	return &u, nil
}

// readResponse reads the response and renders the result, as JSON:
// {"status_code", "headers" (names sorted, repeated values joined with ", "),
// "body" (absent when there is none), "body_encoding"}.
func (h *HTTP) readResponse(parent, ctx context.Context, req *http.Request, resp *http.Response) ([]byte, error) {
	max := h.cfg.maxResponseBytes
	if resp.ContentLength > max {
		return nil, responseTooLarge(req, resp.ContentLength, max)
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
		return nil, h.transportError(parent, ctx, req, err)
	}
	if int64(len(body)) > max {
		return nil, responseTooLarge(req, -1, max)
	}
	return renderResult(resp, body), nil
}

// renderResult renders the result in one buffer of the right size.
func renderResult(resp *http.Response, body []byte) []byte {
	size := 96 + len(body) + len(body)/3 // base64 is 4/3 of the bytes
	names := make([]string, 0, len(resp.Header))
	for k, vs := range resp.Header {
		names = append(names, k)
		size += len(k) + 6
		for _, v := range vs {
			size += len(v) + 2
		}
	}
	slices.Sort(names)
	dst := append(make([]byte, 0, size), `{"status_code":`...)
	dst = strconv.AppendInt(dst, int64(resp.StatusCode), 10)
	dst = append(dst, `,"headers":{`...)
	for i, k := range names {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(rawjson.AppendString(dst, k), ':')
		switch vs := resp.Header[k]; len(vs) {
		case 1:
			dst = rawjson.AppendString(dst, vs[0])
		default:
			dst = rawjson.AppendString(dst, strings.Join(vs, ", "))
		}
	}
	dst = append(dst, '}')
	if len(body) > 0 {
		dst = append(dst, `,"body":`...)
	}
	return appendBody(dst, resp.Header.Get("Content-Type"), body)
}

// appendBody appends the body in the form its content allows, and the
// body_encoding that says which: the JSON value itself (json) when the
// response is JSON, a string (text) when it is valid UTF-8 text, else the
// base64 of the bytes (base64); none without a body.
func appendBody(dst []byte, contentType string, body []byte) []byte {
	if len(body) == 0 {
		return append(dst, `,"body_encoding":"none"}`...)
	}
	mt := mediaType(contentType)
	if (mt == "application/json" || strings.HasSuffix(mt, "+json")) && rawjson.Valid(body) {
		dst = rawjson.AppendCompact(dst, body)
		return append(dst, `,"body_encoding":"json"}`...)
	}
	if isText(mt) && utf8.Valid(body) {
		dst = rawjson.AppendString(dst, body)
		return append(dst, `,"body_encoding":"text"}`...)
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, body)
	return append(dst, `","body_encoding":"base64"}`...)
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

// sortedKeys returns m's keys in order, for a deterministic request.
func sortedKeys[V any](m map[string]V) []string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
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

// errTimeout is the cause of the handler's own timeout.
var errTimeout = errors.New("handler timeout")

// transportError maps a failed exchange: the invocation's own deadline or
// cancellation goes back as is (the runtime answers it); the handler's timeout
// and network failures are transient; policy refusals, redirect limits and
// certificate errors are permanent. parent is the invocation's context, ctx
// the one bounded by the handler's timeout.
func (h *HTTP) transportError(parent, ctx context.Context, req *http.Request, err error) error {
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
		return handler.Failed(err, "%s: TLS certificate not accepted: %v", where(req), innermost(err))
	case parent.Err() != nil:
		return parent.Err()
	case errors.Is(context.Cause(ctx), errTimeout):
		e := handler.Transient(err, "%s: no complete response within %s (timeout)", where(req), h.cfg.timeout)
		e.Details = map[string]any{"timeout": h.cfg.timeout.String()}
		e.Hint = "retry, or raise timeout in the handler's config"
		return e
	case errors.As(err, &ne):
		return handler.Transient(err, "%s: %v", where(req), innermost(err))
	}
	return handler.Failed(err, "%s: %v", where(req), innermost(err))
}

// innermost is the deepest cause of err, without the URL the wrappers add.
func innermost(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err
}
