package testkit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Vault is a protocol double of Vault's HTTP API for the KV version 2 secrets
// engine, as documented at developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2:
//
//   - Authentication: X-Vault-Token (or Authorization: Bearer); a wrong or
//     missing token is 403 {"errors":["permission denied"]}.
//   - GET    /v1/:mount/data/:path[?version=N]  read (404 {"errors":[]} when
//     missing; a deleted or destroyed version is 404 with its metadata).
//   - POST|PUT /v1/:mount/data/:path  {"data":{…},"options":{"cas":N}} write; a
//     cas that is not the current version (0 = must not exist) is 400
//     "check-and-set parameter did not match the current version".
//   - DELETE /v1/:mount/data/:path  soft-delete the latest version (204).
//   - POST   /v1/:mount/delete/:path {"versions":[…]}  soft-delete versions (204).
//   - GET    /v1/:mount/metadata/:path  metadata with every version.
//   - LIST   /v1/:mount/metadata/:path (or GET ?list=true)  keys one level
//     below, folders ending in "/" (404 when none).
//   - DELETE /v1/:mount/metadata/:path  delete every version (204).
//   - An unknown mount is 404 "no handler for route".
//   - GET /v1/sys/health (no token) reports initialized/sealed; while sealed
//     (SetSealed) every other request is 503 "Vault is sealed".
//
// Responses have Vault's envelope: request_id, lease_id, renewable,
// lease_duration, data, wrap_info, warnings, auth.
type Vault struct {
	srv    *httptest.Server
	token  string
	mounts []string

	mu       sync.Mutex
	secrets  map[string]*vaultSecret // "mount/path"
	requests int
	sealed   bool
	clock    int64
}

type vaultSecret struct {
	versions       []*vaultVersion // index = version-1
	currentVersion int
	created        string
	updated        string
}

type vaultVersion struct {
	data      map[string]any
	created   string
	deletedAt string
	destroyed bool
}

// NewVault starts a Vault double that accepts token and serves KV v2 at the
// given mounts (default "secret"). It stops when the test ends.
func NewVault(tb testing.TB, token string, mounts ...string) *Vault {
	tb.Helper()
	if len(mounts) == 0 {
		mounts = []string{"secret"}
	}
	v := &Vault{token: token, mounts: mounts, secrets: map[string]*vaultSecret{}}
	v.srv = httptest.NewServer(http.HandlerFunc(v.serve))
	tb.Cleanup(v.srv.Close)
	return v
}

// URL is the base URL, http://127.0.0.1:port.
func (v *Vault) URL() string { return v.srv.URL }

// Addr is host:port.
func (v *Vault) Addr() string { return strings.TrimPrefix(v.srv.URL, "http://") }

// Requests counts the requests served.
func (v *Vault) Requests() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.requests
}

// SetSealed seals or unseals the double: while sealed, sys/health reports it
// and every other request is 503 "Vault is sealed".
func (v *Vault) SetSealed(sealed bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.sealed = sealed
}

// Put stores a new version of mount/path directly, for test setup.
func (v *Vault) Put(mount, path string, data map[string]any) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.write(mount+"/"+path, data)
}

// now is a deterministic clock: one second per event from a fixed origin.
func (v *Vault) now() string {
	v.clock++
	return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(v.clock) * time.Second).Format(time.RFC3339Nano)
}

func (v *Vault) write(key string, data map[string]any) int {
	s := v.secrets[key]
	now := v.now()
	if s == nil {
		s = &vaultSecret{created: now}
		v.secrets[key] = s
	}
	s.versions = append(s.versions, &vaultVersion{data: data, created: now})
	s.currentVersion = len(s.versions)
	s.updated = now
	return s.currentVersion
}

func vaultErrors(w http.ResponseWriter, code int, errs ...string) {
	if errs == nil {
		errs = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": errs})
}

func vaultData(w http.ResponseWriter, code int, data any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"request_id": "00000000-0000-0000-0000-000000000000", "lease_id": "", "renewable": false,
		"lease_duration": 0, "data": data, "wrap_info": nil, "warnings": nil, "auth": nil,
	})
}

