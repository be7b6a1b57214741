package httpout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echo answers with what it received.
func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	hdr := map[string]string{}
	for k := range r.Header {
		hdr[k] = r.Header.Get(k)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Add("X-Multi", "a")
	w.Header().Add("X-Multi", "b")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery, "headers": hdr, "body": string(body),
	})
}

// server starts a test server and returns it with the host:port to allow.
func server(t *testing.T, h http.Handler) (*httptest.Server, string) {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	u, _ := url.Parse(s.URL)
	return s, u.Host
}

// open makes an initialised handler with config, granted by the real policy
// with the allowlist.
func open(t *testing.T, config map[string]any, allowed ...string) *HTTP {
	t.Helper()
	raw, _ := json.Marshal(config)
	h, err := New(raw)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	caps := testkit.Capabilities(t, testkit.Grant{Name: "http", AllowedDomains: allowed})
	if err := h.(*HTTP).Init(context.Background(), handler.NewInitEnv(handler.InitParams{Config: raw, Capabilities: caps})); err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(func() { _ = h.(*HTTP).Close(context.Background()) })
	return h.(*HTTP)
}

// response is a result decoded for tests.
type response struct {
	StatusCode   int               `json:"status_code"`
	Headers      map[string]string `json:"headers"`
	Body         json.RawMessage   `json:"body"`
	BodyEncoding string            `json:"body_encoding"`
}

// text is the body of a text result.
func (r *response) text() string {
	var s string
	_ = json.Unmarshal(r.Body, &s)
	return s
}

func call(ctx context.Context, h *HTTP, verb string, payload any) (*response, error) {
	raw, _ := json.Marshal(payload)
	inv := handler.NewInvocation(handler.InvocationParams{HandlerName: "http", Operation: handler.Command("http." + verb), Payload: raw})
	out, err := h.Handle(ctx, inv)
	if err != nil {
		return nil, err
	}
	// Encoded as the runtime encodes a result, which is what json.Marshal
	// writes.
	res, err := envelope.AppendResult(nil, out.Result)
	if err != nil || bytes.ContainsAny(res, "\n\r") {
		return nil, fmt.Errorf("result %+v is not one line of JSON: %v", out.Result, err)
	}
	if m, err := json.Marshal(out.Result); err != nil || !bytes.Equal(m, res) {
		return nil, fmt.Errorf("the runtime writes %s, json.Marshal %s, %v", res, m, err)
	}
	var r response
	dec := json.NewDecoder(bytes.NewReader(res))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("result %s: %w", res, err)
	}
	return &r, nil
}

func handlerError(t *testing.T, err error) *handler.Error {
	t.Helper()
	var he *handler.Error
	if !errors.As(err, &he) {
		t.Fatalf("error %v (%T) is not a *handler.Error", err, err)
	}
	return he
}

func TestFactoryRegistered(t *testing.T) {
	f, ok := handler.Lookup(ImportPath)
	if !ok || !f.Uses.Egress {
		t.Fatalf("factory %s: registered %v, uses %+v", ImportPath, ok, f.Uses)
	}
	for _, v := range []string{"get", "post", "put", "patch", "delete"} {
		if !f.Implements(v) {
			t.Errorf("verb %s missing", v)
		}
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name, config, wantErr string
	}{
		{"empty", `{}`, ""},
		{"full", `{"base_url":"https://api.example.com/v1","timeout":"5s","headers":{"Authorization":"[redacted]"},"max_request_bytes":10,"max_response_bytes":20,"max_redirects":0}`, ""},
		{"unknown key", `{"base_uri":"https://x"}`, "base_uri: unknown field"},
		{"relative base", `{"base_url":"/v1"}`, "base_url: must be an absolute"},
		{"ftp base", `{"base_url":"ftp://x/"}`, "base_url: must be an absolute"},
		{"credentials in base", `{"base_url":"https://u:p@x/"}`, "base_url: must not carry credentials"},
		{"bad timeout", `{"timeout":"later"}`, "timeout:"},
		{"zero timeout", `{"timeout":"0s"}`, "timeout:"},
		{"bad header name", `{"headers":{"Bad Name":"x"}}`, "headers.Bad Name: not a valid header name"},
		{"forbidden header", `{"headers":{"host":"x"}}`, "headers.host: set by the HTTP client"},
		{"bad header value", `{"headers":{"X-Key":"a\nb"}}`, "headers.X-Key: value has invalid characters"},
		{"negative cap", `{"max_response_bytes":-1}`, "max_response_bytes:"},
		{"too many redirects", `{"max_redirects":6}`, "max_redirects: must be between 0 and 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(json.RawMessage(tt.config))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New(%s): %v", tt.config, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New(%s) error = %v, want %q", tt.config, err, tt.wantErr)
			}
		})
	}
}

