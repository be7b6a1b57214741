package httpout

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/handler"
)

// request is the payload as encoding/json reads it, what decodePayload is
// checked against.
type request struct {
	URL        string                     `json:"url,omitempty"`
	Path       string                     `json:"path,omitempty"`
	Headers    map[string]string          `json:"headers,omitempty"`
	Query      map[string]json.RawMessage `json:"query,omitempty"`
	Body       json.RawMessage            `json:"body,omitempty"`
	BodyBase64 string                     `json:"body_base64,omitempty"`
}

// asRequest converts a decoded payload to the encoding/json form.
func asRequest(p payload) request {
	r := request{URL: p.url, Path: p.path, Body: json.RawMessage(p.body), BodyBase64: p.bodyBase64}
	for _, kv := range p.headers {
		if r.Headers == nil {
			r.Headers = map[string]string{}
		}
		r.Headers[kv.name] = kv.value
	}
	for _, kv := range p.query {
		if r.Query == nil {
			r.Query = map[string]json.RawMessage{}
		}
		r.Query[kv.name] = json.RawMessage(kv.value)
	}
	return r
}

func TestDecodePayload(t *testing.T) {
	tests := []struct {
		name      string
		payload   string
		want      *request
		wantField string
		wantMsg   string
	}{
		{"full", `{"url":"http://x/a","headers":{"B":"2","A":"1"},"query":{"q":[1,"x"],"a":true},"body":{"k": [1]}}`,
			&request{URL: "http://x/a", Headers: map[string]string{"A": "1", "B": "2"}, Query: map[string]json.RawMessage{"q": json.RawMessage(`[1,"x"]`), "a": json.RawMessage(`true`)}, Body: json.RawMessage(`{"k": [1]}`)}, "", ""},
		{"keys fold", `{"PATH":"p","Body_Base64":"eA=="}`, &request{Path: "p", BodyBase64: "eA=="}, "", ""},
		{"null body is kept", `{"path":"p","body":null}`, &request{Path: "p", Body: json.RawMessage(`null`)}, "", ""},
		{"last duplicate header wins", `{"headers":{"A":"1","A":"2"}}`, &request{Headers: map[string]string{"A": "2"}}, "", ""},
		{"empty", ``, &request{}, "", ""},
		{"unknown field", `{"path":"/","bdy":1}`, nil, "bdy", "unknown field"},
		{"header not a string", `{"headers":{"X":1}}`, nil, "headers.X", "expected string, got JSON number"},
		{"headers not an object", `{"headers":[]}`, nil, "headers", "expected object, got JSON array"},
		{"query not an object", `{"query":"a=1"}`, nil, "query", "expected object, got JSON string"},
		{"url not a string", `{"url":true}`, nil, "url", "expected string, got JSON bool"},
		{"not an object", `"x"`, nil, "", "expected object, got JSON string"},
		{"syntax error located", `{"url":}`, nil, "", "invalid JSON at offset 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p payload
			err := decodePayload([]byte(tt.payload), &p)
			if tt.want != nil {
				if err != nil || !reflect.DeepEqual(asRequest(p), *tt.want) {
					t.Fatalf("decodePayload(%s) = %#v, %v; want %#v", tt.payload, asRequest(p), err, *tt.want)
				}
				return
			}
			var he *handler.Error
			if !errors.As(err, &he) || he.Kind != handler.KindInvalidPayload || he.Field != tt.wantField || !strings.Contains(he.Message, tt.wantMsg) {
				t.Fatalf("decodePayload(%s) error = %#v, want an invalid payload naming %q with %q", tt.payload, err, tt.wantField, tt.wantMsg)
			}
		})
	}
}

// TestReadCommon checks which payloads take the one-pass reader; what it reads
// is checked against DecodeStrict by FuzzDecodePayload.
func TestReadCommon(t *testing.T) {
	for in, want := range map[string]bool{
		`{"path":"/items/1","query":{"v":"1"}}`:                                               true,
		` {"url":"http://h/a?b=c","headers":{"Accept":"*/*"},"query":{"n":-1.5e3,"t":true}} `: true,
		`{}`:                        true,
		`{"query":{},"headers":{}}`: true,
		`{"body_base64":"eA=="}`:    true,
		`{"path":"a","body":{}}`:    false, // a body
		`{"path":"\u0061"}`:         false, // an escape
		`{"path":"é"}`:              false, // not ASCII
		`{"PATH":"a"}`:              false, // spelled otherwise
		`{"path":null}`:             false,
		`{"query":{"a":[1]}}`:       false,
		`{"query":{"a":01}}`:        false, // not a number
		`{"headers":{"A":1}}`:       false,
		`{"path":"a",}`:             false,
		`{"path":"a"} {}`:           false,
		`{"path":"a","nope":"b"}`:   false,
	} {
		var p payload
		if got := readCommon([]byte(in), &p); got != want {
			t.Errorf("readCommon(%s) = %v, want %v", in, got, want)
		}
	}
}

