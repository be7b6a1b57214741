package policy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/envelope"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/testkit"
	"github.com/onexhost/onex/policy"
	"github.com/onexhost/onex/runtime"
	"github.com/onexhost/onex/source"
	"github.com/onexhost/onex/validate"
)

// These tests run the Enforcer inside the runtime host, as `onex run` does: the
// registration rules refuse start, the classification check refuses envelopes
// before the handler runs, and the granted capabilities turn a handler's
// attempts into SECURITY-310/311 responses.

const probePath = "example.com/policytest/probe"

const (
	bearerValue  = "bearer-s3cr3t-51c0ffee"
	paymentValue = "payments-s3cr3t-0ddba11"
)

// invocations counts the probe's Handle calls, by verb.
var invocations sync.Map // verb → *atomic.Int64

func invoked(verb string) int64 {
	v, _ := invocations.LoadOrStore(verb, new(atomic.Int64))
	return v.(*atomic.Int64).Load()
}

func init() {
	handler.Register(handler.Factory{
		ImportPath: probePath,
		Verbs:      []string{"count", "fetch", "secret", "token"},
		Uses:       handler.Uses{Egress: true, Secrets: true},
		New: func(cfg json.RawMessage) (handler.Handler, error) {
			var c probeConfig
			if err := handler.DecodeStrict(cfg, &c); err != nil {
				return nil, err
			}
			return &probe{}, nil
		},
	})
}

type probeConfig struct {
	Token string `json:"token"`
}

// probe does with its capabilities what its verb says.
type probe struct {
	token string
}

func (p *probe) Init(_ context.Context, env *handler.InitEnv) error {
	var c probeConfig
	if err := env.DecodeConfig(&c); err != nil {
		return err
	}
	p.token = c.Token
	return nil
}

func (p *probe) Handle(ctx context.Context, inv *handler.Invocation) (handler.Output, error) {
	v, _ := invocations.LoadOrStore(inv.Verb(), new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	var in struct {
		URL   string `json:"url"`
		Scope string `json:"scope"`
		Key   string `json:"key"`
	}
	if err := inv.Decode(&in); err != nil {
		return handler.Output{}, err
	}
	switch inv.Verb() {
	case "fetch":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.URL, nil)
		if err != nil {
			return handler.Output{}, handler.InvalidPayload("url", "%v", err)
		}
		resp, err := inv.HTTPClient().Do(req)
		if err != nil {
			return handler.Output{}, handler.Failed(err, "request failed")
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return handler.Output{Result: map[string]any{"status_code": resp.StatusCode, "body": string(body)}}, nil
	case "secret":
		s, err := inv.Secrets().ReadSecret(ctx, handler.SecretRef{Scope: in.Scope, Key: in.Key})
		if err != nil {
			return handler.Output{}, handler.Failed(err, "secret unavailable")
		}
		return handler.Output{Result: map[string]any{"length": len(s.Reveal())}}, nil
	case "token":
		return handler.Output{Result: map[string]any{"token_matches": p.token == bearerValue}}, nil
	}
	return handler.Output{Result: map[string]any{"ok": true}}, nil
}

type staticSource struct{ descs []*handler.Descriptor }

func (staticSource) SourceType() handler.SourceType { return handler.SourceContract }

func (s staticSource) Discover(context.Context) ([]*handler.Descriptor, []*diag.ValidationError, error) {
	return s.descs, nil, nil
}

var _ source.HandlerSource = staticSource{}

func probeDescriptor() *handler.Descriptor {
	return &handler.Descriptor{
		Name:       "probe",
		Version:    "1.0.0",
		Type:       handler.TypeInfra,
		Category:   handler.CategoryEffect,
		Commands:   []handler.Command{"probe.count", "probe.fetch", "probe.secret", "probe.token"},
		ImportPath: probePath,
		Security: handler.Security{
			SecretScopes:       []string{"partner-api"},
			AllowedDomains:     []string{"api.allowed.test"},
			DataClassification: handler.ClassificationConfidential,
		},
		Config:     json.RawMessage(`{"token":{"secret":"partner-api/bearer"}}`),
		SourceType: handler.SourceContract,
		Origin:     "contracts/probe/handler_contract.yaml",
	}
}

type counting struct {
	net.Listener
	n atomic.Int64
}

func (c *counting) Accept() (net.Conn, error) {
	conn, err := c.Listener.Accept()
	if err == nil {
		c.n.Add(1)
	}
	return conn, err
}

func serve(t *testing.T, addr string) (*counting, string) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cl := &counting{Listener: l}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	srv.Listener = cl
	srv.Start()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return cl, port
}

type mapResolver map[string]string

func (m mapResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	a, ok := m[strings.ToLower(host)]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return []netip.Addr{netip.MustParseAddr(a)}, nil
}

