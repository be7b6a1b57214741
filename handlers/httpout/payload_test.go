package httpout

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/jsonref"
)

// decode reads a payload as Handle does (Invocation.Decode).
func decode(in string) (Payload, error) {
	var p Payload
	err := handler.NewInvocation(handler.InvocationParams{Payload: json.RawMessage(in)}).Decode(&p)
	return p, err
}

func TestDecodePayload(t *testing.T) {
	tests := []struct {
		name      string
		payload   string
		want      *Payload
		wantField string
		wantMsg   string
	}{
		{"full", `{"url":"http://x/a","headers":{"B":"2","A":"1"},"query":{"q":[1,"x"],"a":true,"n":-1.5E+3},"body":{"k": [1]}}`,
			&Payload{URL: "http://x/a", Headers: map[string]string{"A": "1", "B": "2"}, Query: map[string]any{"q": []any{json.Number("1"), "x"}, "a": true, "n": json.Number("-1.5E+3")}, Body: json.RawMessage(`{"k": [1]}`)}, "", ""},
		{"keys fold", `{"PATH":"p","Body_Base64":"eA=="}`, &Payload{Path: "p", BodyBase64: "eA=="}, "", ""},
		{"null body is kept", `{"path":"p","body":null}`, &Payload{Path: "p", Body: json.RawMessage(`null`)}, "", ""},
		{"string body as written", `{"path":"p","body":"caf\u00e9"}`, &Payload{Path: "p", Body: json.RawMessage(`"caf\u00e9"`)}, "", ""},
		{"last duplicate header wins", `{"headers":{"A":"1","A":"2"}}`, &Payload{Headers: map[string]string{"A": "2"}}, "", ""},
		{"repeated headers merge", `{"headers":{"A":"1"},"headers":{"B":"2"}}`, &Payload{Headers: map[string]string{"A": "1", "B": "2"}}, "", ""},
		{"null header is empty", `{"headers":{"A":null}}`, &Payload{Headers: map[string]string{"A": ""}}, "", ""},
		{"empty", ``, &Payload{}, "", ""},
		{"unknown field", `{"path":"/","bdy":1}`, nil, "bdy", "unknown field"},
		{"header not a string", `{"headers":{"X":1}}`, nil, "headers.X", "expected string, got JSON number"},
		{"headers not an object", `{"headers":[]}`, nil, "headers", "expected object, got JSON array"},
		{"query not an object", `{"query":"a=1"}`, nil, "query", "expected object, got JSON string"},
		{"url not a string", `{"url":true}`, nil, "url", "expected string, got JSON bool"},
		{"body_base64 not a string", `{"body_base64":[1]}`, nil, "body_base64", "expected string, got JSON array"},
		{"not an object", `"x"`, nil, "", "expected object, got JSON string"},
		{"syntax error located", `{"url":}`, nil, "", "invalid JSON at offset 7"},
		{"trailing data", `{"url":"http://x/"} {}`, nil, "", "unexpected data after the JSON value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := decode(tt.payload)
			if tt.want != nil {
				if err != nil || !reflect.DeepEqual(p, *tt.want) {
					t.Fatalf("decode(%s) = %#v, %v; want %#v", tt.payload, p, err, *tt.want)
				}
				return
			}
			var he *handler.Error
			if !errors.As(err, &he) || he.Kind != handler.KindInvalidPayload || he.Field != tt.wantField || !strings.Contains(he.Message, tt.wantMsg) {
				t.Fatalf("decode(%s) error = %#v, want an invalid payload naming %q with %q", tt.payload, err, tt.wantField, tt.wantMsg)
			}
		})
	}
}