func TestVerbs(t *testing.T) {
	_, host := server(t, http.HandlerFunc(echo))
	h := open(t, map[string]any{"base_url": "http://" + host + "/api/", "headers": map[string]string{"X-Api-Key": "k-123"}}, host)
	tests := []struct {
		verb, method string
		payload      map[string]any
		wantPath     string
		wantQuery    string
		wantBody     string
		wantType     string
	}{
		{"get", "GET", map[string]any{"path": "items/1", "query": map[string]any{"a": "1", "tag": []any{"x", 2, true}}}, "/api/items/1", "a=1&tag=x&tag=2&tag=true", "", ""},
		{"post", "POST", map[string]any{"url": "items?dry=1", "body": map[string]any{"n": 1.50}}, "/api/items", "dry=1", `{"n":1.5}`, "application/json"},
		{"put", "PUT", map[string]any{"path": "items/1", "body": "plain text"}, "/api/items/1", "", "plain text", "text/plain; charset=utf-8"},
		{"patch", "PATCH", map[string]any{"path": "items/1", "body_base64": "AAECAw==", "headers": map[string]string{"Content-Type": "application/x-thing"}}, "/api/items/1", "", "\x00\x01\x02\x03", "application/x-thing"},
		{"delete", "DELETE", map[string]any{"url": "http://" + host + "/elsewhere"}, "/elsewhere", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.verb, func(t *testing.T) {
			res, err := call(context.Background(), h, tt.verb, tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 200 || res.BodyEncoding != EncodingJSON || res.Headers["X-Multi"] != "a, b" {
				t.Fatalf("response = %+v", res)
			}
			var got struct {
				Method, Path, Query, Body string
				Headers                   map[string]string
			}
			if err := json.Unmarshal(res.Body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Method != tt.method || got.Path != tt.wantPath || got.Query != tt.wantQuery || got.Body != tt.wantBody {
				t.Errorf("server saw %s %s?%s body %q, want %s %s?%s body %q", got.Method, got.Path, got.Query, got.Body, tt.method, tt.wantPath, tt.wantQuery, tt.wantBody)
			}
			if got.Headers["Content-Type"] != tt.wantType || got.Headers["X-Api-Key"] != "k-123" {
				t.Errorf("server saw headers %v, want Content-Type %q and the config's X-Api-Key", got.Headers, tt.wantType)
			}
		})
	}
}

// TestPathEscapingKept: a path's own escaping reaches the server as written
// (an escaped slash is not a separator), in the base_url and in the
// payload's path. A path that is not a valid escaped form (here a raw space
// next to an escape) is escaped by default as a whole, url.URL's rule.
func TestPathEscapingKept(t *testing.T) {
	_, host := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.RequestURI)
	}))
	for _, tc := range []struct{ base, path, want string }{
		{"/kv/", "a%2Fb", "/kv/a%2Fb"},
		{"/kv/", "a%2Fb/c%20d", "/kv/a%2Fb/c%20d"},
		{"/kv/", "a%2Fb/c d", "/kv/a/b/c%20d"},
		{"/ns%2Fx/", "items/1", "/ns%2Fx/items/1"},
		{"/kv/", "a b/é", "/kv/a%20b/%C3%A9"},
		{"/kv/", "it's", "/kv/it's"},
	} {
		h := open(t, map[string]any{"base_url": "http://" + host + tc.base}, host)
		res, err := call(context.Background(), h, "get", map[string]any{"path": tc.path})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.text(); res.StatusCode != 200 || got != tc.want {
			t.Errorf("base %s, path %q: server saw %d %q, want %q", tc.base, tc.path, res.StatusCode, got, tc.want)
		}
	}
}

