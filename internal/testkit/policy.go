package testkit

import (
	"context"
	"fmt"
	"testing"

	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/policy"
)

// Grant describes the policy a test handler runs under.
type Grant struct {
	// Name is the handler name (default "test").
	Name string
	// AllowedDomains is the descriptor's allowlist.
	AllowedDomains []string
	// SecretScopes are the declared scopes.
	SecretScopes []string
	// Secrets are the values the secret provider holds, keyed "scope/key".
	Secrets map[string]string
}

// Capabilities returns what the real policy enforcer grants an effect handler
// with g's security block, in the development environment (private networks
// allowed, so tests can reach 127.0.0.1 servers by name). The enforcer is
// closed when the test ends.
func Capabilities(tb testing.TB, g Grant) handler.Capabilities {
	tb.Helper()
	if g.Name == "" {
		g.Name = "test"
	}
	e := policy.New(policy.Options{
		Environment: policy.DefaultEnvironment(handler.EnvDevelopment),
		Secrets:     []policy.Provider{{Kind: "test", SecretProvider: MapSecrets(g.Secrets)}},
	})
	tb.Cleanup(func() { _ = e.Close() })
	d := &handler.Descriptor{
		Name:     g.Name,
		Version:  "1.0.0",
		Type:     handler.TypeInfra,
		Category: handler.CategoryEffect,
		Security: handler.Security{AllowedDomains: g.AllowedDomains, SecretScopes: g.SecretScopes},
	}
	caps, err := e.Grant(d)
	if err != nil {
		tb.Fatalf("grant: %v", err)
	}
	return caps
}

// MapSecrets is a secret provider (and reader) over a map keyed "scope/key".
type MapSecrets map[string]string

// Lookup implements policy.SecretProvider.
func (m MapSecrets) Lookup(_ context.Context, ref handler.SecretRef) (handler.Secret, error) {
	v, ok := m[ref.String()]
	if !ok {
		return handler.Secret{}, fmt.Errorf("secret %s: %w", ref, policy.ErrSecretNotFound)
	}
	return handler.NewSecret(v), nil
}

// ReadSecret implements handler.SecretReader, unscoped: for tests that do not
// exercise the policy.
func (m MapSecrets) ReadSecret(ctx context.Context, ref handler.SecretRef) (handler.Secret, error) {
	return m.Lookup(ctx, ref)
}
