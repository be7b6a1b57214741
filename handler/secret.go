package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
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

// ConfigSecret is a secret reference {"secret": "scope/key"} found in a config.
type ConfigSecret struct {
	Path string // descriptor field path, e.g. config.headers.Authorization
	Ref  SecretRef
}

// FindSecretRefs lists every secret reference in config, sorted by path. A mapping
// whose only key is "secret" is a reference; its value must be a "scope/key"
// string, anything else is an error naming the path.
func FindSecretRefs(config json.RawMessage) ([]ConfigSecret, error) {
	var out []ConfigSecret
	_, err := walkSecretRefs(config, func(path string, ref SecretRef) (string, error) {
		out = append(out, ConfigSecret{Path: path, Ref: ref})
		return Redacted, nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}

// ResolveSecretRefs returns config with every secret reference replaced by the
// string resolve returns for it. Use it with a scoped reader at initialisation,
// or with a placeholder at validation time.
func ResolveSecretRefs(config json.RawMessage, resolve func(path string, ref SecretRef) (string, error)) (json.RawMessage, error) {
	return walkSecretRefs(config, resolve)
}

// RedactSecretRefs replaces every secret reference by the placeholder
// [redacted]: what factories validate at registration, before secrets are read.
func RedactSecretRefs(config json.RawMessage) (json.RawMessage, error) {
	return walkSecretRefs(config, func(string, SecretRef) (string, error) { return Redacted, nil })
}

func walkSecretRefs(config json.RawMessage, resolve func(string, SecretRef) (string, error)) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(config)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return config, nil
	}
	if !bytes.Contains(trimmed, []byte(`"secret"`)) {
		return config, nil // fast path: nothing to resolve
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	changed, err := walkValue(v, "config", resolve)
	if err != nil {
		return nil, err
	}
	return json.Marshal(changed)
}

func walkValue(v any, path string, resolve func(string, SecretRef) (string, error)) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if raw, ok := x["secret"]; ok && len(x) == 1 {
			s, isString := raw.(string)
			if !isString {
				return nil, fmt.Errorf("%s: secret reference must be a \"scope/key\" string", path)
			}
			ref, err := ParseSecretRef(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return resolve(path, ref)
		}
		for k, e := range x {
			r, err := walkValue(e, path+"."+k, resolve)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
	case []any:
		for i, e := range x {
			r, err := walkValue(e, fmt.Sprintf("%s[%d]", path, i), resolve)
			if err != nil {
				return nil, err
			}
			x[i] = r
		}
	}
	return v, nil
}
