package secretprovider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/testkit"
	"github.com/onexhost/onex/policy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const token = "hvs.provider-91d-never-shown"

func newProvider(t *testing.T, o Options) *Provider {
	t.Helper()
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestLookup(t *testing.T) {
	v := testkit.NewVault(t, token)
	v.Put("secret", "onex/db", map[string]any{"dsn": "postgres://u:pw@db/app", "port": 5432})
	t.Setenv("ONEX_TEST_VAULT_TOKEN", token)
	p := newProvider(t, Options{Address: v.URL(), Mount: "secret", PathPrefix: "onex", TokenEnv: "ONEX_TEST_VAULT_TOKEN"})
	tests := []struct {
		ref      handler.SecretRef
		want     string
		notFound bool
		wantErr  string
	}{
		{ref: handler.SecretRef{Scope: "db", Key: "dsn"}, want: "postgres://u:pw@db/app"},
		{ref: handler.SecretRef{Scope: "db", Key: "missing"}, notFound: true},
		{ref: handler.SecretRef{Scope: "nosuch", Key: "dsn"}, notFound: true},
		{ref: handler.SecretRef{Scope: "db", Key: "port"}, wantErr: "is not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.ref.String(), func(t *testing.T) {
			s, err := p.Lookup(context.Background(), tt.ref)
			switch {
			case tt.notFound:
				if !errors.Is(err, policy.ErrSecretNotFound) {
					t.Fatalf("err = %v, want ErrSecretNotFound (so the next provider is asked)", err)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			default:
				if err != nil || s.Reveal() != tt.want {
					t.Fatalf("Lookup = %v, %v", s, err)
				}
			}
		})
	}
}

func TestTokenFileAndBadToken(t *testing.T) {
	v := testkit.NewVault(t, token, "kv")
	v.Put("kv", "apps/api", map[string]any{"key": "k-1"})
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := newProvider(t, Options{Address: v.URL(), Mount: "kv", PathPrefix: "apps", TokenFile: file})
	if s, err := p.Lookup(context.Background(), handler.SecretRef{Scope: "api", Key: "key"}); err != nil || s.Reveal() != "k-1" {
		t.Fatalf("token_file lookup = %v, %v", s, err)
	}
	t.Setenv("ONEX_TEST_BAD", "hvs.bad-77")
	bad := newProvider(t, Options{Address: v.URL(), Mount: "kv", PathPrefix: "apps", TokenEnv: "ONEX_TEST_BAD"})
	_, err := bad.Lookup(context.Background(), handler.SecretRef{Scope: "api", Key: "key"})
	if err == nil || errors.Is(err, policy.ErrSecretNotFound) || !strings.Contains(err.Error(), "403") || strings.Contains(err.Error(), "hvs.bad-77") {
		t.Fatalf("bad token err = %v, want a 403 that does not show the token", err)
	}
	empty := newProvider(t, Options{Address: v.URL(), Mount: "kv", TokenEnv: "ONEX_TEST_UNSET_VAR"})
	if _, err := empty.Lookup(context.Background(), handler.SecretRef{Scope: "api", Key: "key"}); err == nil || !strings.Contains(err.Error(), "ONEX_TEST_UNSET_VAR is empty") {
		t.Fatalf("unset token variable: %v", err)
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name    string
		o       Options
		wantErr string
	}{
		{"defaults", Options{Mount: "secret", TokenEnv: "VAULT_TOKEN"}, ""},
		{"bad address", Options{Address: "vault:8200", Mount: "secret", TokenEnv: "VAULT_TOKEN"}, "address:"},
		{"no mount", Options{Mount: "/", TokenEnv: "VAULT_TOKEN"}, "mount:"},
		{"no token source", Options{Mount: "secret"}, "token_env:"},
		{"bad timeout", Options{Mount: "secret", TokenEnv: "T", Timeout: "x"}, "timeout:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.o)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("New(%+v) = %v, want %q", tt.o, err, tt.wantErr)
			}
		})
	}
}

// TestThroughPolicy configures the provider in onex.yaml and reads a scope
// through the enforcer's scoped reader, with env as the fallback provider.
func TestThroughPolicy(t *testing.T) {
	v := testkit.NewVault(t, token)
	v.Put("secret", "onex/db", map[string]any{"dsn": "from-vault"})
	t.Setenv("ONEX_TEST_VAULT_TOKEN", token)
	t.Setenv("ONEX_SECRET_CACHE_URL", "from-env")
	yaml := fmt.Sprintf("secrets:\n  providers: [vault, env]\n  vault:\n    address: %s\n    token_env: ONEX_TEST_VAULT_TOKEN\n", v.URL())
	f, errs := config.Parse("onex.yaml", []byte(yaml))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	providers, errs := policy.LoadSecretProviders(f)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	e := policy.New(policy.Options{Secrets: providers})
	defer e.Close()
	caps, err := e.Grant(&handler.Descriptor{Name: "app", Version: "1.0.0", Type: handler.TypeInfra, Category: handler.CategoryEffect,
		Security: handler.Security{SecretScopes: []string{"db", "cache"}}})
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[handler.SecretRef]string{{Scope: "db", Key: "dsn"}: "from-vault", {Scope: "cache", Key: "url"}: "from-env"} {
		s, err := caps.Secrets.ReadSecret(context.Background(), ref)
		if err != nil || s.Reveal() != want {
			t.Fatalf("ReadSecret(%s) = %v, %v, want %s", ref, s, err, want)
		}
	}
	// A scope outside the declared ones never reaches Vault.
	before := v.Requests()
	_, err = caps.Secrets.ReadSecret(context.Background(), handler.SecretRef{Scope: "other", Key: "x"})
	var ve *handler.ValidationError
	if !errors.As(err, &ve) || ve.RuleID != "SECURITY-311" || v.Requests() != before {
		t.Fatalf("undeclared scope: %v", err)
	}

	// Unknown option keys are located configuration errors.
	f, _ = config.Parse("onex.yaml", []byte("secrets:\n  providers: [vault]\n  vault:\n    adress: x\n"))
	if _, errs := policy.LoadSecretProviders(f); len(errs) == 0 || !strings.Contains(errs[0].Message, "adress") {
		t.Fatalf("typo in options: %v", errs)
	}
}
