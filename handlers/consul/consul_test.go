package consul

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"go.uber.org/goleak"

	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/handlers/internal/builtintest"
	"github.com/onexhost/onex/internal/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const aclToken = "acl-7f3e-never-shown"

// open makes a handler initialised against addr with the real policy's
// capabilities (allowlist addr's host and port) and the token secret.
func open(t *testing.T, addr string, config map[string]any, token string) *Consul {
	t.Helper()
	cfg := map[string]any{"address": addr, "token_secret": "consul/token"}
	maps.Copy(cfg, config)
	return builtintest.Open(t, ImportPath, cfg, testkit.Grant{Name: "consul", AllowedDomains: []string{hostOf(addr)},
		SecretScopes: []string{"consul"}, Secrets: map[string]string{"consul/token": token}}).(*Consul)
}

func hostOf(addr string) string {
	addr = strings.TrimPrefix(strings.TrimPrefix(addr, "http://"), "https://")
	return addr
}

func call(t *testing.T, h *Consul, verb string, payload any) (any, error) {
	t.Helper()
	return builtintest.Call(t, h, "consul", verb, payload)
}

func mustJSON(t *testing.T, h *Consul, verb string, payload any) string {
	t.Helper()
	res, err := call(t, h, verb, payload)
	return testkit.ResultJSON(t, fmt.Sprintf("%s %v", verb, payload), res, err)
}

func TestFactoryRegistered(t *testing.T) {
	builtintest.Factory(t, ImportPath, handler.Uses{Egress: true, Secrets: true},
		[]string{"kv_get", "kv_put", "kv_delete", "register", "deregister", "services"}, verbTable.Verbs())
}

func TestConfig(t *testing.T) {
	builtintest.Configs(t, ImportPath, []builtintest.ConfigCase{
		{Name: "defaults", Config: `{}`},
		{Name: "url", Config: `{"address":"https://consul.example:8501","datacenter":"dc2","token":"[redacted]","timeout":"3s"}`},
		{Name: "unix socket", Config: `{"address":"unix:///var/run/consul.sock"}`, WantErr: "address: scheme \"unix\""},
		{Name: "path", Config: `{"address":"http://consul:8500/v1"}`, WantErr: "address:"},
		{Name: "no port", Config: `{"address":"consul"}`, WantErr: "address:"},
		{Name: "both tokens", Config: `{"token":"x","token_secret":"consul/token"}`, WantErr: "token, token_secret"},
		{Name: "bad secret", Config: `{"token_secret":"consul"}`, WantErr: "token_secret:"},
		{Name: "bad timeout", Config: `{"timeout":"-1s"}`, WantErr: "timeout:"},
		{Name: "unknown", Config: `{"adress":"x:1"}`, WantErr: "adress: unknown field"},
	})
}

func TestKV(t *testing.T) {
	c := testkit.NewConsul(t, aclToken)
	h := open(t, c.Addr(), nil, aclToken)

	steps := []struct {
		name, verb string
		payload    map[string]any
		want       string
	}{
		{"missing key", "kv_get", map[string]any{"key": "app/a"}, `{"found":false,"key":"app/a","index":1}`},
		{"put", "kv_put", map[string]any{"key": "app/a", "value": "one", "flags": 7}, `{"success":true,"key":"app/a"}`},
		{"get", "kv_get", map[string]any{"key": "app/a"}, `{"found":true,"key":"app/a","pair":{"key":"app/a","value":"one","flags":7,"create_index":2,"modify_index":2},"index":2}`},
		{"cas create-only refused", "kv_put", map[string]any{"key": "app/a", "value": "x", "cas": 0}, `{"success":false,"key":"app/a"}`},
		{"cas stale index refused", "kv_put", map[string]any{"key": "app/a", "value": "x", "cas": 1}, `{"success":false,"key":"app/a"}`},
		{"cas current index", "kv_put", map[string]any{"key": "app/a", "value": "two", "cas": 2}, `{"success":true,"key":"app/a"}`},
		{"binary value", "kv_put", map[string]any{"key": "app/b", "value_base64": "/wA="}, `{"success":true,"key":"app/b"}`},
		{"recurse", "kv_get", map[string]any{"key": "app/", "recurse": true}, `{"found":true,"key":"app/","pairs":[{"key":"app/a","value":"two","flags":0,"create_index":2,"modify_index":3},{"key":"app/b","value_base64":"/wA=","flags":0,"create_index":4,"modify_index":4}],"index":4}`},
		{"delete cas stale", "kv_delete", map[string]any{"key": "app/a", "cas": 2}, `{"success":false,"key":"app/a"}`},
		{"delete cas", "kv_delete", map[string]any{"key": "app/a", "cas": 3}, `{"success":true,"key":"app/a"}`},
		{"delete tree", "kv_delete", map[string]any{"key": "app/", "recurse": true}, `{"success":true,"key":"app/"}`},
		{"recurse empty", "kv_get", map[string]any{"key": "app/", "recurse": true}, `{"found":false,"key":"app/","index":6}`},
	}
	for _, s := range steps {
		if got := mustJSON(t, h, s.verb, s.payload); got != s.want {
			t.Fatalf("%s: %s %v = %s, want %s", s.name, s.verb, s.payload, got, s.want)
		}
	}
}

