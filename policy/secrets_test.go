package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
)

const (
	envValue  = "env-s3cr3t-value-7f1d"
	fileValue = "file-s3cr3t-value-9a2c"
)

// secretWorld has the value of partner-api/bearer in the environment, the value
// of partner-api/token in a file, and a value in another scope's file.
func secretWorld(t *testing.T) (providers []Provider, dir string) {
	t.Helper()
	dir = t.TempDir()
	for path, value := range map[string]string{
		"partner-api/token":      fileValue + "\n",
		"partner-api/nested/key": "nested-s3cr3t-4be0",
		"payments/key":           "payments-value",
	} {
		full := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"ONEX_SECRET_PARTNER_API_BEARER": envValue}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	return []Provider{
		{Kind: "env", SecretProvider: EnvProvider{LookupEnv: lookup}},
		{Kind: "file", SecretProvider: FileProvider{Dir: dir}},
	}, dir
}

func TestEnvVarName(t *testing.T) {
	for ref, want := range map[handler.SecretRef]string{
		{Scope: "partner-api", Key: "bearer"}: "ONEX_SECRET_PARTNER_API_BEARER",
		{Scope: "db", Key: "dsn"}:             "ONEX_SECRET_DB_DSN",
		{Scope: "Mixed-Case", Key: "a-b/c.d"}: "ONEX_SECRET_MIXED_CASE_A_B_C_D",
	} {
		if got := EnvVarName(ref); got != want {
			t.Errorf("EnvVarName(%v) = %s, want %s", ref, got, want)
		}
	}
}

// TestEnvProviderReadsProcessEnvironment uses the real environment, as the host
// does.
func TestEnvProviderReadsProcessEnvironment(t *testing.T) {
	t.Setenv("ONEX_SECRET_DB_DSN", envValue)
	s, err := EnvProvider{}.Lookup(t.Context(), handler.SecretRef{Scope: "db", Key: "dsn"})
	if err != nil || s.Reveal() != envValue {
		t.Fatalf("Lookup = %v, %v", s, err)
	}
	_, err = EnvProvider{}.Lookup(t.Context(), handler.SecretRef{Scope: "db", Key: "absent"})
	if !errors.Is(err, ErrSecretNotFound) || !strings.Contains(err.Error(), "ONEX_SECRET_DB_ABSENT") {
		t.Fatalf("absent: %v", err)
	}
}

