package testkit

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Consul is a protocol double of the Consul HTTP API (v1), as documented at
// developer.hashicorp.com/consul/api-docs, for the parts onex uses:
//
//   - KV store (/v1/kv/:key): GET with ?recurse and ?keys (404 when nothing
//     matches), PUT with ?cas= (0 = create only) and ?flags=, DELETE with
//     ?recurse and ?cas=; answers "true"/"false" as the real agent does.
//   - Agent services: PUT /v1/agent/service/register (ID defaults to Name; a
//     check's Status sets its initial state, critical when absent) and PUT
//     /v1/agent/service/deregister/:id (404 for an unknown ID).
//   - Health: GET /v1/health/service/:service with ?passing and ?tag.
//   - GET /v1/status/leader (no ACL) answers the leader's address.
//   - Every response carries X-Consul-Index (the raft index, bumped by every
//     write), X-Consul-KnownLeader and X-Consul-LastContact.
//   - ACLs: when a token is configured, requests must present it in
//     X-Consul-Token, an Authorization: Bearer header or ?token=; an unknown
//     token is 403 "ACL not found".
//
// Blocking queries (?index=&wait=) are answered immediately.
type Consul struct {
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	index    uint64
	kv       map[string]*consulKV
	services map[string]*consulService
	requests int
}

type consulKV struct {
	value                    []byte
	flags                    uint64
	createIndex, modifyIndex uint64
}

type consulService struct {
	ID, Service, Address string
	Tags                 []string
	Port                 int
	Meta                 map[string]string
	checkStatus          string
	hasCheck             bool
}

// NewConsul starts a Consul double; with a non-empty token every request must
// present it. It stops when the test ends.
func NewConsul(tb testing.TB, token string) *Consul {
	tb.Helper()
	c := &Consul{token: token, index: 1, kv: map[string]*consulKV{}, services: map[string]*consulService{}}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	tb.Cleanup(c.srv.Close)
	return c
}

// URL is the base URL, http://127.0.0.1:port.
func (c *Consul) URL() string { return c.srv.URL }

// Addr is host:port.
func (c *Consul) Addr() string { return strings.TrimPrefix(c.srv.URL, "http://") }

// Requests counts the requests served.
func (c *Consul) Requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests
}

// Service returns a registered service by ID.
func (c *Consul) Service(id string) (name string, tags []string, port int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.services[id]
	if !ok {
		return "", nil, 0, false
	}
	return s.Service, slices.Clone(s.Tags), s.Port, true
}

func consulError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg)
}

func (c *Consul) serve(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	if r.URL.Path == "/v1/status/leader" { // no ACL on the status endpoints
		c.writeJSON(w, http.StatusOK, "127.0.0.1:8300")
		return
	}
	if c.token != "" {
		tok := r.Header.Get("X-Consul-Token")
		if tok == "" {
			tok = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
		if tok == "" {
			tok = r.URL.Query().Get("token")
		}
		if tok != c.token {
			consulError(w, http.StatusForbidden, "ACL not found")
			return
		}
	}
	w.Header().Set("X-Consul-KnownLeader", "true")
	w.Header().Set("X-Consul-LastContact", "0")
	path := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(path, "/v1/kv/"):
		key, err := url.PathUnescape(strings.TrimPrefix(path, "/v1/kv/"))
		if err != nil {
			consulError(w, http.StatusBadRequest, "invalid key")
			return
		}
		c.serveKV(w, r, key)
	case path == "/v1/agent/service/register":
		c.register(w, r)
	case strings.HasPrefix(path, "/v1/agent/service/deregister/"):
		c.deregister(w, r, strings.TrimPrefix(path, "/v1/agent/service/deregister/"))
	case strings.HasPrefix(path, "/v1/health/service/"):
		c.health(w, r, strings.TrimPrefix(path, "/v1/health/service/"))
	default:
		consulError(w, http.StatusNotFound, "404 page not found")
	}
}