func (v *Vault) serve(w http.ResponseWriter, r *http.Request) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.requests++
	if r.URL.Path == "/v1/sys/health" {
		// Unauthenticated. The status code of each state can be chosen with
		// ?sealedcode= etc., as the official client does.
		code := http.StatusOK
		if v.sealed {
			code = http.StatusServiceUnavailable
			if c, err := strconv.Atoi(r.URL.Query().Get("sealedcode")); err == nil {
				code = c
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"initialized": true, "sealed": v.sealed, "standby": false,
			"performance_standby": false, "server_time_utc": 1704067200, "version": "1.15.0", "cluster_name": "vault-double"})
		return
	}
	if v.sealed {
		vaultErrors(w, http.StatusServiceUnavailable, "Vault is sealed")
		return
	}
	tok := r.Header.Get("X-Vault-Token")
	if tok == "" {
		tok = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	if tok == "" || tok != v.token {
		vaultErrors(w, http.StatusForbidden, "permission denied")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	if !ok {
		vaultErrors(w, http.StatusNotFound)
		return
	}
	var mount string
	for _, m := range v.mounts {
		if strings.HasPrefix(rest, m+"/") {
			mount = m
			break
		}
	}
	if mount == "" {
		vaultErrors(w, http.StatusNotFound, "no handler for route \""+rest+"\". route entry not found.")
		return
	}
	kind, path, _ := strings.Cut(strings.TrimPrefix(rest, mount+"/"), "/")
	key := mount + "/" + strings.TrimSuffix(path, "/")
	method := r.Method
	if method == http.MethodGet && r.URL.Query().Get("list") == "true" {
		method = "LIST"
	}
	switch {
	case kind == "data" && method == http.MethodGet:
		v.read(w, r, key)
	case kind == "data" && (method == http.MethodPost || method == http.MethodPut):
		v.put(w, r, key)
	case kind == "data" && method == http.MethodDelete:
		if s := v.secrets[key]; s != nil && s.currentVersion > 0 {
			s.versions[s.currentVersion-1].deletedAt = v.now()
		}
		w.WriteHeader(http.StatusNoContent)
	case kind == "delete" && (method == http.MethodPost || method == http.MethodPut):
		// versions is a comma-int slice: numbers or numeric strings.
		var body struct{ Versions []any }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Versions) == 0 {
			vaultErrors(w, http.StatusBadRequest, "no version number provided")
			return
		}
		var nums []int
		for _, x := range body.Versions {
			switch n := x.(type) {
			case float64:
				nums = append(nums, int(n))
			case string:
				i, err := strconv.Atoi(n)
				if err != nil {
					vaultErrors(w, http.StatusBadRequest, "invalid version "+strconv.Quote(n))
					return
				}
				nums = append(nums, i)
			}
		}
		if s := v.secrets[key]; s != nil {
			for _, n := range nums {
				if n >= 1 && n <= len(s.versions) && s.versions[n-1].deletedAt == "" {
					s.versions[n-1].deletedAt = v.now()
				}
			}
		}
		w.WriteHeader(http.StatusNoContent)
	case kind == "metadata" && method == "LIST":
		v.list(w, key)
	case kind == "metadata" && method == http.MethodGet:
		s := v.secrets[key]
		if s == nil {
			vaultErrors(w, http.StatusNotFound)
			return
		}
		versions := map[string]any{}
		for i, ver := range s.versions {
			versions[strconv.Itoa(i+1)] = map[string]any{"created_time": ver.created, "deletion_time": ver.deletedAt, "destroyed": ver.destroyed}
		}
		vaultData(w, http.StatusOK, map[string]any{
			"cas_required": false, "created_time": s.created, "current_version": s.currentVersion,
			"custom_metadata": nil, "delete_version_after": "0s", "max_versions": 0, "oldest_version": 1,
			"updated_time": s.updated, "versions": versions,
		})
	case kind == "metadata" && method == http.MethodDelete:
		delete(v.secrets, key)
		w.WriteHeader(http.StatusNoContent)
	default:
		vaultErrors(w, http.StatusMethodNotAllowed, "unsupported operation")
	}
}

func versionMetadata(n int, ver *vaultVersion) map[string]any {
	return map[string]any{"created_time": ver.created, "custom_metadata": nil, "deletion_time": ver.deletedAt,
		"destroyed": ver.destroyed, "version": n}
}

func (v *Vault) read(w http.ResponseWriter, r *http.Request, key string) {
	s := v.secrets[key]
	if s == nil {
		vaultErrors(w, http.StatusNotFound)
		return
	}
	n := s.currentVersion
	if q := r.URL.Query().Get("version"); q != "" && q != "0" {
		var err error
		if n, err = strconv.Atoi(q); err != nil {
			vaultErrors(w, http.StatusBadRequest, "invalid version")
			return
		}
	}
	if n < 1 || n > len(s.versions) {
		vaultErrors(w, http.StatusNotFound)
		return
	}
	ver := s.versions[n-1]
	if ver.deletedAt != "" || ver.destroyed {
		// Vault answers 404 with the version's metadata and no data.
		vaultData(w, http.StatusNotFound, map[string]any{"data": nil, "metadata": versionMetadata(n, ver)})
		return
	}
	vaultData(w, http.StatusOK, map[string]any{"data": ver.data, "metadata": versionMetadata(n, ver)})
}

func (v *Vault) put(w http.ResponseWriter, r *http.Request, key string) {
	var body struct {
		Data    map[string]any `json:"data"`
		Options map[string]any `json:"options"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		vaultErrors(w, http.StatusBadRequest, "error parsing JSON")
		return
	}
	if body.Data == nil {
		vaultErrors(w, http.StatusBadRequest, "no data provided")
		return
	}
	if cas, ok := body.Options["cas"]; ok {
		want, isNum := cas.(float64)
		current := 0
		if s := v.secrets[key]; s != nil {
			current = s.currentVersion
		}
		if !isNum || int(want) != current {
			vaultErrors(w, http.StatusBadRequest, "check-and-set parameter did not match the current version")
			return
		}
	}
	n := v.write(key, body.Data)
	vaultData(w, http.StatusOK, versionMetadata(n, v.secrets[key].versions[n-1]))
}

func (v *Vault) list(w http.ResponseWriter, key string) {
	prefix := strings.TrimSuffix(key, "/") + "/"
	var keys []string
	for k := range v.secrets {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i+1]
		}
		if !slices.Contains(keys, rest) {
			keys = append(keys, rest)
		}
	}
	if len(keys) == 0 {
		vaultErrors(w, http.StatusNotFound)
		return
	}
	slices.Sort(keys)
	vaultData(w, http.StatusOK, map[string]any{"keys": keys})
}
