package handler

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// Redacted is how a secret value renders everywhere except Reveal.
const Redacted = "[redacted]"

// Secret holds a secret value. It renders as [redacted] with fmt, slog, JSON and
// text marshalling; only Reveal returns the value.
type Secret struct {
	value string
}

// NewSecret wraps a secret value.
func NewSecret(v string) Secret { return Secret{value: v} }

// Reveal returns the secret value. Do not log it.
func (s Secret) Reveal() string { return s.value }

// String returns [redacted].
func (s Secret) String() string { return Redacted }

// GoString returns [redacted].
func (s Secret) GoString() string { return Redacted }

// Format renders [redacted] for every verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue renders [redacted] in slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalText renders [redacted].
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// SecretRef names a secret: a declared scope and a key inside it.
type SecretRef struct {
	Scope, Key string
}

func (r SecretRef) String() string { return r.Scope + "/" + r.Key }

// ParseSecretRef parses "scope/key"; the scope is up to the first slash, the key
// the (non-empty) rest.
func ParseSecretRef(s string) (SecretRef, error) {
	scope, key, ok := strings.Cut(s, "/")
	if !ok || strings.TrimSpace(scope) == "" || strings.TrimSpace(key) == "" {
		return SecretRef{}, fmt.Errorf("secret reference %q is not scope/key", s)
	}
	return SecretRef{Scope: scope, Key: key}, nil
}

// SecretReader reads secrets. The one handed to handlers reads only the scopes
// the descriptor declares; anything else is refused (SECURITY-311).
type SecretReader interface {
	ReadSecret(ctx context.Context, ref SecretRef) (Secret, error)
}
