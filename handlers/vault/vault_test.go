package vault

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"go.uber.org/goleak"

	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/handlers/internal/builtintest"
	"github.com/onexhost/onex/internal/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const rootToken = "hvs.root-4c2a-never-shown"

func open(t *testing.T, address string, config map[string]any, token string) *Vault {
	t.Helper()
	cfg := map[string]any{"address": address}
	maps.Copy(cfg, config)
	host := strings.TrimPrefix(strings.TrimPrefix(address, "http://"), "https://")
	return builtintest.Open(t, ImportPath, cfg, testkit.Grant{Name: "vault", AllowedDomains: []string{host},
		SecretScopes: []string{"vault"}, Secrets: map[string]string{"vault/token": token}}).(*Vault)
}

func call(t *testing.T, h *Vault, verb string, payload any) (any, error) {
	t.Helper()
	return builtintest.Call(t, h, "vault", verb, payload)
}

func mustJSON(t *testing.T, h *Vault, verb string, payload any) string {
	t.Helper()
	res, err := call(t, h, verb, payload)
	return testkit.ResultJSON(t, fmt.Sprintf("%s %v", verb, payload), res, err)
}

func TestFactoryRegistered(t *testing.T) {
	builtintest.Factory(t, ImportPath, handler.Uses{Egress: true, Secrets: true},
		[]string{"read_secret", "write_secret", "delete_secret", "list_secrets"}, verbTable.Verbs())
}

func TestConfig(t *testing.T) {
	builtintest.Configs(t, ImportPath, []builtintest.ConfigCase{
		{Name: "defaults", Config: `{}`},
		{Name: "full", Config: `{"address":"https://vault.example:8200","mount":"kv","namespace":"ns","token":"[redacted]","timeout":"2s"}`},
		{Name: "unix", Config: `{"address":"unix:///run/vault.sock"}`, WantErr: "address:"},
		{Name: "no scheme", Config: `{"address":"vault:8200"}`, WantErr: "address:"},
		{Name: "bad mount", Config: `{"mount":"a/../b"}`, WantErr: "mount:"},
		{Name: "both tokens", Config: `{"token":"x","token_secret":"vault/token"}`, WantErr: "token, token_secret"},
		{Name: "bad token secret", Config: `{"token_secret":"vault"}`, WantErr: "token_secret:"},
		{Name: "bad timeout", Config: `{"timeout":"fast"}`, WantErr: "timeout:"},
		{Name: "unknown", Config: `{"mounts":"x"}`, WantErr: "mounts: unknown field"},
	})
}

func TestKVv2(t *testing.T) {
	v := testkit.NewVault(t, rootToken, "secret", "kv")
	h := open(t, v.URL(), nil, rootToken)
	steps := []struct {
		name, verb string
		payload    map[string]any
		want       string
	}{
		{"missing", "read_secret", map[string]any{"path": "app/db"}, `{"found":false,"path":"app/db","mount":"secret"}`},
		{"list nothing", "list_secrets", map[string]any{"path": "app"}, `{"path":"app","mount":"secret","keys":[]}`},
		{"write", "write_secret", map[string]any{"path": "app/db", "data": map[string]any{"user": "u", "password": "p1"}, "cas": 0}, `{"path":"app/db","mount":"secret","version":1,"created_time":"2024-01-01T00:00:01Z"}`},
		{"write v2", "write_secret", map[string]any{"path": "app/db", "data": map[string]any{"user": "u", "password": "p2"}, "cas": 1}, `{"path":"app/db","mount":"secret","version":2,"created_time":"2024-01-01T00:00:02Z"}`},
		{"read current", "read_secret", map[string]any{"path": "app/db"}, `{"found":true,"path":"app/db","mount":"secret","data":{"password":"p2","user":"u"},"version":2,"created_time":"2024-01-01T00:00:02Z"}`},
		{"read version 1", "read_secret", map[string]any{"path": "app/db", "version": 1}, `{"found":true,"path":"app/db","mount":"secret","data":{"password":"p1","user":"u"},"version":1,"created_time":"2024-01-01T00:00:01Z"}`},
		{"read missing version", "read_secret", map[string]any{"path": "app/db", "version": 9}, `{"found":false,"path":"app/db","mount":"secret"}`},
		{"other mount", "write_secret", map[string]any{"path": "x", "mount": "kv", "data": map[string]any{"a": 1}}, `{"path":"x","mount":"kv","version":1,"created_time":"2024-01-01T00:00:03Z"}`},
		{"nested", "write_secret", map[string]any{"path": "app/sub/key", "data": map[string]any{"k": "v"}}, `{"path":"app/sub/key","mount":"secret","version":1,"created_time":"2024-01-01T00:00:04Z"}`},
		{"list", "list_secrets", map[string]any{"path": "app/"}, `{"path":"app","mount":"secret","keys":["db","sub/"]}`},
		{"soft delete latest", "delete_secret", map[string]any{"path": "app/db"}, `{"path":"app/db","mount":"secret","deleted":"latest"}`},
		{"read deleted", "read_secret", map[string]any{"path": "app/db"}, `{"found":false,"path":"app/db","mount":"secret","version":2,"created_time":"2024-01-01T00:00:02Z","deleted":true}`},
		{"older version still there", "read_secret", map[string]any{"path": "app/db", "version": 1}, `{"found":true,"path":"app/db","mount":"secret","data":{"password":"p1","user":"u"},"version":1,"created_time":"2024-01-01T00:00:01Z"}`},
		{"delete version 1", "delete_secret", map[string]any{"path": "app/db", "versions": []int{1}}, `{"path":"app/db","mount":"secret","deleted":"versions"}`},
		{"delete all", "delete_secret", map[string]any{"path": "app/db", "all_versions": true}, `{"path":"app/db","mount":"secret","deleted":"all"}`},
		{"gone", "read_secret", map[string]any{"path": "app/db", "version": 1}, `{"found":false,"path":"app/db","mount":"secret"}`},
	}
	for _, s := range steps {
		if got := mustJSON(t, h, s.verb, s.payload); got != s.want {
			t.Fatalf("%s: %s %v =\n %s\nwant\n %s", s.name, s.verb, s.payload, got, s.want)
		}
	}
}

