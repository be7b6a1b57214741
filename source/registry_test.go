package source_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/testkit"
	"github.com/onexhost/onex/source"
)

// registryServer is a registry on 127.0.0.1 whose files the test changes.
type registryServer struct {
	*httptest.Server

	mu       sync.Mutex
	files    map[string]string // path → body
	down     bool              // answer 503 to everything
	requests map[string]int    // path → GETs served
}

func newRegistryServer(t *testing.T) *registryServer {
	t.Helper()
	s := &registryServer{files: map[string]string{}, requests: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *registryServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body, ok := s.files[r.URL.Path]
	down := s.down
	s.requests[r.URL.Path]++
	s.mu.Unlock()
	switch {
	case down:
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	case !ok:
		http.NotFound(w, r)
	default:
		sum := sha256.Sum256([]byte(body))
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write([]byte(body))
	}
}

func (s *registryServer) set(path, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = body
}

func (s *registryServer) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

func (s *registryServer) served(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

func digestOf(body string) string {
	sum := sha256.Sum256([]byte(body))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// publish serves the contracts (name → document) under /contracts/<name>.yaml
// and an index of them at /index.json, with relative URLs; digests overrides
// the pinned digest of a name.
func (s *registryServer) publish(t *testing.T, docs map[string]string, digests map[string]string) {
	t.Helper()
	var entries []source.RegistryEntry
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range docs {
			if !yield(k) {
				return
			}
		}
	}) {
		p := "/contracts/" + name + ".yaml"
		s.set(p, docs[name])
		d := digestOf(docs[name])
		if o, ok := digests[name]; ok {
			d = o
		}
		entries = append(entries, source.RegistryEntry{Name: name, URL: "contracts/" + name + ".yaml", Digest: d})
	}
	b, err := json.Marshal(entries)
	if err != nil {
		t.Fatal(err)
	}
	s.set("/index.json", string(b))
}

func newRegistry(t *testing.T, url, cacheDir string, logs *testkit.Logs) *source.Registry {
	t.Helper()
	opts := source.RegistryOptions{CacheDir: cacheDir, Timeout: 10 * time.Second}
	if logs != nil {
		opts.Logger = logs.Logger()
	}
	r, err := source.NewRegistry(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func discover(t *testing.T, src source.HandlerSource) ([]*handler.Descriptor, []*diag.ValidationError) {
	t.Helper()
	descs, errs, err := src.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return descs, errs
}

func TestRegistryGoodIndex(t *testing.T) {
	srv := newRegistryServer(t)
	srv.publish(t, map[string]string{"alpha": contractYAML("alpha"), "beta": contractYAML("beta")}, nil)
	cache := t.TempDir()
	var logs testkit.Logs
	r := newRegistry(t, srv.URL+"/index.json", cache, &logs)
	descs, errs := discover(t, r)
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if got := names(descs); !slices.Equal(got, []string{"alpha", "beta"}) {
		t.Fatalf("descriptors %v", got)
	}
	for _, d := range descs {
		want := srv.URL + "/contracts/" + d.Name + ".yaml"
		if d.SourceType != handler.SourceRegistry || d.Origin != want || d.Locations["handler_name"].Line != 3 {
			t.Errorf("%s: provenance %s %s line %d, want registry %s line 3", d.Name, d.SourceType, d.Origin, d.Locations["handler_name"].Line, want)
		}
	}
	st := r.Stats()
	if st["registry_cache"] != source.RegistryCacheFresh || st["registry_contract_count"] != 2 || st["validation_failure_count"] != 0 ||
		st["registry_url"] != srv.URL+"/index.json" || !strings.HasPrefix(fmt.Sprint(st["registry_index_digest"]), "sha256:") {
		t.Errorf("stats %v", st)
	}
	if rec := logs.First(t, "registry contracts discovered"); rec["registry_cache"] != "fresh" || rec["registry_contract_count"] != 2.0 {
		t.Errorf("log record %v", rec)
	}
	// Both documents are cached under their digests, and the index with them.
	for _, name := range []string{"alpha", "beta"} {
		hexDigest := strings.TrimPrefix(digestOf(contractYAML(name)), "sha256:")
		b, err := os.ReadFile(filepath.Join(cache, "sha256", hexDigest))
		if err != nil || string(b) != contractYAML(name) {
			t.Errorf("cached %s: %v", name, err)
		}
	}
	if idx, _ := filepath.Glob(filepath.Join(cache, "index", "*.json")); len(idx) != 1 {
		t.Errorf("cached indexes %v, want 1", idx)
	}
	if tmp, _ := filepath.Glob(filepath.Join(cache, "*", ".tmp-*")); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	// A second discovery reads the documents from the cache.
	before := srv.served("/contracts/alpha.yaml")
	if descs, errs := discover(t, r); len(descs) != 2 || len(errs) > 0 {
		t.Fatalf("second discovery: %v %v", names(descs), errs)
	}
	if srv.served("/contracts/alpha.yaml") != before {
		t.Error("a cached document was fetched again")
	}
}

// TestRegistryDigestMismatch: a tampered document is an error naming the
// handler and both digests, and is neither loaded nor cached.
func TestRegistryDigestMismatch(t *testing.T) {
	srv := newRegistryServer(t)
	good := contractYAML("alpha")
	tampered := strings.Replace(contractYAML("beta"), "db.example", "evil.example", 1)
	pinned := digestOf(contractYAML("beta"))
	srv.publish(t, map[string]string{"alpha": good, "beta": tampered}, map[string]string{"beta": pinned})
	cache := t.TempDir()
	r := newRegistry(t, srv.URL+"/index.json", cache, nil)
	descs, errs := discover(t, r)
	if got := names(descs); !slices.Equal(got, []string{"alpha"}) {
		t.Errorf("descriptors %v, want only alpha", got)
	}
	docURL := srv.URL + "/contracts/beta.yaml"
	want := []diagAt{{"CONTRACT-017", docURL, 0, "beta"}}
	if got := summarize(t, errs); !slices.Equal(got, want) {
		t.Fatalf("errors %v, want %v", got, want)
	}
	e := errs[0]
	actual := digestOf(tampered)
	if !strings.Contains(e.Message, pinned[len("sha256:"):]) || !strings.Contains(e.Message, actual) ||
		e.Details["expected_digest"] != pinned || e.Details["actual_digest"] != actual || e.SourceType != handler.SourceRegistry {
		t.Errorf("mismatch error %q details %v", e.Message, e.Details)
	}
	if _, err := os.Stat(filepath.Join(cache, "sha256", strings.TrimPrefix(actual, "sha256:"))); err == nil {
		t.Error("the tampered document was cached")
	}
	if idx, _ := filepath.Glob(filepath.Join(cache, "index", "*.json")); len(idx) != 0 {
		t.Error("an index with a failing entry was cached as the last good set")
	}
}

// TestRegistryDownAtStart: a host restarting while the registry is down gets
// the last good set from the disk cache, and says so (stale).
func TestRegistryDownAtStart(t *testing.T) {
	srv := newRegistryServer(t)
	srv.publish(t, map[string]string{"alpha": contractYAML("alpha"), "beta": contractYAML("beta")}, nil)
	cache := t.TempDir()
	if _, errs := discover(t, newRegistry(t, srv.URL+"/index.json", cache, nil)); len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, tc := range []struct {
		name string
		down func()
	}{
		{"503", func() { srv.setDown(true) }},
		{"connection refused", func() { srv.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.down()
			var logs testkit.Logs
			r := newRegistry(t, srv.URL+"/index.json", cache, &logs)
			descs, errs := discover(t, r)
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			if got := names(descs); !slices.Equal(got, []string{"alpha", "beta"}) {
				t.Errorf("descriptors %v", got)
			}
			if st := r.Stats(); st["registry_cache"] != source.RegistryCacheStale {
				t.Errorf("stats %v, want registry_cache stale", st)
			}
			if rec := logs.First(t, "registry unavailable; serving the last good set from the disk cache"); rec["level"] != "WARN" || rec["error"] == "" {
				t.Errorf("log record %v", rec)
			}
		})
	}
	// Without a cache there is nothing to fall back on.
	r := newRegistry(t, srv.URL+"/index.json", t.TempDir(), nil)
	descs, errs := discover(t, r)
	if len(descs) != 0 {
		t.Errorf("descriptors %v from nowhere", names(descs))
	}
	want := []diagAt{{"CONTRACT-019", srv.URL + "/index.json", 0, "unknown@" + srv.URL + "/index.json"}}
	if got := summarize(t, errs); !slices.Equal(got, want) {
		t.Errorf("errors %v, want %v", got, want)
	}
	if st := r.Stats(); st["registry_cache"] != source.RegistryCacheUnavailable {
		t.Errorf("stats %v", st)
	}
}

func TestRegistryBadIndexAndDocuments(t *testing.T) {
	srv := newRegistryServer(t)
	good := contractYAML("alpha")
	srv.set("/contracts/alpha.yaml", good)
	srv.set("/broken.yaml", "contract_version: [\n")
	srv.set("/other.yaml", contractYAML("other"))
	srv.set("/big.yaml", strings.Repeat("#", 10<<20+1))
	index := srv.URL + "/index.json"
	entry := func(name, url, digest string) string {
		return fmt.Sprintf(`{"name":%q,"url":%q,"digest":%q}`, name, url, digest)
	}
	alpha := entry("alpha", "contracts/alpha.yaml", digestOf(good))
	for _, tc := range []struct {
		name  string
		index string
		want  []diagAt
		descs []string
	}{
		{"not JSON", "{", []diagAt{{"CONTRACT-018", index, 0, "unknown@" + index}}, nil},
		{"not a list", `{"contracts":[]}`, []diagAt{{"CONTRACT-018", index, 0, "unknown@" + index}}, nil},
		{"unknown field", `[{"name":"alpha","url":"contracts/alpha.yaml","digest":"` + digestOf(good) + `","sha":"x"}]`,
			[]diagAt{{"CONTRACT-018", index, 0, "unknown@" + index}}, nil},
		{"index too large", "[" + strings.Repeat(" ", source.MaxRegistryIndexBytes) + "]", []diagAt{{"CONTRACT-018", index, 0, "unknown@" + index}}, nil},
		{"bad entries", "[" + strings.Join([]string{
			alpha,
			entry("", "x.yaml", digestOf("x")),
			entry("md5", "x.yaml", "md5:0123"),
			entry("short", "x.yaml", "sha256:abc"),
			entry("ftp", "ftp://host/x.yaml", digestOf("x")),
			entry("nourl", "", digestOf("x")),
		}, ",") + "]", []diagAt{
			{"CONTRACT-018", index, 0, "unknown@" + index},
			{"CONTRACT-018", index, 0, "md5"},
			{"CONTRACT-018", index, 0, "short"},
			{"CONTRACT-018", index, 0, "ftp"},
			{"CONTRACT-018", index, 0, "nourl"},
		}, []string{"alpha"}},
		{"broken contract", "[" + alpha + "," + entry("broken", "/broken.yaml", digestOf("contract_version: [\n")) + "]",
			[]diagAt{{"CONTRACT-001", srv.URL + "/broken.yaml", 1, "unknown@" + srv.URL + "/broken.yaml"}}, []string{"alpha"}},
		{"name differs from the contract's", "[" + entry("renamed", "/other.yaml", digestOf(contractYAML("other"))) + "]",
			[]diagAt{{"CONTRACT-018", srv.URL + "/other.yaml", 3, "other"}}, nil},
		{"duplicate name", "[" + alpha + "," + entry("alpha", "/contracts/alpha.yaml", digestOf(good)) + "]",
			[]diagAt{{"CONTRACT-008", srv.URL + "/contracts/alpha.yaml", 3, "alpha"}, {"CONTRACT-008", srv.URL + "/contracts/alpha.yaml", 3, "alpha"}}, nil},
		{"document missing", "[" + alpha + "," + entry("gone", "/gone.yaml", digestOf("x")) + "]",
			[]diagAt{{"CONTRACT-019", srv.URL + "/gone.yaml", 0, "gone"}}, []string{"alpha"}},
		{"document too large", "[" + entry("big", "/big.yaml", digestOf("x")) + "]",
			[]diagAt{{"CONTRACT-007", srv.URL + "/big.yaml", 0, "big"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.set("/index.json", tc.index)
			descs, errs := discover(t, newRegistry(t, index, "", nil))
			if got := summarize(t, errs); !slices.Equal(got, sortedDiags(tc.want...)) {
				t.Errorf("errors %v, want %v", got, sortedDiags(tc.want...))
			}
			for _, e := range errs {
				if e.SourceType != handler.SourceRegistry {
					t.Errorf("%s has source_type %s", e.RuleID, e.SourceType)
				}
			}
			if got := names(descs); !slices.Equal(got, tc.descs) && len(got)+len(tc.descs) > 0 {
				t.Errorf("descriptors %v, want %v", got, tc.descs)
			}
		})
	}
}

// TestRegistryLongDigestShortened: a malformed digest is quoted in the
// CONTRACT-018 message only up to 80 bytes, cut on a rune boundary, so an index
// cannot flood the report and the message stays valid UTF-8.
func TestRegistryLongDigestShortened(t *testing.T) {
	srv := newRegistryServer(t)
	index := srv.URL + "/index.json"
	// "sha256:" is 7 bytes and é 2, so byte 80 falls inside an é.
	digest := "sha256:" + strings.Repeat("é", 100)
	srv.set("/index.json", fmt.Sprintf(`[{"name":"long","url":"x.yaml","digest":%q}]`, digest))
	_, errs := discover(t, newRegistry(t, index, "", nil))
	if got, want := summarize(t, errs), []diagAt{{"CONTRACT-018", index, 0, "long"}}; !slices.Equal(got, want) {
		t.Fatalf("errors %v, want %v", got, want)
	}
	msg := errs[0].Message
	if shown := digest[:79] + "…"; !strings.Contains(msg, strconv.Quote(shown)) || strings.Contains(msg, digest[:81]) || !utf8.ValidString(msg) {
		t.Errorf("message %q, want the digest shown as %q", msg, shown)
	}
}

// TestRegistryTimeout: a registry that never answers is bounded by the
// source's timeout.
func TestRegistryTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers; returns when the client gives up
	}))
	defer srv.Close()
	r, err := source.NewRegistry(srv.URL+"/index.json", source.RegistryOptions{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, errs := discover(t, r)
	if len(errs) != 1 || errs[0].RuleID != "CONTRACT-019" || !strings.Contains(errs[0].Message, "Timeout") {
		t.Errorf("errors %v", errs)
	}
}

// TestRegistryCredentialsNeverShown: credentials in the index URL reach the
// registry but no error, stat, log or origin.
func TestRegistryCredentialsNeverShown(t *testing.T) {
	var auth sync.Map
	srv := newRegistryServer(t)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); ok {
			auth.Store(u+":"+p, true)
		}
		srv.serve(w, r)
	})
	srv.publish(t, map[string]string{"alpha": contractYAML("alpha")}, nil)
	srv.set("/index.json", `[{"name":"alpha","url":"contracts/alpha.yaml","digest":"`+digestOf(contractYAML("alpha"))+`"},{"name":"gone","url":"gone.yaml","digest":"`+digestOf("x")+`"}]`)
	withCreds := strings.Replace(srv.URL, "http://", "http://reader:s3cr3t-token@", 1) + "/index.json"
	var logs testkit.Logs
	r := newRegistry(t, withCreds, "", &logs)
	descs, errs := discover(t, r)
	if _, ok := auth.Load("reader:s3cr3t-token"); !ok {
		t.Error("the credentials did not reach the registry")
	}
	shown := fmt.Sprint(r.Stats(), errs, logs.String())
	for _, d := range descs {
		shown += d.Origin
	}
	if strings.Contains(shown, "s3cr3t-token") {
		t.Errorf("credentials shown: %s", shown)
	}
	if len(errs) != 1 || errs[0].RuleID != "CONTRACT-019" {
		t.Errorf("errors %v", errs)
	}
}