// FuzzDecodePayload checks decodePayload against handler.DecodeStrict: the
// same payloads accepted with the same values, the same rejected naming the
// same field.
func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{`{"path":"/items/1","query":{"v":"1"}}`, `{"url":"http://h/","headers":{"a":"1","A":null},"body":"x"}`,
		`{"headers":{"a":"1"},"headers":{"b":"2"}}`, `{"headers":null}`, `{"query":{"a":null,"a":[1]}}`, `{"Url":1}`, `[]`, `null`, ` `,
		`{"body_base64":"eA==","body":{"a":[1,2.5e3]}}`, `{"x":null}`,
		// The one-pass reader's ground, and just past it.
		` { "path" : "a" , "query" : { "n" : -1.5E+3 , "t" : true , "f" : false } , "headers" : { } } `,
		`{"query":{"a":1,"a":"2"},"query":{"b":01}}`, `{"query":{"a":1,}}`, `{"query":{"a":tru}}`, `{"url":"a\u0041"}`,
		`{"headers":{"A":"1"},"headers":{"B":"é"}}`, `{"path":"a"}x`, `{"path":"a",}`, `{}`, `{"query":{"e":1e5,"z":0,"m":-0.0}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var want request
		wantErr := handler.DecodeStrict([]byte(in), &want)
		var p payload
		err := decodePayload([]byte(in), &p)
		if (wantErr == nil) != (err == nil) {
			t.Fatalf("%q: DecodeStrict error %v, decodePayload error %v", in, wantErr, err)
		}
		if wantErr == nil {
			got := asRequest(p)
			if len(want.Headers) == 0 && len(got.Headers) == 0 {
				want.Headers, got.Headers = nil, nil
			}
			if len(want.Query) == 0 && len(got.Query) == 0 {
				want.Query, got.Query = nil, nil
			}
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("%q: DecodeStrict %#v, decodePayload %#v", in, want, got)
			}
			return
		}
		var we, ge *handler.Error
		if !errors.As(wantErr, &we) || !errors.As(err, &ge) || ge.Kind != handler.KindInvalidPayload {
			t.Fatalf("%q: errors %#v and %#v", in, wantErr, err)
		}
		if !strings.Contains(we.Field, `\`) && we.Field != ge.Field {
			t.Fatalf("%q: DecodeStrict names %q, decodePayload %q", in, we.Field, ge.Field)
		}
	})
}

// TestResultAsEncodingJSON checks the rendered result against encoding/json
// over the result's fields, for every body encoding and awkward headers.
func TestResultAsEncodingJSON(t *testing.T) {
	type result struct {
		StatusCode   int               `json:"status_code"`
		Headers      map[string]string `json:"headers"`
		Body         any               `json:"body,omitempty"`
		BodyEncoding string            `json:"body_encoding"`
	}
	tests := []struct {
		contentType string
		body        string
	}{
		{"application/json", `{"id":1, "html":"<b>&amp;</b>", "big": 12345678901234567890, "ls":"` + "\u2028" + `"}`},
		{"application/problem+json; charset=utf-8", "[1,\n 2]"},
		{"application/json", `{oops`},
		{"text/plain; charset=utf-8", "héllo <world> \"quoted\"\n\x01"},
		{"", "no type"},
		{"image/png", "\x89PNG\x00\xff"},
		{"text/plain", "bad utf-8 \xff"},
		{"application/json", ""},
	}
	for _, tt := range tests {
		t.Run(tt.contentType+" "+tt.body, func(t *testing.T) {
			hdr := http.Header{"X-Multi": {"a", "b"}, "X-Html": {"<&>"}, "Date": {"today"}, "X-Ünïcode": {"ü"}}
			if tt.contentType != "" {
				hdr.Set("Content-Type", tt.contentType)
			}
			resp := &http.Response{StatusCode: 418, Header: hdr}
			want := result{StatusCode: 418, Headers: map[string]string{}, BodyEncoding: EncodingNone}
			for k, v := range hdr {
				want.Headers[k] = strings.Join(v, ", ")
			}
			body := []byte(tt.body)
			mt := mediaType(tt.contentType)
			switch {
			case len(body) == 0:
			case (mt == "application/json" || strings.HasSuffix(mt, "+json")) && json.Valid(body):
				want.Body, want.BodyEncoding = json.RawMessage(body), EncodingJSON
			case isText(mt) && utf8.Valid(body):
				want.Body, want.BodyEncoding = string(body), EncodingText
			default:
				want.Body, want.BodyEncoding = base64.StdEncoding.EncodeToString(body), EncodingBase64
			}
			wantJSON, err := json.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			got := renderResult(resp, body)
			if string(got) != string(wantJSON) {
				t.Fatalf("result\n got %s\nwant %s", got, wantJSON)
			}
		})
	}
}

// BenchmarkHandlerWork is the handler's own work for one GET without the
// network (read the payload, build the request, read and render a response)
// and the runtime's copy of the result into the response envelope.
func BenchmarkHandlerWork(b *testing.B) {
	raw, _ := json.Marshal(map[string]any{"base_url": "http://127.0.0.1:8080"})
	hh, err := New(raw)
	if err != nil {
		b.Fatal(err)
	}
	h := hh.(*HTTP)
	in := []byte(`{"path":"/items/1","query":{"v":"1"}}`)
	body := []byte(`{"id":1,"name":"apple","tags":["a","b"]}`)
	ctx := b.Context()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		var p payload
		if err := decodePayload(in, &p); err != nil {
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
		if buf, err = envelope.AppendResult(buf[:0], json.RawMessage(res)); err != nil {
			b.Fatal(err)
		}
	}
}