func TestResponseBodies(t *testing.T) {
	mux := http.NewServeMux()
	reply := func(status int, ct string, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			if ct != "" {
				w.Header().Set("Content-Type", ct)
			}
			w.WriteHeader(status)
			_, _ = w.Write(body)
		}
	}
	mux.Handle("/json", reply(200, "application/problem+json", []byte(`{"big":12345678901234567890}`)))
	mux.Handle("/badjson", reply(200, "application/json", []byte(`{oops`)))
	mux.Handle("/text", reply(200, "text/plain; charset=utf-8", []byte("héllo")))
	mux.Handle("/binary", reply(200, "image/png", []byte{0x89, 'P', 'N', 'G'}))
	mux.Handle("/empty", reply(204, "", nil))
	mux.Handle("/missing", reply(404, "text/plain", []byte("not here")))
	mux.Handle("/error", reply(503, "application/json", []byte(`{"error":"down"}`)))
	_, host := server(t, mux)
	h := open(t, map[string]any{"base_url": "http://" + host}, host)
	tests := []struct {
		path     string
		status   int
		encoding string
		body     string // JSON of Body
	}{
		{"/json", 200, EncodingJSON, `{"big":12345678901234567890}`},
		{"/badjson", 200, EncodingText, `"{oops"`},
		{"/text", 200, EncodingText, `"héllo"`},
		{"/binary", 200, EncodingBase64, `"iVBORw=="`},
		{"/empty", 204, EncodingNone, `null`},
		{"/missing", 404, EncodingText, `"not here"`},
		{"/error", 503, EncodingJSON, `{"error":"down"}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, err := call(context.Background(), h, "get", map[string]any{"path": tt.path})
			if err != nil {
				t.Fatalf("non-2xx and odd bodies are results, got error %v", err)
			}
			b := string(res.Body)
			if b == "" {
				b = "null"
			}
			if res.StatusCode != tt.status || res.BodyEncoding != tt.encoding || b != tt.body {
				t.Fatalf("got %d %s %s, want %d %s %s", res.StatusCode, res.BodyEncoding, b, tt.status, tt.encoding, tt.body)
			}
		})
	}
}

func TestInvalidPayload(t *testing.T) {
	_, host := server(t, http.HandlerFunc(echo))
	h := open(t, map[string]any{"base_url": "http://" + host, "headers": map[string]string{"Authorization": "Bearer s3cr3t-token"}, "max_request_bytes": 8}, host)
	noBase := open(t, map[string]any{}, host)
	tests := []struct {
		name    string
		h       *HTTP
		verb    string
		payload string
		field   string
	}{
		{"unknown field", h, "get", `{"path":"/","bdy":1}`, "bdy"},
		{"no url", h, "get", `{}`, "url"},
		{"url and path", h, "get", `{"url":"/a","path":"/b"}`, "path"},
		{"absolute path", h, "get", `{"path":"http://evil.example/"}`, "path"},
		{"escaping path", h, "get", `{"path":"a/../../admin"}`, "path"},
		{"relative without base", noBase, "get", `{"url":"/a"}`, "url"},
		{"ftp", noBase, "get", `{"url":"ftp://x/"}`, "url"},
		{"credentials", noBase, "get", `{"url":"http://u:p@` + host + `/"}`, "url"},
		{"body on get", h, "get", `{"path":"/","body":{"a":1}}`, "body"},
		{"body and base64", h, "post", `{"path":"/","body":"x","body_base64":"eA=="}`, "body_base64"},
		{"bad base64", h, "post", `{"path":"/","body_base64":"%%%"}`, "body_base64"},
		{"body too large", h, "post", `{"path":"/","body":"123456789"}`, "body"},
		{"override config header", h, "get", `{"path":"/","headers":{"authorization":"mine"}}`, "headers.authorization"},
		{"forbidden header", h, "get", `{"path":"/","headers":{"Host":"other"}}`, "headers.Host"},
		{"header injection", h, "get", `{"path":"/","headers":{"X-A":"a\r\nX-B: b"}}`, "headers.X-A"},
		{"object query value", h, "get", `{"path":"/","query":{"a":{"b":1}}}`, "query.a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := call(context.Background(), tt.h, tt.verb, json.RawMessage(tt.payload))
			he := handlerError(t, err)
			if he.Kind != handler.KindInvalidPayload || he.Field != tt.field {
				t.Fatalf("error = %+v, want an invalid payload naming %q", he, tt.field)
			}
			if strings.Contains(he.Error(), "s3cr3t-token") {
				t.Fatalf("error shows the configured secret header: %v", he)
			}
		})
	}
}

func TestResponseCap(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/declared", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "1000")
		_, _ = w.Write(bytes.Repeat([]byte("x"), 1000))
	})
	mux.HandleFunc("/streamed", func(w http.ResponseWriter, _ *http.Request) {
		for range 10 {
			_, _ = w.Write(bytes.Repeat([]byte("y"), 100))
			w.(http.Flusher).Flush() // chunked: no Content-Length
		}
	})
	mux.HandleFunc("/fits", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(bytes.Repeat([]byte("z"), 500)) })
	mux.HandleFunc("/streamed-fits", func(w http.ResponseWriter, _ *http.Request) {
		for range 5 {
			_, _ = w.Write(bytes.Repeat([]byte("s"), 100))
			w.(http.Flusher).Flush()
		}
	})
	_, host := server(t, mux)
	h := open(t, map[string]any{"base_url": "http://" + host, "max_response_bytes": 500}, host)
	tests := []struct {
		path          string
		wantErr       bool
		contentLength any
	}{
		{"/declared", true, int64(1000)}, // refused before reading
		{"/streamed", true, nil},         // refused while reading
		{"/fits", false, nil},
		{"/streamed-fits", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, err := call(context.Background(), h, "get", map[string]any{"path": tt.path})
			if !tt.wantErr {
				if err != nil || len(res.text()) != 500 {
					t.Fatalf("got %v, %v", res, err)
				}
				return
			}
			he := handlerError(t, err)
			if he.Retryable || he.Details["max_response_bytes"] != int64(500) || he.Details["content_length"] != tt.contentLength {
				t.Fatalf("error = %+v details %v", he, he.Details)
			}
		})
	}
}

// TestLargeBodies reads large bodies, declared and streamed, one after the
// other: each result holds its own body.
func TestLargeBodies(t *testing.T) {
	const size = 256<<10 + 1000
	body := func(c byte) []byte { return bytes.Repeat([]byte{c}, size) }
	mux := http.NewServeMux()
	mux.HandleFunc("/declared", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body('d'))
	})
	mux.HandleFunc("/streamed", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for i := 0; i < size; i += 10000 {
			_, _ = w.Write(body('s')[i:min(i+10000, size)])
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/small", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "small") })
	_, host := server(t, mux)
	h := open(t, map[string]any{"base_url": "http://" + host}, host)
	for _, tt := range []struct {
		path string
		want string
	}{{"/declared", string(body('d'))}, {"/small", "small"}, {"/streamed", string(body('s'))}, {"/small", "small"}} {
		res, err := call(context.Background(), h, "get", map[string]any{"path": tt.path})
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		if got := res.text(); got != tt.want {
			t.Fatalf("%s: %d bytes, want %d", tt.path, len(got), len(tt.want))
		}
	}
}

func TestRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/hop/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		_, _ = fmt.Sscan(r.PathValue("n"), &n)
		if n == 0 {
			_, _ = io.WriteString(w, "arrived")
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
	})
	_, host := server(t, mux)
	_, otherHost := server(t, http.HandlerFunc(echo))
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+otherHost+"/", http.StatusFound)
	})
	h := open(t, map[string]any{"base_url": "http://" + host}, host)
	noFollow := open(t, map[string]any{"base_url": "http://" + host, "max_redirects": 0}, host)

	res, err := call(context.Background(), h, "get", map[string]any{"path": "/hop/5"})
	if err != nil || res.text() != "arrived" {
		t.Fatalf("5 redirects: %+v, %v", res, err)
	}
	_, err = call(context.Background(), h, "get", map[string]any{"path": "/hop/6"})
	he := handlerError(t, err)
	if he.Details["max_redirects"] != 5 || he.Retryable {
		t.Fatalf("6 redirects: %+v", he)
	}
	res, err = call(context.Background(), noFollow, "get", map[string]any{"path": "/hop/1"})
	if err != nil || res.StatusCode != http.StatusFound || res.Headers["Location"] != "/hop/0" {
		t.Fatalf("max_redirects 0: %+v, %v", res, err)
	}
	// A redirect to a host outside the allowlist is refused (SECURITY-310).
	_, err = call(context.Background(), h, "get", map[string]any{"path": "/away"})
	assertEgressDenied(t, err, strings.Split(otherHost, ":")[0])
}

func assertEgressDenied(t *testing.T, err error, target string) {
	t.Helper()
	he := handlerError(t, err)
	var ve *handler.ValidationError
	if !errors.As(err, &ve) || ve.RuleID != "SECURITY-310" {
		t.Fatalf("error = %v, want SECURITY-310 in its chain", err)
	}
	if he.Details["rule_id"] != "SECURITY-310" || he.Retryable || he.Hint == "" || !strings.Contains(he.Message, target) {
		t.Fatalf("error = %+v, want a permanent SECURITY-310 naming %s with a hint", he, target)
	}
}

func TestEgressDenied(t *testing.T) {
	_, host := server(t, http.HandlerFunc(echo))
	_, port, _ := net.SplitHostPort(host)
	tests := []struct {
		name    string
		allowed []string
		url     string
	}{
		{"empty allowlist allows nothing", nil, "http://" + host + "/"},
		{"other host", []string{"api.example.com"}, "http://" + host + "/"},
		{"name not listed (only the IP is)", []string{"127.0.0.1"}, "http://localhost:" + port + "/"},
		{"other port", []string{"127.0.0.1:1"}, "http://" + host + "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := open(t, map[string]any{}, tt.allowed...)
			_, err := call(context.Background(), h, "get", map[string]any{"url": tt.url})
			u, _ := url.Parse(tt.url)
			assertEgressDenied(t, err, u.Hostname())
		})
	}
}

func TestTimeoutsAndConnectErrors(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	slowHost := strings.TrimPrefix(slow.URL, "http://")

	// The handler's timeout is a transient error.
	h := open(t, map[string]any{"timeout": "20ms"}, slowHost)
	_, err := call(context.Background(), h, "get", map[string]any{"url": slow.URL})
	he := handlerError(t, err)
	if !he.Retryable || he.Details["timeout"] != "20ms" {
		t.Fatalf("timeout error = %+v", he)
	}
	// Not context.DeadlineExceeded, which the runtime reads as the
	// invocation's own deadline.
	if errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errTimeout) {
		t.Fatalf("timeout error %v wraps DeadlineExceeded %v, errTimeout %v", err, errors.Is(err, context.DeadlineExceeded), errors.Is(err, errTimeout))
	}

	// An invocation deadline sooner than the handler's timeout bounds the
	// exchange by itself, and goes back unchanged for the runtime to answer.
	h = open(t, map[string]any{"timeout": "1h"}, slowHost)
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer dcancel()
	if _, err := call(dctx, h, "get", map[string]any{"url": slow.URL}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("invocation deadline: %v, want context.DeadlineExceeded", err)
	}

	// The invocation's own cancellation goes back unchanged.
	h = open(t, map[string]any{}, slowHost)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	reached := make(chan struct{})
	probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(reached)
		<-r.Context().Done()
	}))
	defer probe.Close()
	probeHost := strings.TrimPrefix(probe.URL, "http://")
	h = open(t, map[string]any{}, probeHost)
	go func() {
		_, err := call(ctx, h, "get", map[string]any{"url": probe.URL})
		done <- err
	}()
	<-reached
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled invocation: %v, want context.Canceled", err)
	}

	// Nothing listening: transient.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	h = open(t, map[string]any{}, closed)
	_, err = call(context.Background(), h, "get", map[string]any{"url": "http://" + closed + "/"})
	he = handlerError(t, err)
	if !he.Retryable || !strings.Contains(he.Message, "refused") {
		t.Fatalf("connect error = %+v", he)
	}
}

func TestQueryNotInErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	h := open(t, map[string]any{}, addr)
	_, err = call(context.Background(), h, "get", map[string]any{"url": "http://" + addr + "/x?api_key=k-999"})
	if err == nil || strings.Contains(err.Error(), "k-999") {
		t.Fatalf("error %v shows the query string", err)
	}
}

func TestInitWithoutEgress(t *testing.T) {
	h, _ := New(json.RawMessage(`{}`))
	err := h.(*HTTP).Init(context.Background(), handler.NewInitEnv(handler.InitParams{}))
	if err == nil || !strings.Contains(err.Error(), "no egress capability") {
		t.Fatalf("Init error = %v", err)
	}
	h, _ = New(json.RawMessage(`{"headers":{"Authorization":"[redacted]"}}`))
	caps := testkit.Capabilities(t, testkit.Grant{AllowedDomains: []string{"example.com"}})
	err = h.(*HTTP).Init(context.Background(), handler.NewInitEnv(handler.InitParams{Capabilities: caps}))
	if err == nil || !strings.Contains(err.Error(), "headers.Authorization: the secret reference was not resolved") {
		t.Fatalf("Init error = %v", err)
	}
}

// BenchmarkHandlerVsRaw measures the handler, its result encoded as the
// runtime encodes it, against a raw net/http client doing the same request on
// the same local server through the same guarded client. The two alternate inside each iteration, so load from elsewhere on
// the machine hits both alike; it reports handler-ns/op, raw-ns/op and their
// ratio (the target is ≤ 1.10).
func BenchmarkHandlerVsRaw(b *testing.B) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":1,"name":"apple","tags":["a","b"]}`)
	}))
	defer s.Close()
	host := strings.TrimPrefix(s.URL, "http://")
	raw, _ := json.Marshal(map[string]any{"base_url": s.URL})
	hh, _ := New(raw)
	h := hh.(*HTTP)
	caps := testkit.Capabilities(b, testkit.Grant{AllowedDomains: []string{host}})
	if err := h.Init(context.Background(), handler.NewInitEnv(handler.InitParams{Config: raw, Capabilities: caps})); err != nil {
		b.Fatal(err)
	}
	defer h.Close(context.Background())
	inv := handler.NewInvocation(handler.InvocationParams{Operation: "http.get", Payload: json.RawMessage(`{"path":"/items/1","query":{"v":"1"}}`)})
	client := caps.HTTPClient
	var res []byte
	viaHandler := func() {
		out, err := h.Handle(context.Background(), inv)
		if err != nil {
			b.Fatal(err)
		}
		// The runtime encodes the result.
		if res, err = envelope.AppendResult(res[:0], out.Result); err != nil || !bytes.HasPrefix(res, []byte(`{"status_code":200,`)) {
			b.Fatalf("result %s, %v", res, err)
		}
	}
	direct := func() {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, s.URL+"/items/1?v=1", nil)
		if err != nil {
			b.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || len(body) == 0 {
			b.Fatal(err)
		}
	}
	testkit.Compare(b, viaHandler, direct)
}