func TestServices(t *testing.T) {
	c := testkit.NewConsul(t, aclToken)
	h := open(t, c.Addr(), nil, aclToken)
	regs := []map[string]any{
		{"name": "web", "service_id": "web-1", "address": "10.0.0.1", "port": 8080, "tags": []string{"v1"},
			"check": map[string]any{"http": "http://10.0.0.1:8080/health", "interval": "10s", "status": "passing"}},
		{"name": "web", "service_id": "web-2", "port": 8081, "tags": []string{"v1", "canary"},
			"check": map[string]any{"ttl": "30s"}}, // critical until its first heartbeat
		{"name": "db", "port": 5432},
	}
	for _, r := range regs {
		if _, err := call(t, h, "register", r); err != nil {
			t.Fatalf("register %v: %v", r, err)
		}
	}
	if name, tags, port, ok := c.Service("web-2"); !ok || name != "web" || port != 8081 || len(tags) != 2 {
		t.Fatalf("double holds web-2 = %v %v %v %v", name, tags, port, ok)
	}
	tests := []struct {
		payload map[string]any
		want    string
	}{
		{map[string]any{"name": "web"}, `web-1@10.0.0.1:8080 passing,web-2@127.0.0.1:8081 critical`},
		{map[string]any{"name": "web", "passing_only": true}, `web-1@10.0.0.1:8080 passing`},
		{map[string]any{"name": "web", "tag": "canary"}, `web-2@127.0.0.1:8081 critical`},
		{map[string]any{"name": "db"}, `db@127.0.0.1:5432 passing`},
		{map[string]any{"name": "nothing"}, ``},
	}
	for _, tt := range tests {
		res, err := call(t, h, "services", tt.payload)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range res.(*ServicesResult).Services {
			got = append(got, fmt.Sprintf("%s@%s:%d %s", s.ID, s.Address, s.Port, s.Status))
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("services %v = %v, want %s", tt.payload, got, tt.want)
		}
	}
	if got := mustJSON(t, h, "deregister", map[string]any{"service_id": "web-2"}); got != `{"service_id":"web-2"}` {
		t.Fatalf("deregister = %s", got)
	}
	_, err := call(t, h, "deregister", map[string]any{"service_id": "web-2"})
	he := testkit.HandlerError(t, err)
	if he.Retryable || he.Details["status_code"] != 404 || he.Hint == "" {
		t.Fatalf("deregister unknown = %+v", he)
	}
}