func TestScopedReader(t *testing.T) {
	providers, _ := secretWorld(t)
	var logs bytes.Buffer
	var denials []Denial
	e := New(Options{Secrets: providers, Logger: newJSONLogger(&logs), OnDenial: func(d Denial) { denials = append(denials, d) }})
	d := base()
	caps, err := e.Grant(d)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := t.Context()

	cases := []struct {
		name, ref string
		want      string // the value, or "" for an error
		rule      handler.RuleID
		notFound  bool
		errText   string
	}{
		{name: "in scope from env", ref: "partner-api/bearer", want: envValue},
		{name: "in scope from file, trailing newline dropped", ref: "partner-api/token", want: fileValue},
		{name: "in scope from a nested file", ref: "partner-api/nested/key", want: "nested-s3cr3t-4be0"},
		{name: "out of scope", ref: "payments/key", rule: ruleid.SecuritySecretScope, errText: `scope "payments" is not declared`},
		{name: "scope differing in case is not the scope", ref: "Partner-API/bearer", rule: ruleid.SecuritySecretScope},
		{name: "prefix of a declared scope is not the scope", ref: "partner/bearer", rule: ruleid.SecuritySecretScope},
		{name: "absent in every provider", ref: "partner-api/absent", notFound: true, errText: "not found in providers [env file]"},
		{name: "file key escaping into another scope", ref: "partner-api/../payments/key", errText: "other than . and .."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := handler.ParseSecretRef(tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			s, err := caps.Secrets.ReadSecret(ctx, ref)
			if tc.want != "" {
				if err != nil || s.Reveal() != tc.want {
					t.Fatalf("ReadSecret(%s) = %q, %v", tc.ref, s.Reveal(), err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ReadSecret(%s) succeeded", tc.ref)
			}
			if s.Reveal() != "" {
				t.Errorf("a failed read returned a value")
			}
			if tc.errText != "" && !strings.Contains(err.Error(), tc.errText) {
				t.Errorf("error %q does not mention %q", err, tc.errText)
			}
			if tc.notFound != errors.Is(err, ErrSecretNotFound) {
				t.Errorf("errors.Is(ErrSecretNotFound) = %v", !tc.notFound)
			}
			var ve *diag.ValidationError
			if got := errors.As(err, &ve); got != (tc.rule != "") {
				t.Fatalf("carries a ValidationError = %v: %v", got, err)
			}
			if tc.rule != "" {
				if ve.RuleID != tc.rule || ve.HandlerIdentity != "partner-api" || ve.RemediationHint == "" || ve.FilePath != fixtureFile || ve.Line != fixtureLines["security.secret_scopes"] {
					t.Errorf("denial = %+v", ve)
				}
			}
		})
	}
	if n := e.Denials()[ruleid.SecuritySecretScope]; n != 3 {
		t.Errorf("SECURITY-311 counter = %d, want 3", n)
	}
	if len(denials) != 3 || denials[0] != (Denial{Rule: ruleid.SecuritySecretScope, Handler: "partner-api", Target: "payments/key"}) {
		t.Errorf("OnDenial got %+v", denials)
	}
	// Secret values never reach the logs, even at debug level, nor the payments
	// value that was refused.
	out := logs.String()
	for _, v := range []string{envValue, fileValue, "payments-value", "nested-s3cr3t-4be0"} {
		if strings.Contains(out, v) {
			t.Errorf("logs contain the secret value %q:\n%s", v, out)
		}
	}
	if !strings.Contains(out, `"rule_id":"SECURITY-311"`) || !strings.Contains(out, `"target":"payments/key"`) {
		t.Errorf("denial not logged:\n%s", out)
	}
}

// TestScopeDeclaredButNotPermitted: the reader enforces the environment too, for
// descriptors that never went through registration.
func TestScopeDeclaredButNotPermitted(t *testing.T) {
	providers, _ := secretWorld(t)
	env := DefaultEnvironment(handler.EnvProduction)
	e := New(Options{Environment: env, Secrets: providers})
	caps, err := e.Grant(base())
	if err != nil {
		t.Fatal(err)
	}
	_, err = caps.Secrets.ReadSecret(t.Context(), handler.SecretRef{Scope: "partner-api", Key: "bearer"})
	var ve *diag.ValidationError
	if !errors.As(err, &ve) || ve.RuleID != ruleid.SecuritySecretScope || !strings.Contains(ve.Message, "not permitted in environment production") {
		t.Fatalf("got %v", err)
	}
}

// TestEffectHandlerWithoutScopes gets a reader that refuses everything, so an
// attempt is a counted SECURITY-311 rather than a nil dereference.
func TestEffectHandlerWithoutScopes(t *testing.T) {
	providers, _ := secretWorld(t)
	e := New(Options{Secrets: providers})
	d := base()
	d.Security.SecretScopes = nil
	caps, err := e.Grant(d)
	if err != nil {
		t.Fatal(err)
	}
	_, err = caps.Secrets.ReadSecret(t.Context(), handler.SecretRef{Scope: "partner-api", Key: "bearer"})
	if !errors.Is(err, &diag.ValidationError{RuleID: ruleid.SecuritySecretScope}) {
		t.Fatalf("got %v", err)
	}
}

func TestFileProviderConfinedToDir(t *testing.T) {
	_, dir := secretWorld(t)
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("outside-value"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "partner-api", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "partner-api", "adir"), 0o700); err != nil {
		t.Fatal(err)
	}
	p := FileProvider{Dir: dir}
	for _, key := range []string{"link", "adir", "./token", "nested//key"} {
		s, err := p.Lookup(t.Context(), handler.SecretRef{Scope: "partner-api", Key: key})
		if err == nil || s.Reveal() != "" {
			t.Errorf("key %q: read %q", key, s.Reveal())
		}
		if err != nil && strings.Contains(err.Error(), "outside-value") {
			t.Errorf("key %q: error holds the value: %v", key, err)
		}
	}
	if _, err := (FileProvider{Dir: filepath.Join(dir, "absent")}).Lookup(t.Context(), handler.SecretRef{Scope: "a", Key: "b"}); err == nil || errors.Is(err, ErrSecretNotFound) {
		t.Errorf("a missing secret directory is a configuration error, got %v", err)
	}
}

func TestResolveConfig(t *testing.T) {
	providers, _ := secretWorld(t)
	e := New(Options{Secrets: providers})
	caps, err := e.Grant(base())
	if err != nil {
		t.Fatal(err)
	}
	cfg := json.RawMessage(`{"base_url":"https://api.partner.example","headers":{"Authorization":{"secret":"partner-api/bearer"},"X-Token":{"secret":"partner-api/token"}}}`)
	got, err := ResolveConfig(t.Context(), caps.Secrets, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(got, &v); err != nil || v.Headers["Authorization"] != envValue || v.Headers["X-Token"] != fileValue {
		t.Fatalf("resolved %s (%v)", got, err)
	}

	undeclared := json.RawMessage(`{"key":{"secret":"payments/key"}}`)
	_, err = ResolveConfig(t.Context(), caps.Secrets, undeclared)
	if !errors.Is(err, &diag.ValidationError{RuleID: ruleid.SecuritySecretScope}) || !strings.Contains(err.Error(), "config.key") || strings.Contains(err.Error(), "payments-value") {
		t.Fatalf("undeclared scope: %v", err)
	}
	if _, err := ResolveConfig(t.Context(), nil, undeclared); err == nil {
		t.Fatal("a nil reader resolved a reference")
	}
	plain := json.RawMessage(`{"a":1}`)
	if got, err := ResolveConfig(t.Context(), nil, plain); err != nil || string(got) != string(plain) {
		t.Fatalf("config without references: %s, %v", got, err)
	}
}

type closingProvider struct {
	closed *bool
}

func (closingProvider) Lookup(context.Context, handler.SecretRef) (handler.Secret, error) {
	return handler.Secret{}, ErrSecretNotFound
}

func (p closingProvider) Close() error { *p.closed = true; return nil }

func TestCloseClosesProviders(t *testing.T) {
	var closed bool
	e := New(Options{Secrets: []Provider{{Kind: "test", SecretProvider: closingProvider{closed: &closed}}}})
	if err := e.Close(); err != nil || !closed {
		t.Fatalf("Close = %v, closed = %v", err, closed)
	}
}

func loadYAML(t *testing.T, src string) *config.File {
	t.Helper()
	f, errs := config.Parse("onex.yaml", []byte(src))
	if errs != nil {
		t.Fatalf("parse: %v", errs)
	}
	return f
}

func TestLoadSecretProviders(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name      string
		yaml      string
		wantKinds []string
		wantErrs  []string // substrings, one per error
		wantLine  int      // line of the first error
	}{
		{name: "absent section: env", yaml: "", wantKinds: []string{"env"}},
		{name: "file then env", yaml: "secrets:\n  providers: [file, env]\n  file:\n    dir: " + dir + "\n", wantKinds: []string{"file", "env"}},
		{name: "unknown provider", yaml: "secrets:\n  providers: [env, fiel]\n", wantErrs: []string{`unknown secret provider "fiel" (did you mean "file"?)`}, wantLine: 2},
		{name: "file without dir", yaml: "secrets:\n  providers: [file]\n", wantErrs: []string{"dir is required"}},
		{name: "options of an unlisted provider", yaml: "secrets:\n  providers: [env]\n  file:\n    dir: /x\n", wantErrs: []string{"which secrets.providers does not list"}, wantLine: 4},
		{name: "provider listed twice", yaml: "secrets:\n  providers: [env, env]\n", wantErrs: []string{"listed twice"}},
		{name: "no provider", yaml: "secrets:\n  providers: []\n", wantErrs: []string{"no secret provider is listed"}},
		{name: "unknown option key", yaml: "secrets:\n  providers: [file]\n  file:\n    dri: /x\n", wantErrs: []string{`unknown key "dri" (did you mean "dir"?)`}, wantLine: 4},
		{name: "unknown key", yaml: "secrets:\n  provider: [env]\n", wantErrs: []string{`unknown key "provider"`}, wantLine: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps, errs := LoadSecretProviders(loadYAML(t, tc.yaml))
			if len(errs) != len(tc.wantErrs) {
				t.Fatalf("got %d errors, want %d: %v", len(errs), len(tc.wantErrs), errs)
			}
			for i, e := range errs {
				if e.RuleID != "RUNTIME-002" || e.RemediationHint == "" || e.FilePath != "onex.yaml" || !strings.Contains(e.Message, tc.wantErrs[i]) {
					t.Errorf("error %d = %+v, want a located RUNTIME-002 mentioning %q", i, e, tc.wantErrs[i])
				}
			}
			if len(errs) > 0 && tc.wantLine != 0 && errs[0].Line != tc.wantLine {
				t.Errorf("error at line %d, want %d", errs[0].Line, tc.wantLine)
			}
			var kinds []string
			for _, p := range ps {
				kinds = append(kinds, p.Kind)
			}
			if fmt.Sprint(kinds) != fmt.Sprint(tc.wantKinds) {
				t.Errorf("kinds = %v, want %v", kinds, tc.wantKinds)
			}
		})
	}
}

