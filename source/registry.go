package source

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/onexhost/onex/contract"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/text"
	"github.com/onexhost/onex/validate"
)

// Bounds of the registry source. Documents share the contract file bound
// (contract.MaxFileBytes).
const (
	// MaxRegistryIndexBytes bounds the index document.
	MaxRegistryIndexBytes = 4 << 20
	// MaxRegistryEntries bounds the entries of one index.
	MaxRegistryEntries = 10_000
	// DefaultRegistryTimeout bounds one HTTP request of the registry source
	// (connection, headers and body).
	DefaultRegistryTimeout = 10 * time.Second
	// DefaultRegistryPollInterval is how often a running host asks the
	// registry whether its index changed.
	DefaultRegistryPollInterval = 30 * time.Second
	// registryFetchers is how many documents are fetched at once.
	registryFetchers = 8
)

// Cache states of the registry source, reported as registry_cache in Stats.
const (
	// RegistryCacheFresh: the index was fetched from the registry.
	RegistryCacheFresh = "fresh"
	// RegistryCacheStale: the registry could not be reached (or served an
	// unusable index) and the last good set was read from the disk cache.
	RegistryCacheStale = "stale"
	// RegistryCacheUnavailable: neither the registry nor a cached index could
	// be read.
	RegistryCacheUnavailable = "unavailable"
)

// RegistryConfig is handler_source.registry of onex.yaml.
type RegistryConfig struct {
	// URL is the registry index: a JSON list of {name, url, digest}.
	URL string `yaml:"url"`
	// CacheDir keeps the last good index and every verified document, so a
	// host restarts with them when the registry is down. LoadConfig defaults
	// it to the user cache directory (onex/registry under it) and resolves a
	// relative one against the configuration file's directory; empty means no
	// disk cache.
	CacheDir string `yaml:"cache_dir"`
	// Timeout bounds each HTTP request.
	Timeout time.Duration `yaml:"timeout"`
	// PollInterval is how often a running host polls the index for changes
	// (and reloads when it changed); 0 turns polling off.
	PollInterval time.Duration `yaml:"poll_interval"`
}

// DefaultRegistryConfig returns the defaults (no URL, no cache directory).
func DefaultRegistryConfig() RegistryConfig {
	return RegistryConfig{Timeout: DefaultRegistryTimeout, PollInterval: DefaultRegistryPollInterval}
}

// DefaultRegistryCacheDir is the default cache_dir: onex/registry under the
// user cache directory ($XDG_CACHE_HOME, ~/.cache, …), or "" (no cache) where
// there is none.
func DefaultRegistryCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "onex", "registry")
}

// RegistryEntry is one entry of a registry index.
type RegistryEntry struct {
	// Name is the handler_name the document declares.
	Name string `json:"name"`
	// URL locates the contract document; relative to the index URL when not
	// absolute.
	URL string `json:"url"`
	// Digest pins the document: "sha256:" and 64 hex digits.
	Digest string `json:"digest"`
}

// RegistryOptions tune the registry source.
type RegistryOptions struct {
	// Logger receives the discovery record; nil discards it.
	Logger *slog.Logger
	// CacheDir is the disk cache; empty means none (nothing is written).
	CacheDir string
	// Timeout bounds each HTTP request; 0 means DefaultRegistryTimeout.
	Timeout time.Duration
	// Client makes the requests; nil means a client of the source's own, whose
	// idle connections are closed after every discovery and poll.
	Client *http.Client
}

// Poller is implemented by sources that can tell cheaply whether a new
// Discover would resolve a different set, so a running host reloads only
// then. It is optional, discovered by type assertion.
type Poller interface {
	// Poll reports whether the source changed since the last Discover.
	Poll(ctx context.Context) (changed bool, err error)
}

// Registry is the remote source: an HTTP index of contract documents, each
// pinned by its sha256 digest. Every document is verified against its digest
// before it is parsed (CONTRACT-017 on a mismatch: never loaded), then goes
// through exactly the contract code path of files (contract.Decode →
// Descriptor → validate.Descriptor), with source_type registry and the
// document URL as origin.
//
// The disk cache is content-addressed: a verified document is stored under its
// digest (written to a temporary file, then renamed), and an index is stored
// once every one of its documents loaded cleanly, so the cached index is the
// last good set. When the registry cannot be reached, Discover serves that set
// and Stats reports registry_cache: stale.
type Registry struct {
	index  *url.URL
	shown  string // the index URL without credentials, for logs and errors
	opts   RegistryOptions
	client *http.Client
	own    *http.Transport // closed after each use when the client is ours

	mu          sync.Mutex
	stats       Stats
	indexDigest string // of the index the last Discover used
	etag        string // of the last index fetched from the registry
	cache       string // registry_cache of the last Discover
}