// FuzzDecodePayload reads payloads as Handle does and builds their request:
// a payload is read as encoding/json's strict Decoder reads it (the same
// payloads accepted, with the same values), and what is accepted either
// becomes a request under base_url carrying every query parameter, or is an
// invalid payload naming a field.
func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{`{"path":"/items/1","query":{"v":"1"}}`, `{"url":"http://h/","headers":{"a":"1","A":null},"body":"x"}`,
		`{"headers":{"a":"1"},"headers":{"b":"2"}}`, `{"headers":null}`, `{"query":{"a":null,"a":[1]}}`, `{"Url":1}`, `[]`, `null`, ` `,
		`{"body_base64":"eA==","body":{"a":[1,2.5e3]}}`, `{"x":null}`, `{"path":"a","body_base64":"eA=="}`,
		` { "path" : "a" , "query" : { "n" : -1.5E+3 , "t" : true , "f" : false } , "headers" : { } } `,
		`{"query":{"a":1,"a":"2"},"query":{"b":01}}`, `{"query":{"a":1,}}`, `{"query":{"a":tru}}`, `{"url":"a\u0041"}`,
		`{"path":"a/../b"}`, `{"path":"//evil.example/x"}`, `{"path":"a","query":{"k":[["x"]]}}`, `{"path":"p","headers":{"Host":"x"}}`} {
		f.Add(s)
	}
	base, _ := url.Parse("http://api.example/v1")
	h := &HTTP{cfg: settings{base: base, headers: http.Header{}, maxRequestBytes: 1 << 10}}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := decode(in)
		var want Payload
		wantErr := jsonref.DecodeStrict([]byte(in), &want)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: Decode error %v, encoding/json error %v", in, err, wantErr)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(p, want) {
			t.Fatalf("%q: Decode %#v, encoding/json %#v", in, p, want)
		}
		req, err := h.buildRequest(t.Context(), http.MethodPost, &p)
		if err != nil {
			var he *handler.Error
			if !errors.As(err, &he) || he.Kind != handler.KindInvalidPayload || he.Field == "" {
				t.Fatalf("%q: %#v is not an invalid payload naming a field", in, err)
			}
			return
		}
		// A path resolves under base_url, or to base_url itself when it holds
		// only a query or a fragment ("#x", "?a=1").
		if p.Path != "" && (req.URL.Host != base.Host || req.URL.Path != base.Path && !strings.HasPrefix(req.URL.Path, base.Path+"/")) {
			t.Fatalf("%q: %s is not under %s", in, req.URL, base)
		}
		q := req.URL.Query()
		for name := range p.Query {
			if !q.Has(name) {
				t.Fatalf("%q: query %q missing from %s", in, name, req.URL.RawQuery)
			}
		}
	})
}

// TestQueryEncoding: scalars and lists of scalars, numbers as written, names
// in order.
func TestQueryEncoding(t *testing.T) {
	base, _ := url.Parse("http://api.example/v1?k=1")
	h := &HTTP{cfg: settings{base: base}}
	for _, tc := range []struct{ payload, query, field, msg string }{
		{`{"path":"a","query":{"v":"1"}}`, "k=1&v=1", "", ""},
		{`{"path":"a","query":{"b":[1,"x y",true],"a":"&="}}`, "k=1&a=%26%3D&b=1&b=x+y&b=true", "", ""},
		{`{"path":"a","query":{"n":-1.5E+3,"z":0.10,"f":false}}`, "k=1&f=false&n=-1.5E%2B3&z=0.10", "", ""},
		{`{"path":"a","query":{"é":"ü"}}`, "k=1&%C3%A9=%C3%BC", "", ""},
		{`{"path":"a","query":{"n":null}}`, "", "query.n", "a query value is a string, number or boolean"},
		{`{"path":"a","query":{"o":{}}}`, "", "query.o", "a query value is a string, number or boolean"},
		{`{"path":"a","query":{"l":["x",["y"]]}}`, "", "query.l", "[1]: a query value"},
	} {
		p, err := decode(tc.payload)
		if err != nil {
			t.Fatalf("%s: %v", tc.payload, err)
		}
		u, err := h.target(&p)
		if tc.field == "" {
			if err != nil || u.RawQuery != tc.query {
				t.Errorf("%s: query %q, %v; want %q", tc.payload, u.RawQuery, err, tc.query)
			}
			continue
		}
		var he *handler.Error
		if !errors.As(err, &he) || he.Field != tc.field || !strings.Contains(he.Message, tc.msg) {
			t.Errorf("%s: error %v; want %s naming %q", tc.payload, err, tc.field, tc.msg)
		}
	}
}

