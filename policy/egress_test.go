package policy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
)

// countingListener counts the connections it accepts: a denial must leave the
// denied listener at zero.
type countingListener struct {
	net.Listener
	accepts atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepts.Add(1)
	}
	return c, err
}

type testServer struct {
	srv  *httptest.Server
	ln   *countingListener
	port string
}

// startServer serves h on addr (e.g. 127.0.0.2:0) and counts accepts.
func startServer(t *testing.T, addr string, h http.Handler) *testServer {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	cl := &countingListener{Listener: l}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = cl
	srv.Start()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return &testServer{srv: srv, ln: cl, port: port}
}

// fakeResolver maps names to addresses without DNS and counts lookups.
type fakeResolver struct {
	mu      sync.Mutex
	names   map[string][]netip.Addr
	lookups map[string]int
}

func newResolver(m map[string]string) *fakeResolver {
	r := &fakeResolver{names: map[string][]netip.Addr{}, lookups: map[string]int{}}
	for name, addrs := range m {
		for _, a := range strings.Split(addrs, ",") {
			r.names[name] = append(r.names[name], netip.MustParseAddr(a))
		}
	}
	return r
}

func (r *fakeResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lookups[host]++
	addrs, ok := r.names[strings.ToLower(host)]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, a := range addrs {
		if network == "ip4" && !a.Unmap().Is4() || network == "ip6" && a.Is4() {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

func (r *fakeResolver) count(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lookups[host]
}

// recordingDialer records every address the guard asked for, translates
// unroutable test addresses (documentation and metadata ranges) to local
// listeners, and dials only loopback: whatever the guard lets through, no test
// sends a packet off this machine.
type recordingDialer struct {
	mu        sync.Mutex
	dialed    []string
	translate map[string]string
}

func (d *recordingDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d.mu.Lock()
	d.dialed = append(d.dialed, address)
	to, ok := d.translate[address]
	d.mu.Unlock()
	if !ok {
		to = address
	}
	if ap, err := netip.ParseAddrPort(to); err != nil || !ap.Addr().Unmap().IsLoopback() {
		return nil, fmt.Errorf("test dialer: %s is not a loopback address, not dialed", to)
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, to)
}

func (d *recordingDialer) addresses() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.dialed...)
}

// egressWorld is the fixture: an allowed listener on 127.0.0.1, a denied one on
// 127.0.0.2 (and on ::1 when the host has IPv6), names resolved by a fake.
type egressWorld struct {
	allowed, denied, denied6 *testServer
	resolver                 *fakeResolver
	dialer                   *recordingDialer
	vars                     map[string]string
}

func newEgressWorld(t *testing.T) *egressWorld {
	t.Helper()
	w := &egressWorld{}
	ok := http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(rw, "ok") })
	w.denied = startServer(t, "127.0.0.2:0", ok)
	if l, err := net.Listen("tcp", "[::1]:0"); err == nil {
		_ = l.Close()
		w.denied6 = startServer(t, "[::1]:0", ok)
	}
	mux := http.NewServeMux()
	mux.Handle("/", ok)
	mux.HandleFunc("/redirect", func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	mux.HandleFunc("/hops/{n}", func(rw http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		if n == 0 {
			_, _ = io.WriteString(rw, "ok")
			return
		}
		http.Redirect(rw, r, fmt.Sprintf("/hops/%d", n-1), http.StatusFound)
	})
	w.allowed = startServer(t, "127.0.0.1:0", mux)
	w.vars = map[string]string{"{A}": w.allowed.port, "{D}": w.denied.port, "{D6}": "1"}
	if w.denied6 != nil {
		w.vars["{D6}"] = w.denied6.port
	}
	w.resolver = newResolver(map[string]string{
		"api.allowed.test":       "127.0.0.1",
		"www.allowed.test":       "127.0.0.1",
		"allowed.test":           "127.0.0.2",
		"a.b.allowed.test":       "127.0.0.2",
		"evil.test":              "127.0.0.2",
		"sub.exact.test":         "127.0.0.2",
		"exact.test":             "127.0.0.1",
		"internal.corp.test":     "127.0.0.2",
		"meta.allowed.test":      "169.254.169.254",
		"mixed.allowed.test":     "127.0.0.2,203.0.113.10",
		"nat64.allowed.test":     "64:ff9b::7f00:2",
		"v6only.allowed.test":    "::1",
		"mapped.allowed.test":    "::ffff:127.0.0.2",
		"unspec.allowed.test":    "0.0.0.0",
		"portcheck.test":         "127.0.0.2",
		"public.allowed.test":    "203.0.113.10",
		"private10.allowed.test": "10.1.2.3",
	})
	w.dialer = &recordingDialer{translate: map[string]string{
		"203.0.113.10:" + w.allowed.port:    "127.0.0.1:" + w.allowed.port,
		"169.254.169.254:" + w.allowed.port: "127.0.0.1:" + w.allowed.port,
	}}
	return w
}