var (
	_ HandlerSource = (*Registry)(nil)
	_ StatsReporter = (*Registry)(nil)
	_ Poller        = (*Registry)(nil)
)

// NewRegistry returns the registry source of the index at indexURL (absolute,
// http or https).
func NewRegistry(indexURL string, opts RegistryOptions) (*Registry, error) {
	u, err := parseHTTPURL(indexURL)
	if err != nil {
		return nil, fmt.Errorf("registry url: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultRegistryTimeout
	}
	r := &Registry{index: u, shown: u.Redacted(), opts: opts, client: opts.Client}
	if r.client == nil {
		r.own = http.DefaultTransport.(*http.Transport).Clone()
		r.client = &http.Client{Transport: r.own, Timeout: opts.Timeout}
	}
	return r, nil
}

func parseHTTPURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s is not an http or https URL", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%s has no host", u.Redacted())
	}
	return u, nil
}

// SourceType is registry.
func (r *Registry) SourceType() handler.SourceType { return handler.SourceRegistry }

// URL returns the index URL without credentials.
func (r *Registry) URL() string { return r.shown }

// Discover fetches the index and every document it lists (from the disk cache
// when the digest is there), verifies, decodes and validates each, and
// returns the clean descriptors (in index order) and every error. err is
// non-nil only when ctx ends.
func (r *Registry) Discover(ctx context.Context) ([]*handler.Descriptor, []*diag.ValidationError, error) {
	start := time.Now()
	defer r.closeIdle()
	idx, cache, verr := r.loadIndex(ctx)
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if verr != nil {
		r.setStats(cache, "", 0, 1, time.Since(start))
		r.opts.Logger.LogAttrs(ctx, slog.LevelError, "registry contracts discovered",
			slog.String("registry_url", r.shown), slog.String("registry_cache", cache),
			slog.Int("registry_contract_count", 0), slog.Int("validation_failure_count", 1),
			slog.String("error", verr.Message))
		return nil, []*diag.ValidationError{verr}, nil
	}

	entries, errs := r.entries(idx.entries)
	results, err := r.loadAll(ctx, entries, cache == RegistryCacheStale)
	if err != nil {
		return nil, nil, err
	}
	descs, errs, failed := collect(results, errs)
	for _, e := range errs {
		e.SourceType = handler.SourceRegistry
	}
	if cache == RegistryCacheFresh && len(errs) == 0 {
		// Every document verified, decoded and validated: this index is the
		// last good set a restart falls back on.
		if err := r.writeCache(r.indexCacheFile(), idx.raw); err != nil {
			r.opts.Logger.Warn("registry index not cached", "registry_url", r.shown, "error", err.Error())
		}
	}
	elapsed := time.Since(start)
	r.mu.Lock()
	r.indexDigest = idx.digest
	r.mu.Unlock()
	r.setStats(cache, idx.digest, len(idx.entries), failed, elapsed)
	r.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "registry contracts discovered",
		slog.String("registry_url", r.shown), slog.String("registry_cache", cache),
		slog.String("registry_index_digest", idx.digest),
		slog.Int("registry_contract_count", len(idx.entries)),
		slog.Int("validation_failure_count", failed),
		slog.Int64("duration_ms", elapsed.Milliseconds()))
	return descs, errs, nil
}

func (r *Registry) setStats(cache, digest string, count, failed int, elapsed time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cache = cache
	r.stats = Stats{
		"registry_url":             r.shown,
		"registry_cache":           cache,
		"registry_contract_count":  count,
		"validation_failure_count": failed,
		"duration_ms":              elapsed.Milliseconds(),
	}
	if digest != "" {
		r.stats["registry_index_digest"] = digest
	}
}

// Stats reports registry_url (without credentials), registry_cache (fresh,
// stale or unavailable), registry_index_digest, registry_contract_count
// (index entries), validation_failure_count and duration_ms of the last
// Discover.
func (r *Registry) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return cloneStats(r.stats)
}