func TestCASConflict(t *testing.T) {
	v := testkit.NewVault(t, rootToken)
	v.Put("secret", "app/cfg", map[string]any{"a": "1"})
	h := open(t, v.URL(), nil, rootToken)
	for _, cas := range []int{0, 2} {
		_, err := call(t, h, "write_secret", map[string]any{"path": "app/cfg", "data": map[string]any{"a": "2"}, "cas": cas})
		he := testkit.HandlerError(t, err)
		if he.Retryable || he.Details["status_code"] != 400 || he.Details["cas"] != cas || !strings.Contains(he.Hint, "current version") {
			t.Fatalf("cas %d: %+v %v", cas, he, he.Details)
		}
	}
}

func TestBadTokenAndUnknownMount(t *testing.T) {
	v := testkit.NewVault(t, rootToken)
	t.Setenv("VAULT_TOKEN", rootToken) // ambient credentials are never used
	bad := open(t, v.URL(), nil, "hvs.wrong-81")
	_, err := call(t, bad, "read_secret", map[string]any{"path": "a"})
	he := testkit.HandlerError(t, err)
	if he.Retryable || he.Details["status_code"] != 403 || !strings.Contains(he.Hint, "token") {
		t.Fatalf("bad token: %+v", he)
	}
	for _, s := range []string{he.Error(), fmt.Sprintf("%+v", he)} {
		if strings.Contains(s, "hvs.wrong-81") || strings.Contains(s, rootToken) {
			t.Fatalf("error shows a token: %s", s)
		}
	}
	good := open(t, v.URL(), nil, rootToken)
	_, err = call(t, good, "write_secret", map[string]any{"path": "a", "mount": "nomount", "data": map[string]any{"x": 1}})
	he = testkit.HandlerError(t, err)
	if he.Retryable || he.Details["status_code"] != 404 {
		t.Fatalf("unknown mount: %+v", he)
	}
}

func TestInvalidPayload(t *testing.T) {
	v := testkit.NewVault(t, rootToken)
	h := open(t, v.URL(), nil, rootToken)
	builtintest.InvalidPayloads(t, h, "vault", []builtintest.PayloadCase{
		{Verb: "read_secret", Payload: `{}`, Field: "path"},
		{Verb: "read_secret", Payload: `{"path":"a/../b"}`, Field: "path"},
		{Verb: "read_secret", Payload: `{"path":"a","version":-1}`, Field: "version"},
		{Verb: "read_secret", Payload: `{"path":"a","token":"x"}`, Field: "token"},
		{Verb: "write_secret", Payload: `{"path":"a"}`, Field: "data"},
		{Verb: "write_secret", Payload: `{"path":"a","data":{},"cas":-2}`, Field: "cas"},
		{Verb: "write_secret", Payload: `{"path":"a","data":"text"}`, Field: "data"},
		{Verb: "delete_secret", Payload: `{"path":"a","versions":[1],"all_versions":true}`, Field: "versions"},
		{Verb: "delete_secret", Payload: `{"path":"a","versions":[0]}`, Field: "versions[0]"},
		{Verb: "list_secrets", Payload: `{"mount":"/"}`, Field: "mount"},
	})
	if n := v.Requests(); n != 0 {
		t.Fatalf("%d requests reached Vault for invalid payloads", n)
	}
}

func TestEgressDenied(t *testing.T) {
	v := testkit.NewVault(t, rootToken)
	h := builtintest.Open(t, ImportPath, map[string]any{"address": v.URL()}, testkit.Grant{AllowedDomains: []string{"vault.example.internal"},
		SecretScopes: []string{"vault"}, Secrets: map[string]string{"vault/token": rootToken}}).(*Vault)
	_, err := call(t, h, "read_secret", map[string]any{"path": "a"})
	he := testkit.HandlerError(t, err)
	var ve *handler.ValidationError
	if !errors.As(err, &ve) || ve.RuleID != "SECURITY-310" || he.Details["rule_id"] != "SECURITY-310" || he.Retryable || he.Hint == "" {
		t.Fatalf("error = %+v, want a permanent SECURITY-310", he)
	}
	if v.Requests() != 0 {
		t.Fatal("the request reached Vault")
	}
}

