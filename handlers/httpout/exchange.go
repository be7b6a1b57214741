package httpout

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"

	"github.com/onexhost/onex/handler"
)

// Request is the payload of every verb.
type Request struct {
	// URL is absolute, or relative to the config's base_url.
	URL string `json:"url,omitempty"`
	// Path is relative to base_url (an alternative spelling of a relative URL).
	Path    string            `json:"path,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	// Query values are strings, numbers or booleans, or lists of them for a
	// repeated parameter.
	Query map[string]json.RawMessage `json:"query,omitempty"`
	// Body is a JSON value: a string is sent as text, anything else as JSON.
	Body json.RawMessage `json:"body,omitempty"`
	// BodyBase64 is a binary body, standard base64.
	BodyBase64 string `json:"body_base64,omitempty"`
}

// queryValues accepts a scalar or an array of scalars.
func queryValues(b json.RawMessage) ([]string, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return nil, err
		}
		out := make([]string, len(items))
		for i, it := range items {
			s, err := scalarString(it)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = s
		}
		return out, nil
	}
	s, err := scalarString(b)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

func scalarString(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "", errors.New("empty value")
	}
	switch b[0] {
	case '"':
		var s string
		err := json.Unmarshal(b, &s)
		return s, err
	case '{', '[', 'n':
		return "", errors.New("a query value is a string, number or boolean")
	}
	if !json.Valid(b) {
		return "", errors.New("invalid value")
	}
	return string(b), nil
}

// Response is the result of every verb.
type Response struct {
	StatusCode int `json:"status_code"`
	// Headers hold each response header, repeated values joined with ", ".
	Headers map[string]string `json:"headers"`
	// Body is the JSON value (json), the text (text), or the base64 of the
	// bytes (base64); absent when the response has no body (none).
	Body         any    `json:"body,omitempty"`
	BodyEncoding string `json:"body_encoding"`
}

// Body encodings of a Response.
const (
	EncodingJSON   = "json"
	EncodingText   = "text"
	EncodingBase64 = "base64"
	EncodingNone   = "none"
)

func (h *HTTP) buildRequest(ctx context.Context, method string, p *Request) (*http.Request, error) {
	u, err := h.target(p)
	if err != nil {
		return nil, err
	}
	if len(p.Query) > 0 {
		// Appended to the URL's own query, encoded in sorted key order.
		var q strings.Builder
		q.WriteString(u.RawQuery)
		for _, k := range sortedKeys(p.Query) {
			vals, err := queryValues(p.Query[k])
			if err != nil {
				return nil, handler.InvalidPayload("query."+k, "%v", err)
			}
			for _, v := range vals {
				if q.Len() > 0 {
					q.WriteByte('&')
				}
				q.WriteString(url.QueryEscape(k))
				q.WriteByte('=')
				q.WriteString(url.QueryEscape(v))
			}
		}
		u.RawQuery = q.String()
	}
	var body []byte
	contentType := ""
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
	case len(p.Body) > 0 && !bytes.Equal(bytes.TrimSpace(p.Body), []byte("null")):
		raw := bytes.TrimSpace(p.Body)
		if raw[0] == '"' {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, handler.InvalidPayload("body", "%v", err)
			}
			body, contentType = []byte(s), "text/plain; charset=utf-8"
		} else {
			body, contentType = raw, "application/json"
		}
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
	// formatting it for NewRequest to parse again.
	req, err := http.NewRequestWithContext(ctx, method, "", rd)
	if err != nil {
		return nil, handler.InvalidPayload("url", "%v", err)
	}
	req.URL, req.Host = u, u.Host
	for _, name := range sortedKeys(p.Headers) {
		v := p.Headers[name]
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
func (h *HTTP) target(p *Request) (*url.URL, error) {
	field, raw := "url", p.URL
	switch {
	case p.URL != "" && p.Path != "":
		return nil, handler.InvalidPayload("path", "set url or path, not both")
	case p.Path != "":
		field, raw = "path", p.Path
	case p.URL == "":
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

func (h *HTTP) readResponse(parent, ctx context.Context, req *http.Request, resp *http.Response) (*Response, error) {
	max := h.cfg.maxResponseBytes
	if resp.ContentLength > max {
		return nil, responseTooLarge(req, resp.ContentLength, max)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, h.transportError(parent, ctx, req, err)
	}
	if int64(len(body)) > max {
		return nil, responseTooLarge(req, -1, max)
	}
	out := &Response{StatusCode: resp.StatusCode, Headers: make(map[string]string, len(resp.Header))}
	for k, v := range resp.Header {
		out.Headers[k] = strings.Join(v, ", ")
	}
	out.Body, out.BodyEncoding = renderBody(resp.Header.Get("Content-Type"), body)
	return out, nil
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

// renderBody chooses how the body travels in the JSON response.
func renderBody(contentType string, body []byte) (any, string) {
	if len(body) == 0 {
		return nil, EncodingNone
	}
	mt := mediaType(contentType)
	if (mt == "application/json" || strings.HasSuffix(mt, "+json")) && json.Valid(body) {
		return json.RawMessage(body), EncodingJSON
	}
	if isText(mt) && utf8.Valid(body) {
		return string(body), EncodingText
	}
	return base64.StdEncoding.EncodeToString(body), EncodingBase64
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
