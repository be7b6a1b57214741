package testkit

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type exchange struct {
	method, path, body, token string
	status                    int
	wantBody                  string // substring
	wantHeader                string // header that must be present
}

func run(t *testing.T, base, tokenHeader string, steps []exchange) {
	t.Helper()
	client := &http.Client{}
	defer client.CloseIdleConnections()
	for i, s := range steps {
		req, err := http.NewRequest(s.method, base+s.path, strings.NewReader(s.body))
		if err != nil {
			t.Fatal(err)
		}
		if s.token != "" {
			req.Header.Set(tokenHeader, s.token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != s.status || !strings.Contains(string(body), s.wantBody) ||
			(s.wantHeader != "" && resp.Header.Get(s.wantHeader) == "") {
			t.Fatalf("step %d %s %s: %d %s (headers %v), want %d containing %q with %s",
				i, s.method, s.path, resp.StatusCode, body, resp.Header, s.status, s.wantBody, s.wantHeader)
		}
	}
}

// TestConsulProtocol checks the double against the documented wire behaviour,
// without the official client in between.
func TestConsulProtocol(t *testing.T) {
	c := NewConsul(t, "tok")
	run(t, c.URL(), "X-Consul-Token", []exchange{
		{method: "GET", path: "/v1/kv/a", status: 403, wantBody: "ACL not found"},
		{method: "GET", path: "/v1/kv/a", token: "tok", status: 404, wantHeader: "X-Consul-Index"},
		{method: "PUT", path: "/v1/kv/a?cas=0", body: "v1", token: "tok", status: 200, wantBody: "true"},
		{method: "PUT", path: "/v1/kv/a?cas=0", body: "v2", token: "tok", status: 200, wantBody: "false"},
		{method: "PUT", path: "/v1/kv/a/b?flags=3", body: "x", token: "tok", status: 200, wantBody: "true"},
		{method: "GET", path: "/v1/kv/a", token: "tok", status: 200, wantBody: `"Value":"djE="`, wantHeader: "X-Consul-Index"},
		{method: "GET", path: "/v1/kv/a?recurse", token: "tok", status: 200, wantBody: `"Flags":3`},
		{method: "GET", path: "/v1/kv/a?keys", token: "tok", status: 200, wantBody: `["a","a/b"]`},
		{method: "GET", path: "/v1/kv/a?raw", token: "tok", status: 200, wantBody: "v1"},
		{method: "DELETE", path: "/v1/kv/a?cas=1", token: "tok", status: 200, wantBody: "false"},
		{method: "DELETE", path: "/v1/kv/a?recurse", token: "tok", status: 200, wantBody: "true"},
		{method: "GET", path: "/v1/kv/a?recurse", token: "tok", status: 404},
		{method: "PUT", path: "/v1/agent/service/register", body: `{"Port":1}`, token: "tok", status: 400, wantBody: "Missing service name"},
		{method: "PUT", path: "/v1/agent/service/register", body: `{"Name":"web","Check":{"HTTP":"http://x/"}}`, token: "tok", status: 400, wantBody: "Interval"},
		{method: "PUT", path: "/v1/agent/service/register", body: `{"Name":"web","Port":80,"Check":{"TTL":"10s"}}`, token: "tok", status: 200},
		{method: "GET", path: "/v1/health/service/web", token: "tok", status: 200, wantBody: `"Status":"critical"`},
		{method: "GET", path: "/v1/health/service/web?passing", token: "tok", status: 200, wantBody: `[]`},
		{method: "PUT", path: "/v1/agent/service/deregister/nope", token: "tok", status: 404, wantBody: "Unknown service ID"},
		{method: "PUT", path: "/v1/agent/service/deregister/web", token: "tok", status: 200},
		{method: "GET", path: "/v1/status/leader", status: 200, wantBody: "8300"},
	})
}

// TestVaultProtocol checks the KV v2 double against the documented wire
// behaviour.
func TestVaultProtocol(t *testing.T) {
	v := NewVault(t, "root")
	run(t, v.URL(), "X-Vault-Token", []exchange{
		{method: "GET", path: "/v1/secret/data/a", status: 403, wantBody: "permission denied"},
		{method: "GET", path: "/v1/secret/data/a", token: "root", status: 404, wantBody: `"errors":[]`},
		{method: "POST", path: "/v1/secret/data/a", body: `{"data":{"k":"v1"},"options":{"cas":0}}`, token: "root", status: 200, wantBody: `"version":1`},
		{method: "POST", path: "/v1/secret/data/a", body: `{"data":{"k":"v2"},"options":{"cas":0}}`, token: "root", status: 400, wantBody: "check-and-set parameter did not match"},
		{method: "PUT", path: "/v1/secret/data/a", body: `{"data":{"k":"v2"}}`, token: "root", status: 200, wantBody: `"version":2`},
		{method: "GET", path: "/v1/secret/data/a?version=1", token: "root", status: 200, wantBody: `"data":{"k":"v1"}`},
		{method: "LIST", path: "/v1/secret/metadata/", token: "root", status: 200, wantBody: `"keys":["a"]`},
		{method: "GET", path: "/v1/secret/metadata/?list=true", token: "root", status: 200, wantBody: `"keys":["a"]`},
		{method: "GET", path: "/v1/secret/metadata/a", token: "root", status: 200, wantBody: `"current_version":2`},
		{method: "DELETE", path: "/v1/secret/data/a", token: "root", status: 204},
		{method: "GET", path: "/v1/secret/data/a", token: "root", status: 404, wantBody: `"deletion_time":"2024`},
		{method: "POST", path: "/v1/secret/delete/a", body: `{"versions":["1"]}`, token: "root", status: 204},
		{method: "GET", path: "/v1/secret/data/a?version=1", token: "root", status: 404, wantBody: `"data":null`},
		{method: "DELETE", path: "/v1/secret/metadata/a", token: "root", status: 204},
		{method: "LIST", path: "/v1/secret/metadata/", token: "root", status: 404},
		{method: "GET", path: "/v1/other/data/a", token: "root", status: 404, wantBody: "no handler for route"},
		{method: "GET", path: "/v1/sys/health", status: 200, wantBody: `"sealed":false`},
	})
}