// startProbeHost runs the probe in a host with the Enforcer as its policy and
// registration validator; logs of the host and the Enforcer go to logs.
func startProbeHost(t *testing.T, logs io.Writer, env policy.Environment, descs ...*handler.Descriptor) (*runtime.Host, *policy.Enforcer, error) {
	t.Helper()
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	secrets := map[string]string{
		"ONEX_SECRET_PARTNER_API_BEARER": bearerValue,
		"ONEX_SECRET_PAYMENTS_KEY":       paymentValue,
	}
	enf := policy.New(policy.Options{
		Environment: env,
		Secrets:     []policy.Provider{{Kind: "env", SecretProvider: policy.EnvProvider{LookupEnv: func(k string) (string, bool) { v, ok := secrets[k]; return v, ok }}}},
		Resolver:    mapResolver{"api.allowed.test": "127.0.0.1", "evil.test": "127.0.0.2"},
		Logger:      logger,
	})
	t.Cleanup(func() { _ = enf.Close() })
	h := runtime.New(staticSource{descs: descs}, []validate.Validator{enf.Registration()}, enf, nil, logger, runtime.Options{Environment: env.Name})
	if err := h.Start(t.Context()); err != nil {
		return nil, enf, err
	}
	t.Cleanup(func() {
		if err := h.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return h, enf, nil
}

func dispatch(t *testing.T, h *runtime.Host, raw string) (*envelope.Response, string) {
	t.Helper()
	out := h.Dispatch(t.Context(), []byte(raw))
	r, err := envelope.DecodeResponse(out)
	if err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return r, string(out)
}

func TestClassificationEnforcedByTheHost(t *testing.T) {
	var logs testkit.Logs
	h, _, err := startProbeHost(t, &logs, policy.DefaultEnvironment(handler.EnvDevelopment), probeDescriptor())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		class string // "" = absent (the runtime default, internal)
		rule  string // "" = invoked
	}{
		{"public", ""},
		{"", ""},
		{"internal", ""},
		{"confidential", ""}, // equal to the handler's: passes
		{"restricted", "SECURITY-312"},
		{"secret", "SECURITY-312"},
	}
	for _, tc := range cases {
		t.Run("envelope "+tc.class, func(t *testing.T) {
			before := invoked("count")
			raw := `{"operation":"probe.count","payload":{}}`
			if tc.class != "" {
				raw = fmt.Sprintf(`{"operation":"probe.count","payload":{},"data_classification":%q}`, tc.class)
			}
			r, _ := dispatch(t, h, raw)
			calls := invoked("count") - before
			if tc.rule == "" {
				if !r.Success || calls != 1 {
					t.Fatalf("success=%v invoked=%d: %+v", r.Success, calls, r.Error)
				}
				return
			}
			if r.Success || r.Error == nil || r.Error.RuleID != tc.rule || r.Handler != "probe" || r.Error.RemediationHint == "" || r.Error.ErrorType != "security_validation_error" {
				t.Fatalf("response %+v %+v, want %s for probe with a hint", r, r.Error, tc.rule)
			}
			if calls != 0 {
				t.Fatalf("the handler was invoked %d times for a refused envelope", calls)
			}
		})
	}
	if n := h.Stats().Denials["SECURITY-312"]; n != 2 {
		t.Errorf("SECURITY-312 denials = %d, want 2", n)
	}
}

func TestCapabilitiesEnforcedInTheHost(t *testing.T) {
	allowedLn, allowedPort := serve(t, "127.0.0.1:0")
	deniedLn, deniedPort := serve(t, "127.0.0.2:0")
	var logs testkit.Logs
	h, enf, err := startProbeHost(t, &logs, policy.DefaultEnvironment(handler.EnvDevelopment), probeDescriptor())
	if err != nil {
		t.Fatal(err)
	}
	var responses []string

	cases := []struct {
		name    string
		payload string
		op      string
		rule    string // "" = success
		msg     string
	}{
		{"allowed host", fmt.Sprintf(`{"url":"http://api.allowed.test:%s/"}`, allowedPort), "probe.fetch", "", ""},
		{"host outside the allowlist", fmt.Sprintf(`{"url":"http://evil.test:%s/"}`, deniedPort), "probe.fetch", "SECURITY-310", `host "evil.test"`},
		{"IP literal", fmt.Sprintf(`{"url":"http://127.0.0.2:%s/"}`, deniedPort), "probe.fetch", "SECURITY-310", "IP address 127.0.0.2"},
		{"secret in scope", `{"scope":"partner-api","key":"bearer"}`, "probe.secret", "", ""},
		{"secret out of scope", `{"scope":"payments","key":"key"}`, "probe.secret", "SECURITY-311", `scope "payments" is not declared`},
		{"config secret resolved at init", `{}`, "probe.token", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, raw := dispatch(t, h, fmt.Sprintf(`{"operation":%q,"payload":%s}`, tc.op, tc.payload))
			responses = append(responses, raw)
			if tc.rule == "" {
				if !r.Success {
					t.Fatalf("want success, got %+v", r.Error)
				}
				if tc.op == "probe.token" && !strings.Contains(string(r.Result), `"token_matches":true`) {
					t.Errorf("config secret not resolved through the reader: %s", r.Result)
				}
				return
			}
			if r.Success || r.Error.RuleID != tc.rule || r.Handler != "probe" || r.Error.RemediationHint == "" || !strings.Contains(r.Error.Message, tc.msg) {
				t.Fatalf("response error %+v, want %s mentioning %q", r.Error, tc.rule, tc.msg)
			}
		})
	}
	if n := deniedLn.n.Load(); n != 0 {
		t.Errorf("denied listener accepted %d connections", n)
	}
	if allowedLn.n.Load() == 0 {
		t.Error("allowed listener accepted nothing")
	}
	d := enf.Denials()
	if d["SECURITY-310"] != 2 || d["SECURITY-311"] != 1 {
		t.Errorf("enforcer denials = %v", d)
	}
	// No secret value in any response or log line (the host logs at debug here).
	all := strings.Join(responses, "\n") + "\n" + logs.String()
	for _, v := range []string{bearerValue, paymentValue} {
		if strings.Contains(all, v) {
			t.Errorf("secret value %q leaked:\n%s", v, all)
		}
	}
	if !strings.Contains(logs.String(), `"rule_id":"SECURITY-311"`) {
		t.Errorf("the denial was not logged:\n%s", logs.String())
	}
}