// TestRegisteredProviderKind shows the extension point other packages (the Vault
// provider) use: options decoded strictly from secrets.<kind>.
func TestRegisteredProviderKind(t *testing.T) {
	type opts struct {
		Mount string `yaml:"mount"`
		Path  string `yaml:"path"`
	}
	var got opts
	RegisterProvider(ProviderKind{
		Name:    "testkv",
		Options: func() any { return &opts{Mount: "secret"} },
		New: func(o any) (SecretProvider, error) {
			got = *o.(*opts)
			return EnvProvider{}, nil
		},
	})
	t.Cleanup(func() {
		providerKinds.Lock()
		delete(providerKinds.m, "testkv")
		providerKinds.Unlock()
	})
	ps, errs := LoadSecretProviders(loadYAML(t, "secrets:\n  providers: [testkv]\n  testkv:\n    path: onex\n"))
	if errs != nil || len(ps) != 1 || ps[0].Kind != "testkv" {
		t.Fatalf("got %v, %v", ps, errs)
	}
	if got != (opts{Mount: "secret", Path: "onex"}) {
		t.Errorf("options = %+v, want defaults kept and path decoded", got)
	}
	for _, bad := range []ProviderKind{{Name: "", New: ProviderKind{}.New}, {Name: "env", New: func(any) (SecretProvider, error) { return nil, nil }}, {Name: "x"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RegisterProvider(%q) did not panic", bad.Name)
				}
			}()
			RegisterProvider(bad)
		}()
	}
}

