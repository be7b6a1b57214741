package source

import (
	"strings"
	"testing"
)

// FuzzRegistryIndex: no index a registry serves makes the parser or the entry
// checks panic, and every entry they accept has an http(s) document URL and a
// sha256 digest.
func FuzzRegistryIndex(f *testing.F) {
	for _, seed := range []string{
		`[{"name":"a","url":"a.yaml","digest":"sha256:` + strings.Repeat("ab", 32) + `"}]`,
		`[{"name":"a","url":"//other.example/a.yaml","digest":"sha256:` + strings.Repeat("AB", 32) + `"}]`,
		`[{"name":"a","url":"ftp://x/a","digest":"md5:00"}]`,
		`[{"name":"","url":"%zz","digest":""}]`,
		`{"contracts":[]}`, `[]`, `[1]`, `null`, `[{}] []`,
	} {
		f.Add([]byte(seed))
	}
	r, err := NewRegistry("https://registry.example/v1/index.json", RegistryOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		idx, err := parseIndex(body)
		if err != nil {
			return
		}
		entries, errs := r.entries(idx.entries)
		if len(entries)+len(errs) != len(idx.entries) {
			t.Fatalf("%d entries: %d accepted, %d refused", len(idx.entries), len(entries), len(errs))
		}
		for _, e := range entries {
			if (e.doc.Scheme != "http" && e.doc.Scheme != "https") || e.doc.Host == "" || len(e.digest) != 64 || e.Name == "" {
				t.Fatalf("accepted %+v", e)
			}
		}
		for _, e := range errs {
			if e.RuleID != "CONTRACT-018" || e.RemediationHint == "" {
				t.Fatalf("error %v", e)
			}
		}
	})
}