func (w *egressWorld) expand(s string) string {
	for k, v := range w.vars {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

func (w *egressWorld) enforcer(t *testing.T, private PrivateNetworks, log io.Writer) *Enforcer {
	t.Helper()
	env := DefaultEnvironment(handler.EnvDevelopment)
	env.EgressPrivateNetworks = private
	o := Options{Environment: env, Resolver: w.resolver, Dial: w.dialer.DialContext}
	if log != nil {
		o.Logger = newJSONLogger(log)
	}
	e := New(o)
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func effectDescriptor(name string, domains ...string) *handler.Descriptor {
	return &handler.Descriptor{
		Name:       name,
		Version:    "1.0.0",
		Type:       handler.TypeInfra,
		Category:   handler.CategoryEffect,
		Commands:   []handler.Command{"partner.get"},
		Security:   handler.Security{AllowedDomains: domains, SecretScopes: []string{}},
		ImportPath: "github.com/onexhost/onex/handlers/httpout",
		SourceType: handler.SourceContract,
		Origin:     "contracts/partner/handler_contract.yaml",
		Locations: map[string]handler.Location{
			"":                         {Line: 1, Column: 1},
			"security.allowed_domains": {Line: 20, Column: 3},
		},
	}
}

// assertDenial checks that err is a located SECURITY-310 of the handler.
func assertDenial(t *testing.T, err error, handlerName, wantMsg string) {
	t.Helper()
	var ve *diag.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) carries no *diag.ValidationError", err, err)
	}
	if ve.RuleID != ruleid.SecurityEgress || ve.HandlerIdentity != handlerName || ve.RemediationHint == "" || ve.ErrorType != handler.ErrSecurityValidation {
		t.Fatalf("denial = %+v, want SECURITY-310 of %s with a hint", ve, handlerName)
	}
	if ve.FilePath == "" || ve.Line != 20 {
		t.Errorf("denial not located at security.allowed_domains: %s:%d", ve.FilePath, ve.Line)
	}
	if wantMsg != "" && !strings.Contains(ve.Message, wantMsg) {
		t.Errorf("message %q does not contain %q", ve.Message, wantMsg)
	}
}

func TestEgressGuard(t *testing.T) {
	w := newEgressWorld(t)
	cases := []struct {
		name    string
		domains []string
		private PrivateNetworks // default allow
		url     string          // fetched with the granted HTTP client
		dial    string          // or dialed with the granted dialer: network address
		wantErr string          // "" = allowed; else a substring of the SECURITY-310 message
		// wantDialed is what the guard may dial (for allowed and redirect cases).
		wantDialed []string
	}{
		// Allowed.
		{name: "allowed exact name", domains: []string{"api.allowed.test"}, url: "http://api.allowed.test:{A}/", wantDialed: []string{"127.0.0.1:{A}"}},
		{name: "allowed one-label wildcard", domains: []string{"*.allowed.test"}, url: "http://www.allowed.test:{A}/", wantDialed: []string{"127.0.0.1:{A}"}},
		{name: "upper case host matches", domains: []string{"api.allowed.test"}, url: "http://API.Allowed.TEST:{A}/", wantDialed: []string{"127.0.0.1:{A}"}},
		{name: "upper case pattern matches", domains: []string{"API.ALLOWED.TEST"}, url: "http://api.allowed.test:{A}/", wantDialed: []string{"127.0.0.1:{A}"}},
		{name: "trailing dot on host ignored", domains: []string{"api.allowed.test"}, url: "http://api.allowed.test.:{A}/", wantDialed: []string{"127.0.0.1:{A}"}},
		{name: "trailing dot on pattern ignored", domains: []string{"api.allowed.test."}, url: "http://api.allowed.test:{A}/", wantDialed: []string{"127.0.0.1:{A}"}},
		{name: "host:port entry on its port", domains: []string{"api.allowed.test:{A}"}, url: "http://api.allowed.test:{A}/", wantDialed: []string{"127.0.0.1:{A}"}},
		{name: "listed IP literal", domains: []string{"127.0.0.1"}, url: "http://127.0.0.1:{A}/", wantDialed: []string{"127.0.0.1:{A}"}},
		{name: "listed CIDR", domains: []string{"127.0.0.0/31"}, url: "http://127.0.0.1:{A}/", wantDialed: []string{"127.0.0.1:{A}"}},
		{name: "metadata address listed explicitly", domains: []string{"169.254.169.254"}, url: "http://169.254.169.254:{A}/", wantDialed: []string{"169.254.169.254:{A}"}},
		{name: "public address under deny", domains: []string{"public.allowed.test"}, private: PrivateNetworksDeny, url: "http://public.allowed.test:{A}/", wantDialed: []string{"203.0.113.10:{A}"}},
		{name: "only the checked address of a mixed answer is dialed", domains: []string{"mixed.allowed.test"}, private: PrivateNetworksDeny, url: "http://mixed.allowed.test:{A}/", wantDialed: []string{"203.0.113.10:{A}"}},
		{name: "redirect within the allowlist", domains: []string{"api.allowed.test", "www.allowed.test"}, url: "http://api.allowed.test:{A}/redirect?to=http://www.allowed.test:{A}/", wantDialed: []string{"127.0.0.1:{A}", "127.0.0.1:{A}"}},
		{name: "five redirects are followed", domains: []string{"api.allowed.test"}, url: "http://api.allowed.test:{A}/hops/5", wantDialed: []string{"127.0.0.1:{A}"}},

		// Denied names.
		{name: "name not listed", domains: []string{"api.allowed.test"}, url: "http://evil.test:{D}/", wantErr: `host "evil.test"`},
		{name: "wildcard does not match two extra labels", domains: []string{"*.allowed.test"}, url: "http://a.b.allowed.test:{D}/", wantErr: "not in allowed_domains"},
		{name: "wildcard does not match the apex", domains: []string{"*.allowed.test"}, url: "http://allowed.test:{D}/", wantErr: "not in allowed_domains"},
		{name: "exact name does not match a subdomain", domains: []string{"exact.test"}, url: "http://sub.exact.test:{D}/", wantErr: "not in allowed_domains"},
		{name: "port mismatch", domains: []string{"portcheck.test:{A}"}, url: "http://portcheck.test:{D}/", wantErr: "not in allowed_domains"},
		{name: "empty allowlist denies everything", domains: nil, url: "http://api.allowed.test:{A}/", wantErr: "allowed_domains is empty"},
		{name: "bare star does not allow IP literals", domains: []string{"*"}, url: "http://127.0.0.2:{D}/", wantErr: "is not listed"},

		// Denied IP literals, in every spelling of 127.0.0.2 and ::1.
		{name: "IP literal not listed", domains: []string{"api.allowed.test"}, url: "http://127.0.0.2:{D}/", wantErr: "IP address 127.0.0.2"},
		{name: "decimal IP literal", domains: []string{"api.allowed.test"}, url: "http://2130706434:{D}/", wantErr: "non-canonical"},
		{name: "octal IP literal", domains: []string{"api.allowed.test"}, url: "http://0177.0.0.2:{D}/", wantErr: "non-canonical"},
		{name: "hex IP literal", domains: []string{"api.allowed.test"}, url: "http://0x7f000002:{D}/", wantErr: "non-canonical"},
		{name: "dotted hex IP literal", domains: []string{"api.allowed.test"}, url: "http://0x7f.0x0.0x0.0x2:{D}/", wantErr: "non-canonical"},
		{name: "short-form IP literal", domains: []string{"api.allowed.test"}, url: "http://127.2:{D}/", wantErr: "non-canonical"},
		{name: "IPv6 loopback literal", domains: []string{"api.allowed.test"}, url: "http://[::1]:{D6}/", wantErr: "IP address ::1"},
		{name: "IPv4-mapped IPv6 literal", domains: []string{"api.allowed.test"}, url: "http://[::ffff:127.0.0.2]:{D}/", wantErr: "is not listed"},
		{name: "IPv4-mapped IPv6 literal in hex", domains: []string{"api.allowed.test"}, url: "http://[::ffff:7f00:2]:{D}/", wantErr: "is not listed"},
		{name: "listed IP on another port", domains: []string{"127.0.0.2:{A}"}, url: "http://127.0.0.2:{D}/", wantErr: "is not listed"},
		{name: "metadata address not listed", domains: []string{"*.allowed.test"}, url: "http://169.254.169.254:{A}/", wantErr: "169.254.169.254"},
		{name: "metadata address inside a listed CIDR", domains: []string{"169.254.0.0/16"}, url: "http://169.254.169.254:{A}/", wantErr: "a CIDR in allowed_domains does not grant it"},

		// Denied resolved addresses.
		{name: "name resolving to loopback under deny", domains: []string{"internal.corp.test"}, private: PrivateNetworksDeny, url: "http://internal.corp.test:{D}/", wantErr: "egress_private_networks: deny"},
		{name: "name resolving to 10/8 under deny", domains: []string{"*.allowed.test"}, private: PrivateNetworksDeny, url: "http://private10.allowed.test:{D}/", wantErr: "egress_private_networks: deny"},
		{name: "name resolving to IPv6 loopback under deny", domains: []string{"*.allowed.test"}, private: PrivateNetworksDeny, url: "http://v6only.allowed.test:{D6}/", wantErr: "egress_private_networks: deny"},
		{name: "name resolving to IPv4-mapped loopback under deny", domains: []string{"*.allowed.test"}, private: PrivateNetworksDeny, url: "http://mapped.allowed.test:{D}/", wantErr: "egress_private_networks: deny"},
		{name: "name resolving to NAT64 of loopback under deny", domains: []string{"*.allowed.test"}, private: PrivateNetworksDeny, url: "http://nat64.allowed.test:{D}/", wantErr: "egress_private_networks: deny"},
		{name: "name resolving to the metadata address under allow", domains: []string{"*.allowed.test"}, url: "http://meta.allowed.test:{A}/", wantErr: "cloud metadata"},
		{name: "name resolving to 0.0.0.0", domains: []string{"*.allowed.test"}, url: "http://unspec.allowed.test:{D}/", wantErr: "unspecified"},

		// Redirects and URL tricks.
		{name: "redirect from allowed to denied host", domains: []string{"api.allowed.test"}, url: "http://api.allowed.test:{A}/redirect?to=http://evil.test:{D}/", wantErr: `host "evil.test"`, wantDialed: []string{"127.0.0.1:{A}"}},
		{name: "redirect from allowed to IP literal", domains: []string{"api.allowed.test"}, url: "http://api.allowed.test:{A}/redirect?to=http://127.0.0.2:{D}/", wantErr: "IP address 127.0.0.2", wantDialed: []string{"127.0.0.1:{A}"}},
		{name: "redirect from allowed to decimal IP", domains: []string{"api.allowed.test"}, url: "http://api.allowed.test:{A}/redirect?to=http://2130706434:{D}/", wantErr: "non-canonical", wantDialed: []string{"127.0.0.1:{A}"}},
		{name: "redirect to the metadata address inside a listed 0.0.0.0/0", domains: []string{"api.allowed.test", "0.0.0.0/0"}, url: "http://api.allowed.test:{A}/redirect?to=http://169.254.169.254:{A}/", wantErr: "a CIDR in allowed_domains does not grant it", wantDialed: []string{"127.0.0.1:{A}"}},
		{name: "redirect to a name resolving to the metadata address", domains: []string{"*.allowed.test", "0.0.0.0/0"}, url: "http://api.allowed.test:{A}/redirect?to=http://meta.allowed.test:{A}/", wantErr: "cloud metadata", wantDialed: []string{"127.0.0.1:{A}"}},
		{name: "redirect to the metadata address listed exactly", domains: []string{"api.allowed.test", "169.254.169.254"}, url: "http://api.allowed.test:{A}/redirect?to=http://169.254.169.254:{A}/", wantDialed: []string{"127.0.0.1:{A}", "169.254.169.254:{A}"}},
		{name: "userinfo naming the allowed host", domains: []string{"api.allowed.test"}, url: "http://api.allowed.test@evil.test:{D}/", wantErr: `host "evil.test"`},
		{name: "userinfo with allowed host and port", domains: []string{"api.allowed.test"}, url: "http://api.allowed.test:{A}@evil.test:{D}/", wantErr: `host "evil.test"`},

		// The dialer itself.
		{name: "dialer: allowed name", domains: []string{"api.allowed.test"}, dial: "tcp api.allowed.test:{A}", wantDialed: []string{"127.0.0.1:{A}"}},
		{name: "dialer: name not listed", domains: []string{"api.allowed.test"}, dial: "tcp evil.test:{D}", wantErr: `host "evil.test"`},
		{name: "dialer: decimal IP", domains: []string{"api.allowed.test"}, dial: "tcp4 2130706434:{D}", wantErr: "non-canonical"},
		{name: "dialer: unix socket", domains: []string{"api.allowed.test"}, dial: "unix /var/run/docker.sock", wantErr: "not an outbound IP network"},
		{name: "dialer: service-name port", domains: []string{"api.allowed.test"}, dial: "tcp api.allowed.test:http", wantErr: "bad port"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w.dialer.mu.Lock()
			w.dialer.dialed = nil
			w.dialer.mu.Unlock()
			deniedBefore := w.denied.ln.accepts.Load()
			denied6Before := int64(0)
			if w.denied6 != nil {
				denied6Before = w.denied6.ln.accepts.Load()
			}
			private := tc.private
			if private == "" {
				private = PrivateNetworksAllow
			}
			e := w.enforcer(t, private, nil)
			var domains []string
			for _, d := range tc.domains {
				domains = append(domains, w.expand(d))
			}
			d := effectDescriptor("partner-api", domains...)
			caps, err := e.Grant(d)
			if err != nil {
				t.Fatal(err)
			}
			if tc.dial != "" {
				network, addr, _ := strings.Cut(w.expand(tc.dial), " ")
				conn, derr := caps.Dialer.DialContext(t.Context(), network, addr)
				if conn != nil {
					_ = conn.Close()
				}
				err = derr
			} else {
				resp, gerr := caps.HTTPClient.Get(w.expand(tc.url))
				if gerr == nil {
					body, _ := io.ReadAll(resp.Body)
					_ = resp.Body.Close()
					if string(body) != "ok" {
						t.Errorf("body = %q", body)
					}
				}
				err = gerr
			}

			if got := w.denied.ln.accepts.Load() - deniedBefore; got != 0 {
				t.Errorf("denied listener accepted %d connections", got)
			}
			if w.denied6 != nil {
				if got := w.denied6.ln.accepts.Load() - denied6Before; got != 0 {
					t.Errorf("denied IPv6 listener accepted %d connections", got)
				}
			}
			var want []string
			for _, a := range tc.wantDialed {
				want = append(want, w.expand(a))
			}
			if got := w.dialer.addresses(); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("dialed %v, want %v", got, want)
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				if n := e.Denials()[ruleid.SecurityEgress]; n != 0 {
					t.Errorf("SECURITY-310 counter = %d on success", n)
				}
				return
			}
			if err == nil {
				t.Fatalf("want SECURITY-310 (%s), got success", tc.wantErr)
			}
			assertDenial(t, err, "partner-api", tc.wantErr)
			if n := e.Denials()[ruleid.SecurityEgress]; n != 1 {
				t.Errorf("SECURITY-310 counter = %d, want 1", n)
			}
		})
	}
}