type kvPairJSON struct {
	LockIndex   uint64
	Key         string
	Flags       uint64
	Value       []byte
	CreateIndex uint64
	ModifyIndex uint64
}

func (c *Consul) writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Consul-Index", strconv.FormatUint(c.index, 10))
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (c *Consul) serveKV(w http.ResponseWriter, r *http.Request, key string) {
	q := r.URL.Query()
	_, recurse := q["recurse"]
	switch r.Method {
	case http.MethodGet:
		var keys []string
		for k := range c.kv {
			if k == key || ((recurse || q.Has("keys")) && strings.HasPrefix(k, key)) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		if len(keys) == 0 {
			w.Header().Set("X-Consul-Index", strconv.FormatUint(c.index, 10))
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if q.Has("keys") {
			c.writeJSON(w, http.StatusOK, keys)
			return
		}
		if q.Has("raw") {
			w.Header().Set("X-Consul-Index", strconv.FormatUint(c.index, 10))
			_, _ = w.Write(c.kv[keys[0]].value)
			return
		}
		out := make([]kvPairJSON, len(keys))
		for i, k := range keys {
			e := c.kv[k]
			out[i] = kvPairJSON{Key: k, Flags: e.flags, Value: e.value, CreateIndex: e.createIndex, ModifyIndex: e.modifyIndex}
		}
		c.writeJSON(w, http.StatusOK, out)
	case http.MethodPut:
		if key == "" {
			consulError(w, http.StatusBadRequest, "Missing key name")
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 512*1024+1))
		if err != nil {
			consulError(w, http.StatusBadRequest, err.Error())
			return
		}
		if len(body) > 512*1024 {
			consulError(w, http.StatusRequestEntityTooLarge, "Request body(524289 bytes) too large, max size: 524288 bytes.")
			return
		}
		var flags uint64
		if f := q.Get("flags"); f != "" {
			if flags, err = strconv.ParseUint(f, 10, 64); err != nil {
				consulError(w, http.StatusBadRequest, "Invalid flags: "+err.Error())
				return
			}
		}
		cur := c.kv[key]
		if s := q.Get("cas"); s != "" {
			cas, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				consulError(w, http.StatusBadRequest, "Invalid CAS index: "+err.Error())
				return
			}
			if (cas == 0 && cur != nil) || (cas != 0 && (cur == nil || cur.modifyIndex != cas)) {
				c.writeJSON(w, http.StatusOK, false)
				return
			}
		}
		c.index++
		if cur == nil {
			cur = &consulKV{createIndex: c.index}
			c.kv[key] = cur
		}
		cur.value, cur.flags, cur.modifyIndex = body, flags, c.index
		c.writeJSON(w, http.StatusOK, true)
	case http.MethodDelete:
		if s := q.Get("cas"); s != "" {
			cas, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				consulError(w, http.StatusBadRequest, "Invalid CAS index: "+err.Error())
				return
			}
			if cur := c.kv[key]; cur == nil || cur.modifyIndex != cas {
				c.writeJSON(w, http.StatusOK, false)
				return
			}
		}
		c.index++
		for k := range c.kv {
			if k == key || (recurse && strings.HasPrefix(k, key)) {
				delete(c.kv, k)
			}
		}
		c.writeJSON(w, http.StatusOK, true)
	default:
		consulError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

type agentCheckJSON struct {
	HTTP, TCP, TTL, Interval, Timeout, Status string
	DeregisterCriticalServiceAfter            string
}

type agentServiceJSON struct {
	ID, Name, Address string
	Tags              []string
	Port              int
	Meta              map[string]string
	Check             *agentCheckJSON
	Checks            []*agentCheckJSON
}

var checkStatuses = []string{"passing", "warning", "critical"}

func (c *Consul) register(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		consulError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	var reg agentServiceJSON
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&reg); err != nil {
		consulError(w, http.StatusBadRequest, "Request decode failed: "+err.Error())
		return
	}
	if reg.Name == "" {
		consulError(w, http.StatusBadRequest, "Missing service name")
		return
	}
	if reg.ID == "" {
		reg.ID = reg.Name
	}
	s := &consulService{ID: reg.ID, Service: reg.Name, Address: reg.Address, Tags: reg.Tags, Port: reg.Port, Meta: reg.Meta, checkStatus: "passing"}
	for _, ck := range append([]*agentCheckJSON{reg.Check}, reg.Checks...) {
		if ck == nil {
			continue
		}
		if ck.HTTP == "" && ck.TCP == "" && ck.TTL == "" {
			consulError(w, http.StatusBadRequest, "Invalid check: TTL, HTTP, TCP or another check type is required")
			return
		}
		if ck.TTL == "" && ck.Interval == "" {
			consulError(w, http.StatusBadRequest, "Invalid check: Interval is required for HTTP and TCP checks")
			return
		}
		status := ck.Status
		if status == "" {
			status = "critical"
		}
		if !slices.Contains(checkStatuses, status) {
			consulError(w, http.StatusBadRequest, "Invalid check status: "+status)
			return
		}
		s.hasCheck = true
		if slices.Index(checkStatuses, status) > slices.Index(checkStatuses, s.checkStatus) {
			s.checkStatus = status
		}
	}
	c.index++
	c.services[reg.ID] = s
	w.WriteHeader(http.StatusOK)
}