func TestLoadEnvironment(t *testing.T) {
	cases := []struct {
		name    string
		yaml    string
		want    Environment
		wantErr string
		line    int
	}{
		{name: "absent: development defaults", yaml: "", want: Environment{Name: "development", PermittedSecretScopes: []string{"*"}, MaxDataClassification: handler.ClassificationSecret, EgressPrivateNetworks: PrivateNetworksAllow}},
		{name: "production defaults", yaml: "environment:\n  name: production\n", want: Environment{Name: "production", PermittedSecretScopes: []string{}, MaxDataClassification: handler.ClassificationSecret, RequireExplicitDomainAllowlist: true, EgressPrivateNetworks: PrivateNetworksDeny}},
		{name: "production overrides", yaml: "environment:\n  name: production\n  permitted_secret_scopes: [db, partner-api]\n  max_data_classification: confidential\n  require_explicit_domain_allowlist: false\n  adapter_secrets_override_allowed: true\n  egress_private_networks: allow\n",
			want: Environment{Name: "production", PermittedSecretScopes: []string{"db", "partner-api"}, MaxDataClassification: handler.ClassificationConfidential, AdapterSecretsOverrideAllowed: true, EgressPrivateNetworks: PrivateNetworksAllow}},
		{name: "staging denies nothing private by default", yaml: "environment:\n  name: staging\n  egress_private_networks: deny\n", want: Environment{Name: "staging", PermittedSecretScopes: []string{"*"}, MaxDataClassification: handler.ClassificationSecret, EgressPrivateNetworks: PrivateNetworksDeny}},
		{name: "explicit empty scopes", yaml: "environment:\n  permitted_secret_scopes: []\n", want: Environment{Name: "development", PermittedSecretScopes: []string{}, MaxDataClassification: handler.ClassificationSecret, EgressPrivateNetworks: PrivateNetworksAllow}},
		{name: "unknown environment", yaml: "environment:\n  name: prod\n", wantErr: "prod", line: 2},
		{name: "bad private networks value", yaml: "environment:\n  egress_private_networks: maybe\n", wantErr: "maybe", line: 2},
		{name: "bad classification", yaml: "environment:\n  max_data_classification: top-secret\n", wantErr: "top-secret", line: 2},
		{name: "unknown key", yaml: "environment:\n  nme: ci\n", wantErr: `did you mean "name"`, line: 2},
		{name: "malformed permitted scope", yaml: "environment:\n  permitted_secret_scopes:\n    - db\n    - \"a b\"\n", wantErr: "whitespace", line: 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, errs := LoadEnvironment(loadYAML(t, tc.yaml))
			if tc.wantErr != "" {
				if len(errs) != 1 || errs[0].RuleID != "RUNTIME-002" || errs[0].Line != tc.line || errs[0].RemediationHint == "" || !strings.Contains(errs[0].Message, tc.wantErr) {
					t.Fatalf("got %v (line %d), want one RUNTIME-002 at line %d mentioning %q", errs, lineOf(errs), tc.line, tc.wantErr)
				}
				return
			}
			if errs != nil {
				t.Fatal(errs)
			}
			if fmt.Sprintf("%#v", env) != fmt.Sprintf("%#v", tc.want) {
				t.Errorf("got  %#v\nwant %#v", env, tc.want)
			}
		})
	}
}

func lineOf(errs []*diag.ValidationError) int {
	if len(errs) == 0 {
		return 0
	}
	return errs[0].Line
}

func TestLoadConfigAggregates(t *testing.T) {
	_, errs := LoadConfig(loadYAML(t, "environment:\n  name: prod\nsecrets:\n  providers: [nope]\n"))
	if len(errs) != 2 {
		t.Fatalf("got %v, want the environment and the secrets error", errs)
	}
	cfg, errs := LoadConfig(loadYAML(t, "environment:\n  name: ci\n"))
	if errs != nil || cfg.Environment.Name != handler.EnvCI || len(cfg.Secrets) != 1 {
		t.Fatalf("got %+v, %v", cfg, errs)
	}
}