func TestRedirectLimit(t *testing.T) {
	w := newEgressWorld(t)
	e := w.enforcer(t, PrivateNetworksAllow, nil)
	caps, err := e.Grant(effectDescriptor("partner-api", "api.allowed.test"))
	if err != nil {
		t.Fatal(err)
	}
	for hops, wantOK := range map[int]bool{MaxRedirects: true, MaxRedirects + 1: false} {
		resp, err := caps.HTTPClient.Get(fmt.Sprintf("http://api.allowed.test:%s/hops/%d", w.allowed.port, hops))
		if resp != nil {
			_ = resp.Body.Close()
		}
		if (err == nil) != wantOK {
			t.Errorf("%d redirects: err = %v, want ok=%v", hops, err, wantOK)
		}
		if err != nil && !strings.Contains(err.Error(), "stopped after 5 redirects") {
			t.Errorf("%d redirects: %v", hops, err)
		}
	}
}

// TestResolvesOnce proves the guard dials the address it checked: a resolver
// that answers a public address first and loopback afterwards (DNS rebinding)
// is asked once per connection, and the loopback answer is never dialed.
func TestResolvesOnce(t *testing.T) {
	w := newEgressWorld(t)
	r := &rebindingResolver{first: netip.MustParseAddr("203.0.113.10"), then: netip.MustParseAddr("127.0.0.2")}
	env := DefaultEnvironment(handler.EnvProduction)
	e := New(Options{Environment: env, Resolver: r, Dial: w.dialer.DialContext})
	t.Cleanup(func() { _ = e.Close() })
	caps, err := e.Grant(effectDescriptor("partner-api", "rebind.allowed.test"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := caps.HTTPClient.Get("http://rebind.allowed.test:" + w.allowed.port + "/")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if r.calls.Load() != 1 {
		t.Errorf("resolver asked %d times for one connection, want 1", r.calls.Load())
	}
	if got := w.dialer.addresses(); len(got) != 1 || got[0] != "203.0.113.10:"+w.allowed.port {
		t.Errorf("dialed %v", got)
	}
	// A second connection resolves again, gets loopback, and is refused under deny.
	conn, err := caps.Dialer.DialContext(t.Context(), "tcp", "rebind.allowed.test:"+w.denied.port)
	if conn != nil {
		_ = conn.Close()
	}
	assertDenial(t, err, "partner-api", "egress_private_networks: deny")
	if n := w.denied.ln.accepts.Load(); n != 0 {
		t.Errorf("denied listener accepted %d", n)
	}
}

type rebindingResolver struct {
	calls       atomic.Int64
	first, then netip.Addr
}

func (r *rebindingResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	if r.calls.Add(1) == 1 {
		return []netip.Addr{r.first}, nil
	}
	return []netip.Addr{r.then}, nil
}

// TestProxyFromEnvironmentIgnored: a proxy from the environment would be checked
// instead of the destination; the guarded client never uses one.
func TestProxyFromEnvironmentIgnored(t *testing.T) {
	w := newEgressWorld(t)
	proxy := "http://127.0.0.2:" + w.denied.port
	t.Setenv("HTTP_PROXY", proxy)
	t.Setenv("http_proxy", proxy)
	e := w.enforcer(t, PrivateNetworksAllow, nil)
	caps, err := e.Grant(effectDescriptor("partner-api", "api.allowed.test"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := caps.HTTPClient.Get("http://api.allowed.test:" + w.allowed.port + "/")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if n := w.denied.ln.accepts.Load(); n != 0 {
		t.Errorf("proxy listener accepted %d connections", n)
	}
	if n := w.allowed.ln.accepts.Load(); n == 0 {
		t.Error("allowed listener accepted nothing")
	}
}

// TestTLSServerNameIsTheHost: only the dial is replaced, so TLS sends and
// verifies the original host name, not the resolved address.
func TestTLSServerNameIsTheHost(t *testing.T) {
	var sni atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(rw, "ok") }))
	srv.TLS = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		sni.Store(h.ServerName)
		return nil, nil
	}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	// The httptest certificate is valid for example.com.
	e := New(Options{
		Resolver:  newResolver(map[string]string{"example.com": "127.0.0.1"}),
		TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	})
	t.Cleanup(func() { _ = e.Close() })
	caps, err := e.Grant(effectDescriptor("partner-api", "example.com"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := caps.HTTPClient.Get("https://example.com:" + port + "/")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got, _ := sni.Load().(string); got != "example.com" {
		t.Errorf("TLS server name = %q, want example.com", got)
	}
}

func TestGrantRefusesMalformedAllowlist(t *testing.T) {
	e := New(Options{})
	d := effectDescriptor("partner-api", "api.example.com", "https://x.example.com/")
	d.Locations["security.allowed_domains[1]"] = handler.Location{Line: 22, Column: 5}
	_, err := e.Grant(d)
	var ve *diag.ValidationError
	if !errors.As(err, &ve) || ve.RuleID != ruleid.SecurityMalformedDomain || ve.Line != 22 || ve.HandlerIdentity != "partner-api" || ve.RemediationHint == "" {
		t.Fatalf("Grant = %v, want a located SECURITY-308", err)
	}
}

func TestGrantByCategory(t *testing.T) {
	e := New(Options{})
	for _, tc := range []struct {
		category             handler.Category
		scopes               []string
		wantEgress, wantRead bool
	}{
		{handler.CategoryEffect, nil, true, true},
		{handler.CategoryEffect, []string{"db"}, true, true},
		{handler.CategoryCompute, nil, false, false},
		{handler.CategoryNondeterministicCompute, nil, false, false},
		{handler.CategoryNondeterministicCompute, []string{"hmac"}, false, true},
	} {
		d := effectDescriptor("h")
		d.Category, d.Security.SecretScopes = tc.category, tc.scopes
		caps, err := e.Grant(d)
		if err != nil {
			t.Fatal(err)
		}
		if (caps.Dialer != nil) != tc.wantEgress || (caps.HTTPClient != nil) != tc.wantEgress || (caps.Secrets != nil) != tc.wantRead {
			t.Errorf("%s %v: granted %+v", tc.category, tc.scopes, caps)
		}
	}
	_ = e.Close()
}

func TestAddrRefusal(t *testing.T) {
	cases := []struct {
		addr        string
		allow, deny string // substring of the refusal, "" = may be dialed
	}{
		{"203.0.113.10", "", ""},
		{"2606:4700::1111", "", ""},
		{"127.0.0.1", "", "private"},
		{"::1", "", "private"},
		{"10.0.0.1", "", "private"},
		{"172.16.5.4", "", "private"},
		{"192.168.1.1", "", "private"},
		{"100.64.0.1", "", "private"},
		{"169.254.10.10", "", "private"},
		{"fe80::1", "", "private"},
		{"fd12::1", "", "private"},
		{"fec0::1", "", "private"},
		{"::ffff:10.0.0.1", "", "private"},
		{"64:ff9b::a00:1", "", "private"},
		{"2002:7f00:1::", "", "private"},
		{"169.254.169.254", "metadata", "metadata"},
		{"::ffff:169.254.169.254", "metadata", "metadata"},
		{"fd00:ec2::254", "metadata", "metadata"},
		{"0.0.0.0", "unspecified", "unspecified"},
		{"0.1.2.3", "unspecified", "unspecified"},
		{"::", "unspecified", "unspecified"},
		{"224.0.0.1", "multicast", "multicast"},
		{"ff02::1", "multicast", "multicast"},
		{"255.255.255.255", "broadcast", "broadcast"},
		{"240.0.0.1", "reserved", "reserved"},
		{"2001:db8::1", "reserved", "reserved"},
		{"::7f00:1", "reserved", "IPv4-compatible (RFC 4291) form of 127.0.0.1"},
		{"169.254.170.2", "ECS task credentials", "ECS task credentials"},
		{"169.254.170.23", "EKS Pod Identity", "EKS Pod Identity"},
		{"fd00:ec2::23", "EKS Pod Identity agent over IPv6", "EKS Pod Identity agent over IPv6"},
		{"100.100.100.200", "Alibaba Cloud", "Alibaba Cloud"},
		{"fd20:ce::254", "Google Cloud", "Google Cloud"},
		{"fe80::a9fe:a9fe", "OpenStack", "OpenStack"},
		{"192.0.0.192", "Oracle Cloud at Customer", "Oracle Cloud at Customer"},
		{"64:ff9b::a9fe:a9fe", "NAT64 well-known prefix (RFC 6052) form of 169.254.169.254, a cloud metadata", "metadata"},
		{"64:ff9b:1::a01:203", "", "NAT64 local-use prefix (RFC 8215) form of 10.1.2.3, a loopback, private or link-local"},
		{"64:ff9b:1::a9fe:a9fe", "metadata", "metadata"},
		{"64:ff9b:1::c000:221", "", ""},
		{"2002:a9fe:a9fe::", "6to4 (RFC 3056) form of 169.254.169.254", "metadata"},
		{"::ffff:0:a01:203", "", "IPv4-translated (RFC 2765) form of 10.1.2.3"},
		{"2001:0:4136:e378:8000:63bf:5601:5601", "Teredo (RFC 4380) form of 169.254.169.254", "metadata"},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "reserved", "reserved"},
	}
	for _, tc := range cases {
		a := netip.MustParseAddr(tc.addr)
		for _, p := range []struct {
			mode PrivateNetworks
			want string
		}{{PrivateNetworksAllow, tc.allow}, {PrivateNetworksDeny, tc.deny}} {
			got := addrRefusal(a, p.mode)
			if (got == "") != (p.want == "") || !strings.Contains(got, p.want) {
				t.Errorf("addrRefusal(%s, %s) = %q, want %q", tc.addr, p.mode, got, p.want)
			}
		}
	}
}