func (c *Consul) deregister(w http.ResponseWriter, r *http.Request, id string) {
	if r.Method != http.MethodPut {
		consulError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	id, _ = url.PathUnescape(id)
	if _, ok := c.services[id]; !ok {
		consulError(w, http.StatusNotFound, "Unknown service ID \""+id+"\". Ensure that the service ID is passed, not the service name.")
		return
	}
	c.index++
	delete(c.services, id)
	w.WriteHeader(http.StatusOK)
}

func (c *Consul) health(w http.ResponseWriter, r *http.Request, name string) {
	if r.Method != http.MethodGet {
		consulError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	name, _ = url.PathUnescape(name)
	q := r.URL.Query()
	passingOnly := false
	if v, ok := q["passing"]; ok {
		passingOnly = len(v) == 0 || v[0] == "" || v[0] == "true" || v[0] == "1"
	}
	tags := q["tag"]
	type node struct{ ID, Node, Address, Datacenter string }
	type check struct{ Node, CheckID, Name, Status, ServiceID, ServiceName string }
	type svc struct {
		ID, Service, Address string
		Tags                 []string
		Port                 int
		Meta                 map[string]string
	}
	type entry struct {
		Node    node
		Service svc
		Checks  []check
	}
	out := []entry{}
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range c.services {
			if !yield(id) {
				return
			}
		}
	})
	for _, id := range ids {
		s := c.services[id]
		if s.Service != name {
			continue
		}
		if passingOnly && s.checkStatus != "passing" {
			continue
		}
		if !containsAll(s.Tags, tags) {
			continue
		}
		e := entry{
			Node:    node{ID: "00000000-0000-0000-0000-000000000001", Node: "node-1", Address: "127.0.0.1", Datacenter: "dc1"},
			Service: svc{ID: s.ID, Service: s.Service, Address: s.Address, Tags: s.Tags, Port: s.Port, Meta: s.Meta},
			Checks:  []check{{Node: "node-1", CheckID: "serfHealth", Name: "Serf Health Status", Status: "passing"}},
		}
		if s.hasCheck {
			e.Checks = append(e.Checks, check{Node: "node-1", CheckID: "service:" + s.ID, Name: "Service '" + s.Service + "' check", Status: s.checkStatus, ServiceID: s.ID, ServiceName: s.Service})
		}
		out = append(out, e)
	}
	c.writeJSON(w, http.StatusOK, out)
}

func containsAll(have, want []string) bool {
	for _, t := range want {
		if !slices.Contains(have, t) {
			return false
		}
	}
	return true
}