// Poll fetches the index (conditionally, with the last ETag) and reports
// whether its digest differs from the index of the last Discover. A registry
// that answers again after a stale start with the same index is noted (the
// set it serves is the cached one) without a change.
func (r *Registry) Poll(ctx context.Context) (bool, error) {
	defer r.closeIdle()
	r.mu.Lock()
	etag, last, cache := r.etag, r.indexDigest, r.cache
	r.mu.Unlock()
	body, newTag, notModified, err := r.fetchIndex(ctx, etag)
	if err != nil {
		return false, err
	}
	if notModified {
		return false, nil
	}
	digest := sha256Digest(body)
	r.mu.Lock()
	r.etag = newTag
	r.mu.Unlock()
	if digest != last {
		return true, nil
	}
	if cache == RegistryCacheStale {
		r.mu.Lock()
		r.cache = RegistryCacheFresh
		r.stats = cloneStats(r.stats)
		r.stats["registry_cache"] = RegistryCacheFresh
		r.mu.Unlock()
		r.opts.Logger.Info("registry reachable again; it serves the cached index", "registry_url", r.shown, "registry_index_digest", digest)
	}
	return false, nil
}

// closeIdle releases the connections of the source's own client, so no
// connection (nor its goroutines) outlives a discovery or poll.
func (r *Registry) closeIdle() {
	if r.own != nil {
		r.own.CloseIdleConnections()
	}
}

type registryIndex struct {
	raw     []byte
	digest  string
	entries []RegistryEntry
}

// loadIndex fetches and parses the index; when that fails it falls back on the
// cached one (stale). Without either, the error is a CONTRACT-019 (registry
// unreachable) or CONTRACT-018 (unusable index).
func (r *Registry) loadIndex(ctx context.Context) (*registryIndex, string, *diag.ValidationError) {
	body, etag, _, err := r.fetchIndex(ctx, "")
	var live *diag.ValidationError
	if err == nil {
		idx, perr := parseIndex(body)
		if perr == nil {
			r.mu.Lock()
			r.etag = etag
			r.mu.Unlock()
			return idx, RegistryCacheFresh, nil
		}
		live = r.indexError(ruleid.ContractIndexMalformed, "registry index %s is unusable: %v", r.shown, perr)
	} else if errors.Is(err, errTooLarge) {
		live = r.indexError(ruleid.ContractIndexMalformed, "registry index %s is unusable: %v", r.shown, err)
	} else {
		live = r.indexError(ruleid.ContractRegistryUnreachable, "registry index %s cannot be fetched: %v", r.shown, err)
	}
	if ctx.Err() != nil {
		return nil, RegistryCacheUnavailable, live
	}
	if r.opts.CacheDir == "" {
		return nil, RegistryCacheUnavailable, live
	}
	cached, cerr := readBounded(r.indexCacheFile(), MaxRegistryIndexBytes)
	if cerr != nil {
		live.Message += "; no cached index to fall back on"
		return nil, RegistryCacheUnavailable, live
	}
	idx, perr := parseIndex(cached)
	if perr != nil {
		live.Message += fmt.Sprintf("; the cached index is unusable too (%v)", perr)
		return nil, RegistryCacheUnavailable, live
	}
	r.opts.Logger.Warn("registry unavailable; serving the last good set from the disk cache",
		"registry_url", r.shown, "registry_cache", RegistryCacheStale, "error", live.Message)
	return idx, RegistryCacheStale, nil
}

func (r *Registry) indexError(rule diag.RuleID, format string, args ...any) *diag.ValidationError {
	e := diag.New(rule, format, args...)
	e.HandlerIdentity = "unknown@" + r.shown
	e.SourceType = handler.SourceRegistry
	e.FilePath = r.shown
	e.Details = map[string]any{"registry_url": r.shown}
	return e
}

// fetchIndex GETs the index, conditionally when etag is set.
func (r *Registry) fetchIndex(ctx context.Context, etag string) (body []byte, newTag string, notModified bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.index.String(), nil)
	if err != nil {
		return nil, "", false, errors.New("cannot build the request")
	}
	req.Header.Set("Accept", "application/json")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, "", false, trimURLErr(err)
	}
	defer resp.Body.Close()
	if etag != "" && resp.StatusCode == http.StatusNotModified {
		return nil, etag, true, nil
	}
	body, err = readResponse(resp, MaxRegistryIndexBytes)
	if err != nil {
		return nil, "", false, err
	}
	return body, resp.Header.Get("ETag"), false, nil
}