// TestRegistryCacheDamage: a cached document that no longer matches its
// digest is removed and fetched again.
func TestRegistryCacheDamage(t *testing.T) {
	srv := newRegistryServer(t)
	srv.publish(t, map[string]string{"alpha": contractYAML("alpha")}, nil)
	cache := t.TempDir()
	r := newRegistry(t, srv.URL+"/index.json", cache, nil)
	if _, errs := discover(t, r); len(errs) > 0 {
		t.Fatal(errs)
	}
	p := filepath.Join(cache, "sha256", strings.TrimPrefix(digestOf(contractYAML("alpha")), "sha256:"))
	if err := os.WriteFile(p, []byte("damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := srv.served("/contracts/alpha.yaml")
	if descs, errs := discover(t, r); len(descs) != 1 || len(errs) > 0 {
		t.Fatalf("%v %v", names(descs), errs)
	}
	if srv.served("/contracts/alpha.yaml") != before+1 {
		t.Error("the damaged document was not fetched again")
	}
	if b, _ := os.ReadFile(p); string(b) != contractYAML("alpha") {
		t.Errorf("cache holds %q", b)
	}
}

// TestRegistryPoll: Poll reports a changed index (by digest), not an
// unchanged one (304 with the ETag, or the same bytes), and notes a registry
// that answers again after a stale start.
func TestRegistryPoll(t *testing.T) {
	srv := newRegistryServer(t)
	srv.publish(t, map[string]string{"alpha": contractYAML("alpha")}, nil)
	cache := t.TempDir()
	r := newRegistry(t, srv.URL+"/index.json", cache, nil)
	if _, errs := discover(t, r); len(errs) > 0 {
		t.Fatal(errs)
	}
	ctx := context.Background()
	if changed, err := r.Poll(ctx); err != nil || changed {
		t.Errorf("unchanged index: changed %v, %v", changed, err)
	}
	srv.publish(t, map[string]string{"alpha": contractYAML("alpha"), "beta": contractYAML("beta")}, nil)
	if changed, err := r.Poll(ctx); err != nil || !changed {
		t.Errorf("changed index: changed %v, %v", changed, err)
	}
	if descs, _ := discover(t, r); len(descs) != 2 {
		t.Errorf("after the change: %v", names(descs))
	}
	if changed, err := r.Poll(ctx); err != nil || changed {
		t.Errorf("after rediscovery: changed %v, %v", changed, err)
	}

	srv.setDown(true)
	if _, err := r.Poll(ctx); err == nil {
		t.Error("a registry answering 503 polled without error")
	}
	stale := newRegistry(t, srv.URL+"/index.json", cache, nil)
	if _, errs := discover(t, stale); len(errs) > 0 || stale.Stats()["registry_cache"] != source.RegistryCacheStale {
		t.Fatalf("stale start: %v %v", errs, stale.Stats())
	}
	srv.setDown(false)
	if changed, err := stale.Poll(ctx); err != nil || changed {
		t.Errorf("registry back with the cached index: changed %v, %v", changed, err)
	}
	if st := stale.Stats(); st["registry_cache"] != source.RegistryCacheFresh {
		t.Errorf("stats %v, want fresh once the registry answers again", st)
	}
}

func TestNewRegistryRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"", "index.json", "ftp://host/index.json", "http:///index.json", "https://user:pw@%zz"} {
		if _, err := source.NewRegistry(u, source.RegistryOptions{}); err == nil || strings.Contains(err.Error(), "pw") {
			t.Errorf("%q: %v", u, err)
		}
	}
}