func TestUnreachableIsTransient(t *testing.T) {
	h := open(t, "http://"+builtintest.ClosedAddr(t), nil, rootToken)
	_, err := call(t, h, "read_secret", map[string]any{"path": "a"})
	if he := testkit.HandlerError(t, err); !he.Retryable {
		t.Fatalf("unreachable = %+v, want retryable", he)
	}
}

func TestInitErrors(t *testing.T) {
	builtintest.InitErrors(t, ImportPath, []builtintest.InitCase{
		{Name: "no egress", Config: `{}`, Caps: handler.Capabilities{}, WantErr: "no egress capability"},
		{Name: "vault/token by default, missing", Config: `{}`, Caps: testkit.Capabilities(t, testkit.Grant{SecretScopes: []string{"vault"}}), WantErr: "token_secret vault/token"},
		{Name: "scope not declared", Config: `{}`, Caps: testkit.Capabilities(t, testkit.Grant{Secrets: map[string]string{"vault/token": "x"}}), WantErr: "SECURITY-311"},
		{Name: "unresolved", Config: `{"token":"[redacted]"}`, Caps: testkit.Capabilities(t, testkit.Grant{}), WantErr: "not resolved"},
	})
}

// TestLiveVault runs a write/read/list/delete round trip against a real Vault
// when VAULT_ADDR and VAULT_TOKEN are set (KV v2 at VAULT_KV_MOUNT, default
// secret).
func TestLiveVault(t *testing.T) {
	addr, token := os.Getenv("VAULT_ADDR"), os.Getenv("VAULT_TOKEN")
	if addr == "" || token == "" {
		t.Skip("live Vault test skipped: VAULT_ADDR and VAULT_TOKEN are not both set (the protocol double covers the API)")
	}
	cfg := map[string]any{}
	if m := os.Getenv("VAULT_KV_MOUNT"); m != "" {
		cfg["mount"] = m
	}
	h := open(t, addr, cfg, token)
	path := fmt.Sprintf("onex-test/%d", os.Getpid())
	defer call(t, h, "delete_secret", map[string]any{"path": path, "all_versions": true})
	if _, err := call(t, h, "write_secret", map[string]any{"path": path, "data": map[string]any{"k": "v"}, "cas": 0}); err != nil {
		t.Fatal(err)
	}
	res, err := call(t, h, "read_secret", map[string]any{"path": path})
	if err != nil || !res.(*ReadResult).Found || res.(*ReadResult).Data["k"] != "v" {
		t.Fatalf("read = %+v, %v", res, err)
	}
	res, err = call(t, h, "list_secrets", map[string]any{"path": "onex-test"})
	if err != nil || len(res.(*ListResult).Keys) == 0 {
		t.Fatalf("list = %+v, %v", res, err)
	}
}

func TestHealthAndSealed(t *testing.T) {
	v := testkit.NewVault(t, rootToken)
	h := open(t, v.URL(), nil, rootToken)
	if err := h.Health(context.Background()); err != nil {
		t.Fatalf("Health: %v", err)
	}
	v.SetSealed(true)
	if err := h.Health(context.Background()); err == nil || !strings.Contains(err.Error(), "sealed") {
		t.Fatalf("Health of a sealed vault = %v", err)
	}
	// A sealed Vault answers 503: transient, the envelope may be retried.
	_, err := call(t, h, "read_secret", map[string]any{"path": "a"})
	if he := testkit.HandlerError(t, err); !he.Retryable || he.Details["status_code"] != 503 {
		t.Fatalf("sealed read = %+v", he)
	}
	down := open(t, "http://"+builtintest.ClosedAddr(t), nil, rootToken)
	if err := down.Health(context.Background()); err == nil {
		t.Fatal("Health of an unreachable vault passed")
	}
}

// TestStatusClassification: what each HTTP status of Vault's
// *api.ResponseError becomes; 412 (a standby behind) is retried.
func TestStatusClassification(t *testing.T) {
	for code, want := range map[int]struct {
		retryable bool
		hint      string // a word of the hint; "" for none
	}{
		412: {true, ""}, 429: {true, ""}, 500: {true, ""}, 503: {true, ""},
		400: {false, ""}, 403: {false, "policies"}, 404: {false, "mount"},
	} {
		err := vaultAPI.Call(context.Background(), time.Minute, "read_secret secret/a", func(context.Context) error {
			return &api.ResponseError{StatusCode: code, Errors: []string{"one", "two"}}
		})
		he := testkit.HandlerError(t, err)
		if msg := fmt.Sprintf("vault read_secret secret/a: HTTP %d: one; two", code); he.Retryable != want.retryable ||
			he.Details["status_code"] != code || he.Message != msg || !strings.Contains(he.Hint, want.hint) || (want.hint == "") != (he.Hint == "") {
			t.Errorf("HTTP %d: %+v, want retryable %v, hint with %q, message %q", code, he, want.retryable, want.hint, msg)
		}
	}
}