func TestInvalidPayload(t *testing.T) {
	c := testkit.NewConsul(t, "")
	h := open(t, c.Addr(), nil, "")
	builtintest.InvalidPayloads(t, h, "consul", []builtintest.PayloadCase{
		{Verb: "kv_get", Payload: `{}`, Field: "key"},
		{Verb: "kv_get", Payload: `{"key":"a","extra":1}`, Field: "extra"},
		{Verb: "kv_put", Payload: `{"value":"x"}`, Field: "key"},
		{Verb: "kv_put", Payload: `{"key":"a","value":"x","value_base64":"eA=="}`, Field: "value_base64"},
		{Verb: "kv_put", Payload: `{"key":"a","value_base64":"***"}`, Field: "value_base64"},
		{Verb: "kv_put", Payload: `{"key":"a","value":"` + strings.Repeat("x", MaxValueBytes+1) + `"}`, Field: "value"},
		{Verb: "kv_put", Payload: `{"key":"a","cas":-1}`, Field: "cas"},
		{Verb: "kv_delete", Payload: `{"key":"","recurse":true}`, Field: "key"},
		{Verb: "kv_delete", Payload: `{"key":"a","recurse":true,"cas":1}`, Field: "cas"},
		{Verb: "register", Payload: `{"port":1}`, Field: "name"},
		{Verb: "register", Payload: `{"name":"a","port":70000}`, Field: "port"},
		{Verb: "register", Payload: `{"name":"a","check":{"http":"http://x/","tcp":"x:1","interval":"1s"}}`, Field: "check"},
		{Verb: "register", Payload: `{"name":"a","check":{"http":"http://x/"}}`, Field: "check.interval"},
		{Verb: "register", Payload: `{"name":"a","check":{"ttl":"soon"}}`, Field: "check.ttl"},
		{Verb: "register", Payload: `{"name":"a","check":{"ttl":"10s","status":"fine"}}`, Field: "check.status"},
		{Verb: "deregister", Payload: `{}`, Field: "service_id"},
		{Verb: "services", Payload: `{"passing_only":true}`, Field: "name"},
	})
	if n := c.Requests(); n != 0 {
		t.Fatalf("%d requests reached Consul for invalid payloads", n)
	}
}

func TestACLToken(t *testing.T) {
	c := testkit.NewConsul(t, aclToken)
	// Ambient credentials of the process are never used.
	t.Setenv("CONSUL_HTTP_TOKEN", aclToken)
	h := open(t, c.Addr(), nil, "wrong-token-3b1")
	_, err := call(t, h, "kv_get", map[string]any{"key": "a"})
	he := testkit.HandlerError(t, err)
	if he.Retryable || he.Details["status_code"] != 403 || !strings.Contains(he.Hint, "ACL token") {
		t.Fatalf("bad token = %+v", he)
	}
	if strings.Contains(he.Error(), "wrong-token-3b1") || strings.Contains(fmt.Sprintf("%+v", he), aclToken) {
		t.Fatalf("error shows a token: %v", he)
	}
	noToken := builtintest.Open(t, ImportPath, map[string]any{"address": c.Addr()}, testkit.Grant{AllowedDomains: []string{c.Addr()}}).(*Consul)
	_, err = call(t, noToken, "kv_get", map[string]any{"key": "a"})
	if he := testkit.HandlerError(t, err); he.Details["status_code"] != 403 {
		t.Fatalf("no token configured but CONSUL_HTTP_TOKEN set: %+v, want 403 (the ambient token must not be sent)", he)
	}
}

func TestEgressDenied(t *testing.T) {
	c := testkit.NewConsul(t, "")
	h := builtintest.Open(t, ImportPath, map[string]any{"address": c.Addr()}, testkit.Grant{AllowedDomains: []string{"consul.example.internal"}}).(*Consul)
	_, err := call(t, h, "kv_get", map[string]any{"key": "a"})
	he := testkit.HandlerError(t, err)
	var ve *handler.ValidationError
	if !errors.As(err, &ve) || ve.RuleID != "SECURITY-310" || he.Details["rule_id"] != "SECURITY-310" || he.Retryable || he.Hint == "" {
		t.Fatalf("error = %+v, want a permanent SECURITY-310", he)
	}
	if c.Requests() != 0 {
		t.Fatal("the request reached Consul")
	}
}

func TestUnreachableIsTransient(t *testing.T) {
	h := open(t, builtintest.ClosedAddr(t), nil, "")
	_, err := call(t, h, "services", map[string]any{"name": "web"})
	if he := testkit.HandlerError(t, err); !he.Retryable {
		t.Fatalf("unreachable = %+v, want retryable", he)
	}
}