func TestRegistryConfig(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		key        string // of the expected RUNTIME-002, "" for none
	}{
		{"complete", "handler_source:\n  mode: registry\n  registry: {url: https://reg.example/index.json, cache_dir: ./cache, timeout: 5s, poll_interval: 1m}\n", ""},
		{"no url", "handler_source:\n  mode: registry\n", "handler_source.registry.url"},
		{"relative url", "handler_source:\n  mode: registry\n  registry: {url: index.json}\n", "handler_source.registry.url"},
		{"zero timeout", "handler_source:\n  mode: registry\n  registry: {url: https://reg.example/i.json, timeout: 0s}\n", "handler_source.registry.timeout"},
		{"negative poll", "handler_source:\n  mode: registry\n  registry: {url: https://reg.example/i.json, poll_interval: -1s}\n", "handler_source.registry.poll_interval"},
		{"unknown key", "handler_source:\n  registry: {urll: https://reg.example/i.json}\n", "handler_source.registry.urll"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, errs := source.LoadConfig(parse(t, "/etc/onex/onex.yaml", tc.yaml))
			if tc.key == "" {
				if len(errs) > 0 {
					t.Fatal(errs)
				}
				r := cfg.Registry
				if r.URL != "https://reg.example/index.json" || r.CacheDir != "/etc/onex/cache" || r.Timeout != 5*time.Second || r.PollInterval != time.Minute {
					t.Errorf("config %+v", r)
				}
				src, err := source.FromConfig(cfg, nil)
				if err != nil || src.SourceType() != handler.SourceRegistry {
					t.Errorf("FromConfig: %v %v", src, err)
				}
				return
			}
			if len(errs) != 1 || errs[0].RuleID != "RUNTIME-002" || errs[0].Line == 0 || !strings.HasPrefix(tc.key, fmt.Sprint(errs[0].Details["key"])) {
				t.Errorf("errors %v, want one RUNTIME-002 at %s", errs, tc.key)
			}
		})
	}
	// Defaults: the user cache directory, 10s, 30s.
	cfg, errs := source.LoadConfig(parse(t, "onex.yaml", "handler_source: {mode: registry, registry: {url: http://127.0.0.1:1/i.json}}\n"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if cfg.Registry.Timeout != source.DefaultRegistryTimeout || cfg.Registry.PollInterval != source.DefaultRegistryPollInterval {
		t.Errorf("defaults %+v", cfg.Registry)
	}
	if dir, err := os.UserCacheDir(); err == nil && cfg.Registry.CacheDir != filepath.Join(dir, "onex", "registry") {
		t.Errorf("default cache_dir %q", cfg.Registry.CacheDir)
	}
}