// TestRegistrationRefusesStart: a blocking registration rule refuses start with
// the aggregated report, before any handler is constructed.
func TestRegistrationRefusesStart(t *testing.T) {
	env := policy.DefaultEnvironment(handler.EnvProduction)
	env.PermittedSecretScopes = []string{"db"}
	env.MaxDataClassification = handler.ClassificationInternal
	_, _, err := startProbeHost(t, io.Discard, env, probeDescriptor())
	var re *diag.ReportError
	if !errors.As(err, &re) {
		t.Fatalf("Start = %v, want a report", err)
	}
	var rules []string
	for _, e := range re.Report.Diagnostics {
		rules = append(rules, string(e.RuleID))
	}
	if got := strings.Join(rules, " "); !strings.Contains(got, "SECURITY-300") || !strings.Contains(got, "SECURITY-301") {
		t.Fatalf("report rules %s, want SECURITY-300 and SECURITY-301", got)
	}
}

// TestInitSecretOutOfScope: a config reference to an undeclared scope fails
// registration (SECURITY-311); were it to reach init, the reader refuses it
// too, and the failure names the reference, never a value.
func TestInitSecretOutOfScope(t *testing.T) {
	d := probeDescriptor()
	d.Config = json.RawMessage(`{"token":{"secret":"payments/key"}}`)
	var logs testkit.Logs
	_, _, err := startProbeHost(t, &logs, policy.DefaultEnvironment(handler.EnvDevelopment), d)
	var re *diag.ReportError
	if !errors.As(err, &re) || len(re.Report.Diagnostics) != 1 || re.Report.Diagnostics[0].RuleID != "SECURITY-311" {
		t.Fatalf("Start = %v, want one SECURITY-311", err)
	}

	// Without the registration validator, the reader is the last line.
	enf := policy.New(policy.Options{Secrets: []policy.Provider{{Kind: "env", SecretProvider: policy.EnvProvider{LookupEnv: func(string) (string, bool) { return paymentValue, true }}}}})
	t.Cleanup(func() { _ = enf.Close() })
	h := runtime.New(staticSource{descs: []*handler.Descriptor{d}}, nil, enf, nil, nil, runtime.Options{})
	err = h.Start(t.Context())
	if err == nil {
		_ = h.Stop(context.Background())
		t.Fatal("host started with an out-of-scope config secret")
	}
	var re2 *diag.ReportError
	if !errors.As(err, &re2) || len(re2.Report.Diagnostics) != 1 || strings.Contains(err.Error(), paymentValue) {
		t.Fatalf("Start = %v", err)
	}
	got := re2.Report.Diagnostics[0]
	if got.RuleID != "RUNTIME-004" || got.CausedBy == nil || got.CausedBy.RuleID != "SECURITY-311" || strings.Contains(got.Message, paymentValue) {
		t.Errorf("got %+v caused by %+v, want RUNTIME-004 caused by SECURITY-311", got, got.CausedBy)
	}
}