// errTooLarge marks a response over its size bound.
var errTooLarge = errors.New("over the size limit")

// readResponse reads a 200 response's body, refusing more than limit bytes
// (errTooLarge).
func readResponse(resp *http.Response, limit int64) ([]byte, error) {
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%d bytes, over the %d byte limit: %w", resp.ContentLength, limit, errTooLarge)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", trimURLErr(err))
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("over the %d byte limit: %w", limit, errTooLarge)
	}
	return body, nil
}

// trimURLErr drops the URL from a client error (the message names it already,
// without credentials).
func trimURLErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func parseIndex(body []byte) (*registryIndex, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var entries []RegistryEntry
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("not a JSON list of {name, url, digest}: %v", err)
	}
	if dec.More() {
		return nil, errors.New("data after the JSON list")
	}
	if len(entries) > MaxRegistryEntries {
		return nil, fmt.Errorf("%d entries, over the %d entry limit", len(entries), MaxRegistryEntries)
	}
	return &registryIndex{raw: body, digest: sha256Digest(body), entries: entries}, nil
}

// resolvedEntry is an index entry whose URL and digest are well formed.
type resolvedEntry struct {
	RegistryEntry
	doc    *url.URL
	shown  string // document URL without credentials: the descriptor's origin
	digest string // lowercase hex
}

// entries checks every index entry and resolves its URL against the index;
// malformed entries are CONTRACT-018 errors and are skipped.
func (r *Registry) entries(in []RegistryEntry) ([]resolvedEntry, []*diag.ValidationError) {
	var (
		out  []resolvedEntry
		errs []*diag.ValidationError
	)
	for i, e := range in {
		bad := func(format string, args ...any) {
			v := r.indexError(ruleid.ContractIndexMalformed, "registry index %s, entry %d: %s", r.shown, i, fmt.Sprintf(format, args...))
			if e.Name != "" {
				v.HandlerIdentity = e.Name
			}
			v.Details["entry"] = i
			errs = append(errs, v)
		}
		if e.Name == "" {
			bad("name is missing")
			continue
		}
		hexDigest, ok := parseDigest(e.Digest)
		if !ok {
			bad("digest %q is not sha256: followed by 64 hex digits", text.Truncate(e.Digest, 80))
			continue
		}
		if e.URL == "" {
			bad("url is missing")
			continue
		}
		ref, err := url.Parse(e.URL)
		if err != nil {
			bad("url is not a URL")
			continue
		}
		doc := r.index.ResolveReference(ref)
		if doc.Scheme != "http" && doc.Scheme != "https" || doc.Host == "" {
			bad("url %s is not an http or https URL", doc.Redacted())
			continue
		}
		out = append(out, resolvedEntry{RegistryEntry: e, doc: doc, shown: doc.Redacted(), digest: hexDigest})
	}
	return out, errs
}