func TestInitErrors(t *testing.T) {
	builtintest.InitErrors(t, ImportPath, []builtintest.InitCase{
		{Name: "no egress", Config: `{}`, Caps: handler.Capabilities{}, WantErr: "no egress capability"},
		{Name: "no reader", Config: `{"token_secret":"consul/token"}`, Caps: handler.Capabilities{HTTPClient: testkit.Capabilities(t, testkit.Grant{}).HTTPClient}, WantErr: "no secret reader"},
		{Name: "unresolved", Config: `{"token":"[redacted]"}`, Caps: testkit.Capabilities(t, testkit.Grant{}), WantErr: "not resolved"},
		{Name: "undeclared scope", Config: `{"token_secret":"consul/token"}`, Caps: testkit.Capabilities(t, testkit.Grant{Secrets: map[string]string{"consul/token": "x"}}), WantErr: "SECURITY-311"},
	})
}

// TestLiveConsul runs the KV and service round trip against a real agent when
// CONSUL_HTTP_ADDR is set (CONSUL_HTTP_TOKEN when ACLs are on).
func TestLiveConsul(t *testing.T) {
	addr := os.Getenv("CONSUL_HTTP_ADDR")
	if addr == "" {
		t.Skip("live Consul test skipped: CONSUL_HTTP_ADDR is not set (the protocol double covers the API)")
	}
	h := open(t, addr, nil, os.Getenv("CONSUL_HTTP_TOKEN"))
	key := fmt.Sprintf("onex-test/%d", os.Getpid())
	if _, err := call(t, h, "kv_put", map[string]any{"key": key, "value": "live"}); err != nil {
		t.Fatal(err)
	}
	defer call(t, h, "kv_delete", map[string]any{"key": key})
	res, err := call(t, h, "kv_get", map[string]any{"key": key})
	if err != nil || !res.(*KVGetResult).Found || *res.(*KVGetResult).Pair.Value != "live" {
		t.Fatalf("kv_get = %+v, %v", res, err)
	}
	id := fmt.Sprintf("onex-test-%d", os.Getpid())
	if _, err := call(t, h, "register", map[string]any{"name": "onex-test", "service_id": id, "port": 1,
		"check": map[string]any{"ttl": "60s", "status": "passing"}}); err != nil {
		t.Fatal(err)
	}
	defer call(t, h, "deregister", map[string]any{"service_id": id})
	res, err = call(t, h, "services", map[string]any{"name": "onex-test", "passing_only": true})
	if err != nil || len(res.(*ServicesResult).Services) == 0 {
		t.Fatalf("services = %+v, %v", res, err)
	}
}

func TestHealth(t *testing.T) {
	c := testkit.NewConsul(t, aclToken)
	h := open(t, c.Addr(), nil, aclToken)
	if err := h.Health(context.Background()); err != nil {
		t.Fatalf("Health: %v", err)
	}
	down := open(t, builtintest.ClosedAddr(t), nil, "")
	if err := down.Health(context.Background()); err == nil {
		t.Fatal("Health of an unreachable agent passed")
	}
}

// TestStatusClassification: what each HTTP status of Consul's api.StatusError
// becomes; Consul's 412 is not a retry signal, unlike Vault's.
func TestStatusClassification(t *testing.T) {
	tests := []struct {
		code      int
		retryable bool
		hint      string // a word of the hint; "" for none
	}{
		{429, true, ""}, {500, true, ""}, {503, true, ""},
		{400, false, ""}, {412, false, ""}, {403, false, "ACL token"}, {404, false, "service ID"},
	}
	for _, tt := range tests {
		err := consulAPI.Call(context.Background(), time.Minute, "kv_get a", func(context.Context) error {
			return api.StatusError{Code: tt.code, Body: "the reason"}
		})
		he := testkit.HandlerError(t, err)
		msg := fmt.Sprintf("consul kv_get a: HTTP %d: the reason", tt.code)
		if he.Retryable != tt.retryable || he.Details["status_code"] != tt.code || he.Message != msg ||
			!strings.Contains(he.Hint, tt.hint) || (tt.hint == "") != (he.Hint == "") {
			t.Errorf("HTTP %d: %+v, want retryable %v, hint with %q, message %q", tt.code, he, tt.retryable, tt.hint, msg)
		}
	}
}
