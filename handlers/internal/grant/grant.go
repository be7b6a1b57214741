// Package grant holds what the built-in effect handlers do alike in Init: take
// the runtime's resolved config, require the capabilities the handler needs, and
// read a secret-valued setting through the handler's scoped secret reader. It
// uses only what the InitEnv hands out.
package grant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/onexhost/onex/handler"
)

// Config returns the settings Init should use: those parsed from the runtime's
// config (secret references resolved) when it hands one, else current.
func Config[S any](env *handler.InitEnv, current S, parse func(json.RawMessage) (S, error)) (S, error) {
	if len(env.Config()) == 0 {
		return current, nil
	}
	s, err := parse(env.Config())
	if err != nil {
		return current, fmt.Errorf("config: %w", err)
	}
	return s, nil
}

// Dialer returns the granted egress-guarded dialer; target names what the
// handler connects to, for the error.
func Dialer(env *handler.InitEnv, target string) (handler.Dialer, error) {
	if d := env.Dialer(); d != nil {
		return d, nil
	}
	return nil, fmt.Errorf("no egress capability granted: list the %s host in security.allowed_domains", target)
}

// HTTPClient returns a copy of the granted egress-guarded HTTP client, so the
// handler may wrap its transport without touching the runtime's. A client
// without a transport is refused: wrapping it would fall back to the unguarded
// default transport.
func HTTPClient(env *handler.InitEnv, target string) (*http.Client, error) {
	granted := env.HTTPClient()
	if granted == nil {
		return nil, fmt.Errorf("no egress capability granted: list the %s host in security.allowed_domains", target)
	}
	if granted.Transport == nil {
		return nil, errors.New("the granted HTTP client has no transport to wrap")
	}
	hc := *granted
	return &hc, nil
}

// Secret returns a secret-valued setting: read through the scoped reader when
// ref names a secret (the `<field>_secret` key), else the value given directly
// (which the runtime has already resolved from a {secret} reference). field is
// the setting's key, for errors; the value never appears in them. An empty value,
// or the validation-time placeholder, is an error.
func Secret(ctx context.Context, env *handler.InitEnv, field, direct string, ref handler.SecretRef) (string, error) {
	value, err := read(ctx, env, field, direct, ref)
	if err == nil && value == "" {
		err = fmt.Errorf("%s: empty, or the secret reference was not resolved", field)
	}
	return value, err
}

// OptionalSecret is Secret for a setting that may be empty (e.g. an ACL token
// where anonymous access is allowed); only an unresolved reference is an error.
func OptionalSecret(ctx context.Context, env *handler.InitEnv, field, direct string, ref handler.SecretRef) (string, error) {
	return read(ctx, env, field, direct, ref)
}

func read(ctx context.Context, env *handler.InitEnv, field, direct string, ref handler.SecretRef) (string, error) {
	value := direct
	if ref.Scope != "" {
		sr := env.Secrets()
		if sr == nil {
			return "", fmt.Errorf("%s_secret: no secret reader granted: declare scope %q in security.secret_scopes", field, ref.Scope)
		}
		sec, err := sr.ReadSecret(ctx, ref)
		if err != nil {
			return "", fmt.Errorf("%s_secret %s: %w", field, ref, err)
		}
		value = sec.Reveal()
	}
	if value == handler.Redacted {
		return "", fmt.Errorf("%s: empty, or the secret reference was not resolved", field)
	}
	return value, nil
}