func parseDigest(s string) (string, bool) {
	algo, hexPart, ok := strings.Cut(s, ":")
	if !ok || algo != "sha256" || len(hexPart) != sha256.Size*2 {
		return "", false
	}
	if _, err := hex.DecodeString(hexPart); err != nil {
		return "", false
	}
	return strings.ToLower(hexPart), true
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// loadAll loads every entry on a bounded pool of fetchers, keeping the index
// order. cacheOnly skips the network (the registry is known to be down).
func (r *Registry) loadAll(ctx context.Context, entries []resolvedEntry, cacheOnly bool) ([]loaded, error) {
	results := make([]loaded, len(entries))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(registryFetchers, len(entries)) {
		wg.Go(func() {
			for i := range next {
				results[i] = r.loadEntry(ctx, entries[i], cacheOnly)
			}
		})
	}
	var err error
feed:
	for i := range entries {
		select {
		case next <- i:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	return results, nil
}

// loadEntry gets one document (cache, else registry), verifies its digest
// before anything parses it, then decodes and validates it as a contract file
// is.
func (r *Registry) loadEntry(ctx context.Context, e resolvedEntry, cacheOnly bool) loaded {
	fail := func(rule diag.RuleID, format string, args ...any) loaded {
		v := diag.New(rule, format, args...)
		v.HandlerIdentity = e.Name
		v.SourceType = handler.SourceRegistry
		v.FilePath = e.shown
		v.Details = map[string]any{"url": e.shown, "digest": "sha256:" + e.digest}
		return loaded{path: e.shown, errs: []*diag.ValidationError{v}}
	}
	data, ok := r.readCachedDocument(e.digest)
	if !ok {
		if cacheOnly {
			return fail(ruleid.ContractRegistryUnreachable, "contract document of %s (%s) is not in the disk cache and the registry is unreachable", e.Name, e.shown)
		}
		var err error
		data, err = r.fetchDocument(ctx, e.doc)
		if errors.Is(err, errTooLarge) {
			return fail(ruleid.ContractUnreadable, "contract document of %s at %s is %v", e.Name, e.shown, err)
		}
		if err != nil {
			return fail(ruleid.ContractRegistryUnreachable, "contract document of %s cannot be fetched from %s: %v", e.Name, e.shown, err)
		}
		if got := sha256Digest(data); got != "sha256:"+e.digest {
			l := fail(ruleid.ContractDigestMismatch, "contract document of %s at %s does not match its pinned digest: the index pins sha256:%s, the document is %s; it was not loaded",
				e.Name, e.shown, e.digest, got)
			l.errs[0].Details["expected_digest"] = "sha256:" + e.digest
			l.errs[0].Details["actual_digest"] = got
			delete(l.errs[0].Details, "digest")
			return l
		}
		if err := r.writeCache(r.documentCacheFile(e.digest), data); err != nil {
			r.opts.Logger.Warn("registry document not cached", "handler", e.Name, "url", e.shown, "error", err.Error())
		}
	}
	c, errs := contract.Decode(e.shown, data)
	if len(errs) > 0 {
		return loaded{path: e.shown, errs: errs}
	}
	d := c.Descriptor()
	d.SourceType, d.Origin = handler.SourceRegistry, e.shown
	if d.Name != e.Name {
		v := diag.New(ruleid.ContractIndexMalformed, "registry index entry %q points to a contract declaring handler_name %q", e.Name, d.Name)
		v.Details = map[string]any{"index_name": e.Name, "handler_name": d.Name, "url": e.shown}
		v.RemediationHint = "make the index entry's name the handler_identity.name of the document it points to"
		return loaded{path: e.shown, desc: d, errs: []*diag.ValidationError{validate.At(d, "handler_name", v)}}
	}
	return loaded{path: e.shown, desc: d, errs: validate.Descriptor(d)}
}

func (r *Registry) fetchDocument(ctx context.Context, u *url.URL) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, errors.New("cannot build the request")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, trimURLErr(err)
	}
	defer resp.Body.Close()
	return readResponse(resp, contract.MaxFileBytes)
}

// readCachedDocument returns the cached document of a digest, verified again:
// a damaged cache file is removed and fetched anew.
func (r *Registry) readCachedDocument(hexDigest string) ([]byte, bool) {
	if r.opts.CacheDir == "" {
		return nil, false
	}
	p := r.documentCacheFile(hexDigest)
	data, err := readBounded(p, contract.MaxFileBytes)
	if err != nil {
		return nil, false
	}
	if sha256Digest(data) != "sha256:"+hexDigest {
		r.opts.Logger.Warn("damaged registry cache entry removed", "path", p)
		_ = os.Remove(p)
		return nil, false
	}
	return data, true
}

func (r *Registry) documentCacheFile(hexDigest string) string {
	return filepath.Join(r.opts.CacheDir, "sha256", hexDigest)
}

// indexCacheFile is keyed by the index URL, so registries can share a cache
// directory.
func (r *Registry) indexCacheFile() string {
	sum := sha256.Sum256([]byte(r.index.String()))
	return filepath.Join(r.opts.CacheDir, "index", hex.EncodeToString(sum[:16])+".json")
}

// writeCache writes data to path atomically: a temporary file in the same
// directory, synced, then renamed over path. A reader sees the old file or the
// new one, never a part.
func (r *Registry) writeCache(path string, data []byte) error {
	if r.opts.CacheDir == "" {
		return nil
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		_ = os.Remove(tmp.Name())
	}
	return werr
}

// readBounded reads a regular file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > limit {
		return nil, fmt.Errorf("%s is not a regular file of at most %d bytes", path, limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is over %d bytes", path, limit)
	}
	return data, nil
}