// TestResultBody checks the form of the body and the headers of a result for
// every body encoding and awkward headers, and that the runtime writes the
// result on one line as the response carries it.
func TestResultBody(t *testing.T) {
	tests := []struct {
		contentType string
		body        string
		encoding    string
		want        any
	}{
		{"application/json", `{"id":1, "html":"<b>&amp;</b>", "big": 12345678901234567890, "ls":"` + "\u2028" + `"}`, EncodingJSON, nil},
		{"application/problem+json; charset=utf-8", "[1,\n 2]", EncodingJSON, nil},
		{"Application/JSON", `true`, EncodingJSON, nil},
		{"application/json", `{oops`, EncodingText, `{oops`},
		{"text/plain; charset=utf-8", "héllo <world> \"quoted\"\n\x01", EncodingText, "héllo <world> \"quoted\"\n\x01"},
		{"", "no type", EncodingText, "no type"},
		{"image/png", "\x89PNG\x00\xff", EncodingBase64, "\x89PNG\x00\xff"},
		{"text/plain", "bad utf-8 \xff", EncodingBase64, "bad utf-8 \xff"},
		{"application/json", "", EncodingNone, nil},
	}
	for _, tt := range tests {
		t.Run(tt.contentType+" "+tt.body, func(t *testing.T) {
			hdr := http.Header{"X-Multi": {"a", "b"}, "X-Html": {"<&>"}, "Date": {"today"}, "X-Ünïcode": {"ü"}}
			if tt.contentType != "" {
				hdr.Set("Content-Type", tt.contentType)
			}
			res := newResult(&http.Response{StatusCode: 418, Header: hdr}, []byte(tt.body))
			if res.statusCode != 418 || res.bodyEncoding != tt.encoding || res.headers["X-Multi"] != "a, b" || res.headers["X-Ünïcode"] != "ü" || len(res.headers) != len(hdr) {
				t.Fatalf("result %+v", res)
			}
			line, err := envelope.AppendResult(nil, res.value())
			if err != nil || bytes.ContainsAny(line, "\r\n") {
				t.Fatalf("the runtime writes %s, %v", line, err)
			}
			var back struct {
				Body json.RawMessage `json:"body"`
			}
			if err := json.Unmarshal(line, &back); err != nil {
				t.Fatal(err)
			}
			switch tt.encoding {
			case EncodingNone:
				if back.Body != nil {
					t.Fatalf("body %s without a body", back.Body)
				}
			case EncodingJSON:
				if !sameJSON(back.Body, []byte(tt.body)) {
					t.Fatalf("body %s, want the JSON %s", back.Body, tt.body)
				}
			case EncodingText:
				var s string
				if err := json.Unmarshal(back.Body, &s); err != nil || s != tt.want {
					t.Fatalf("body %s, want the text %q", back.Body, tt.want)
				}
			case EncodingBase64:
				var s string
				_ = json.Unmarshal(back.Body, &s)
				if b, err := base64.StdEncoding.DecodeString(s); err != nil || string(b) != tt.want {
					t.Fatalf("body %s, want the base64 of %q", back.Body, tt.want)
				}
			}
		})
	}
}

// sameJSON reports whether a and b are the same JSON value, numbers compared
// as written.
func sameJSON(a, b []byte) bool {
	var va, vb any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	return da.Decode(&va) == nil && db.Decode(&vb) == nil && reflect.DeepEqual(va, vb)
}

// BenchmarkHandlerWork is the handler's own work for one GET without the
// network (read the payload, build the request, read the response into a
// result) and the runtime's encoding of the result into the response
// envelope.
func BenchmarkHandlerWork(b *testing.B) {
	raw, _ := json.Marshal(map[string]any{"base_url": "http://127.0.0.1:8080"})
	hh, err := New(raw)
	if err != nil {
		b.Fatal(err)
	}
	h := hh.(*HTTP)
	inv := handler.NewInvocation(handler.InvocationParams{Payload: json.RawMessage(`{"path":"/items/1","query":{"v":"1"}}`)})
	body := []byte(`{"id":1,"name":"apple","tags":["a","b"]}`)
	ctx := b.Context()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		var p Payload
		if err := inv.Decode(&p); err != nil {
			b.Fatal(err)
		}
		req, err := h.buildRequest(ctx, http.MethodGet, &p)
		if err != nil || req.URL.RawQuery != "v=1" {
			b.Fatal(err)
		}
		resp := &http.Response{StatusCode: 200, ContentLength: 40, Body: io.NopCloser(bytes.NewReader(body)),
			Header: http.Header{"Content-Type": {"application/json"}, "Content-Length": {"40"}, "Date": {"Mon, 24 Nov 2026 16:00:00 GMT"}}}
		res, err := h.readResponse(ctx, nil, req, resp)
		if err != nil {
			b.Fatal(err)
		}
		if buf, err = envelope.AppendResult(buf[:0], res.value()); err != nil {
			b.Fatal(err)
		}
	}
}
