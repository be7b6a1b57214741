package db_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onexhost/onex/cli"
	_ "github.com/onexhost/onex/handlers/all" // the built-in handlers, as cmd/onex links them
	"github.com/onexhost/onex/internal/testkit"
)

// TestBootstrapEndToEnd runs `onex run --mode bootstrap --stdin` with the four
// built-in effect handlers configured from onex.yaml and their secrets from the
// environment: PostgreSQL for real, a local HTTP server, and the Consul and
// Vault protocol doubles. It also checks `onex handlers` and a SECURITY-310
// refusal through the whole pipeline.
func TestBootstrapEndToEnd(t *testing.T) {
	dsn, _ := testkit.PostgresSchema(t)
	pg, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/orders" {
			http.NotFound(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"received":%s,"auth":%q}`, body, r.Header.Get("Authorization"))
	}))
	defer api.Close()
	elsewhere := httptest.NewServer(http.NotFoundHandler())
	defer elsewhere.Close()
	consul := testkit.NewConsul(t, "consul-acl")
	vault := testkit.NewVault(t, "vault-token")
	apiHost := strings.TrimPrefix(api.URL, "http://")

	t.Setenv("ONEX_SECRET_DB_DSN", dsn)
	t.Setenv("ONEX_SECRET_HTTP_BEARER", "Bearer b-123")
	t.Setenv("ONEX_SECRET_CONSUL_TOKEN", "consul-acl")
	t.Setenv("ONEX_SECRET_VAULT_TOKEN", "vault-token")
	dir := t.TempDir()
	cfg := fmt.Sprintf(`handler_source:
  mode: bootstrap
environment:
  name: development
runtime:
  invocation_timeout: 10s
bootstrap:
  db:
    config: {dsn_secret: db/dsn, max_rows: 2}
    security: {allowed_domains: [%q]}
  http:
    config:
      base_url: %s
      headers: {Authorization: {secret: http/bearer}}
    security: {allowed_domains: [%q], secret_scopes: [http]}
  consul:
    config: {address: %q, token_secret: consul/token}
    security: {allowed_domains: [%q]}
  vault:
    config: {address: %q}
    security: {allowed_domains: [%q]}
`, pg.Host, api.URL, apiHost, consul.Addr(), consul.Addr(), vault.URL(), vault.Addr())
	path := filepath.Join(dir, "onex.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	// The stdin bridge runs envelopes concurrently (answering in input
	// order), so steps that depend on each other go in separate runs.
	type step struct {
		envelope string
		want     string // a fragment of the response, or of its error
	}
	phases := [][]step{{
		{`{"operation":"db.execute","payload":{"sql":"CREATE TABLE orders (id int PRIMARY KEY, total numeric)"}}`, `"result":{"row_count":0}`},
		{`{"operation":"http.post","payload":{"path":"/orders","body":{"id":7}}}`, `"body":{"received":{"id":7},"auth":"Bearer b-123"}`},
		{`{"operation":"http.get","payload":{"path":"/missing"}}`, `"status_code":404`},
		{`{"operation":"http.get","payload":{"url":"` + elsewhere.URL + `/"}}`, `"rule_id":"SECURITY-310"`},
		{`{"operation":"consul.kv_put","payload":{"key":"cfg/mode","value":"blue"}}`, `"success":true`},
		{`{"operation":"consul.register","payload":{"name":"orders","service_id":"orders-1","port":8080,"check":{"ttl":"30s","status":"passing"}}}`, `"service_id":"orders-1"`},
		{`{"operation":"vault.write_secret","payload":{"path":"orders/api","data":{"key":"k-1"},"cas":0}}`, `"version":1`},
	}, {
		{`{"operation":"db.transaction","payload":{"statements":[{"sql":"INSERT INTO orders VALUES ($1, $2)","parameters":[1, 9.99]},{"sql":"INSERT INTO orders VALUES ($1, $2)","parameters":[2, 100.10]},{"sql":"INSERT INTO orders VALUES (3, 0)"}]}}`, `"row_count":3`},
		{`{"operation":"consul.kv_get","payload":{"key":"cfg/mode"}}`, `"value":"blue"`},
		{`{"operation":"consul.services","payload":{"name":"orders","passing_only":true}}`, `"id":"orders-1"`},
		{`{"operation":"vault.read_secret","payload":{"path":"orders/api"}}`, `"data":{"key":"k-1"}`},
		{`{"operation":"vault.list_secrets","payload":{"path":"orders"}}`, `"keys":["api"]`},
	}, {
		{`{"operation":"db.query","payload":{"sql":"SELECT id, total FROM orders ORDER BY id"}}`, `"rows":[{"id":1,"total":9.99},{"id":2,"total":100.10}],"row_count":2,"truncated":true`},
		{`{"operation":"db.execute","payload":{"sql":"INSERT INTO orders VALUES (1, 1)"}}`, `"sqlstate":"23505"`},
	}}
	var logs bytes.Buffer
	for p, steps := range phases {
		var in, out, errOut bytes.Buffer
		for _, s := range steps {
			in.WriteString(s.envelope + "\n")
		}
		if code := cli.Run(context.Background(), []string{"run", "--config", path, "--stdin"}, &in, &out, &errOut); code != 0 {
			t.Fatalf("phase %d: onex run exited %d:\n%s", p, code, errOut.String())
		}
		logs.Write(errOut.Bytes())
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != len(steps) {
			t.Fatalf("phase %d: %d responses for %d envelopes:\n%s\n%s", p, len(lines), len(steps), out.String(), errOut.String())
		}
		for i, s := range steps {
			if !strings.Contains(lines[i], s.want) {
				t.Errorf("phase %d envelope %s\nresponse %s\nwant it to contain %s", p, s.envelope, lines[i], s.want)
			}
		}
	}
	for _, secret := range []string{"b-123", "consul-acl", "vault-token", pg.String()} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the logs show a secret (%s)", secret)
		}
	}

	// onex handlers lists the four with their status, config redacted.
	var out, errOut bytes.Buffer
	if code := cli.Run(context.Background(), []string{"handlers", "--config", path, "--format", "json"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("onex handlers exited %d:\n%s", code, errOut.String())
	}
	var listing struct {
		Handlers []struct {
			Name   string `json:"handler_name"`
			Status string `json:"status"`
		} `json:"handlers"`
	}
	if err := json.Unmarshal(out.Bytes(), &listing); err != nil {
		t.Fatalf("onex handlers --format json: %v\n%s", err, out.String())
	}
	var got []string
	for _, h := range listing.Handlers {
		got = append(got, h.Name+":"+h.Status)
	}
	if strings.Join(got, ",") != "consul:valid,db:valid,http:valid,vault:valid" {
		t.Errorf("onex handlers = %v", got)
	}
}
