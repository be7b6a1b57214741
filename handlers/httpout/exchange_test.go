package httpout

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/onexhost/onex/handler"
)

// referenceTarget is how target resolved a URL before it built path and query
// in one string and skipped url.Parse for plain paths: url.Parse, the joined
// path, and the payload's query appended through url.Values-style escaping.
// target must give the same URL, and an error exactly when it does.
func referenceTarget(base *url.URL, p *Payload) (*url.URL, bool) {
	raw, isPath := p.URL, false
	switch {
	case p.URL != "" && p.Path != "":
		return nil, false
	case p.Path != "":
		raw, isPath = p.Path, true
	case p.URL == "":
		return nil, false
	}
	ref, err := url.Parse(raw)
	if err != nil || ref.User != nil {
		return nil, false
	}
	var u url.URL
	if ref.IsAbs() || ref.Host != "" {
		if isPath || (ref.Scheme != "http" && ref.Scheme != "https") || ref.Host == "" {
			return nil, false
		}
		u = *ref
	} else {
		if base == nil {
			return nil, false
		}
		for _, seg := range strings.Split(ref.Path, "/") {
			if seg == ".." {
				return nil, false
			}
		}
		u = *base
		if ref.Path != "" {
			// The joined path keeps the escaping of both parts: url.URL
			// takes RawPath when it encodes Path and is not its default
			// encoding.
			esc := strings.TrimSuffix(u.EscapedPath(), "/") + "/" + strings.TrimPrefix(ref.EscapedPath(), "/")
			u.Path = strings.TrimSuffix(u.Path, "/") + "/" + strings.TrimPrefix(ref.Path, "/")
			u.RawPath = ""
			if def := u.EscapedPath(); esc != def {
				if unesc, err := url.PathUnescape(esc); err == nil && unesc == u.Path {
					u.RawPath = esc
				}
			}
		}
		if ref.RawQuery != "" {
			if u.RawQuery != "" {
				u.RawQuery += "&" + ref.RawQuery
			} else {
				u.RawQuery = ref.RawQuery
			}
		}
	}
	u.Fragment = ""
	q := u.RawQuery
	for _, name := range slices.Sorted(maps.Keys(p.Query)) {
		vals, isList := p.Query[name].([]any)
		if !isList {
			vals = []any{p.Query[name]}
		}
		for _, v := range vals {
			var s string
			switch x := v.(type) {
			case string:
				s = x
			case json.Number:
				s = string(x)
			case bool:
				s = fmt.Sprint(x)
			default:
				return nil, false
			}
			if q != "" {
				q += "&"
			}
			q += url.QueryEscape(name) + "=" + url.QueryEscape(s)
		}
	}
	u.RawQuery = q
	return &u, true
}

func checkTarget(t *testing.T, base, raw string, isPath bool, query string) {
	t.Helper()
	h := &HTTP{}
	if base != "" {
		h.cfg.base, _ = url.Parse(base)
	}
	p := Payload{URL: raw}
	if isPath {
		p = Payload{Path: raw}
	}
	if query != "" {
		var q Payload
		if handler.DecodeStrict([]byte(`{"query":`+query+`}`), &q) != nil {
			return
		}
		p.Query = q.Query
	}
	got, err := h.target(&p)
	want, ok := referenceTarget(h.cfg.base, &p)
	if (err == nil) != ok {
		t.Fatalf("target(base %q, %q path %v, query %s): error %v, reference ok %v", base, raw, isPath, query, err, ok)
	}
	if ok && !reflect.DeepEqual(got, *want) {
		t.Fatalf("target(base %q, %q path %v, query %s)\n got %#v\nwant %#v", base, raw, isPath, query, got, *want)
	}
}

func TestTargetAsReference(t *testing.T) {
	bases := []string{"", "http://api.example/v1", "https://api.example/v1/?k=1", "http://api.example", "http://api.example/a%2Fb/", "http://api.example/it's%2F"}
	refs := []string{
		"", "items/1", "/items/1", "items/1?x=2", "?x=2", "#frag", "items/it's*", "items/%41", "items/a b", "items/ü",
		"a:b", "./a:b", "//evil.example/x", "///x", "../up", "a/../b", "a/..b", "http://x.example/p?q=1#f",
		"https://u:p@x.example/", "ftp://x.example/", "http:///nohost", "http://x.example/a%2Fb?x",
		"items/\x01", "*", "a?", "items/1#", "a%2Fb", "/a%2Fb/c%2f", "a%2Fb/(x)", "a%252F",
	}
	queries := []string{"", `{"v":"1"}`, `{"b":[1,"x y",true],"a":"&="}`, `{"n":null}`, `{"o":{}}`, `{"é":"ü"}`}
	for _, base := range bases {
		for _, ref := range refs {
			for _, q := range queries {
				checkTarget(t, base, ref, false, q)
				checkTarget(t, base, ref, true, q)
			}
		}
	}
}

func FuzzTarget(f *testing.F) {
	f.Add("http://api.example/v1/?k=1", "items/1?x=2", true, `{"v":["1",2]}`)
	f.Add("", "http://x.example/a%2Fb?x#f", false, `{}`)
	f.Fuzz(func(t *testing.T, base, raw string, isPath bool, query string) {
		if u, err := url.Parse(base); base != "" && (err != nil || u.Host == "" || u.User != nil || u.Fragment != "") {
			return // parseConfig refuses such a base_url
		}
		checkTarget(t, base, raw, isPath, query)
	})
}

// isPlainPath must only accept what url.Parse reads as that path alone.
func FuzzIsPlainPath(f *testing.F) {
	for _, s := range []string{"items/1", "/a/b", "a:b", "//x", "a%20b", "a?b", "a#b", "it's", "*", "a b", "ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !isPlainPath(s) {
			return
		}
		u, err := url.Parse(s)
		if err != nil || !reflect.DeepEqual(*u, url.URL{Path: s}) {
			t.Fatalf("isPlainPath(%q) but url.Parse gives %#v, %v", s, u, err)
		}
	})
}
