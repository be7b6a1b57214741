package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/onexhost/onex/envelope/rawjson"
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
	trimmed := bytes.TrimSpace(config)
	if len(trimmed) > 0 && !bytes.Equal(trimmed, []byte("null")) && bytes.Contains(trimmed, []byte(`"secret"`)) {
		// Validation redacts every config of a discovery: the common shape
		// is rewritten without decoding it into maps and marshalling them.
		if out, ok := redactPlain(trimmed); ok {
			return out, nil
		}
	}
	return walkSecretRefs(config, func(string, SecretRef) (string, error) { return Redacted, nil })
}

// redactPlain is RedactSecretRefs for plain JSON: the bytes json.Marshal
// writes for the value decoded from in (keys sorted, no whitespace, numbers as
// written) with every secret reference replaced by [redacted]. It reports
// false for anything it does not copy exactly as json.Marshal would (escapes,
// non-ASCII or HTML characters in a string, a key set twice, a malformed
// reference or document, trailing data), and the caller takes the general
// path, errors included.
func redactPlain(in []byte) (json.RawMessage, bool) {
	v, ok := rawjson.Parse(in)
	if !ok {
		return nil, false
	}
	return appendRedacted(make([]byte, 0, len(v)+16), v)
}

// appendRedacted appends v as json.Marshal would write it after decoding,
// with its secret references redacted.
func appendRedacted(dst []byte, v rawjson.Value) ([]byte, bool) {
	switch v.Kind() {
	case rawjson.String:
		return append(dst, v...), plainString(v)
	case rawjson.Array:
		dst = append(dst, '[')
		for i, e := range v.Elements() {
			if i > 0 {
				dst = append(dst, ',')
			}
			var ok bool
			if dst, ok = appendRedacted(dst, e); !ok {
				return nil, false
			}
		}
		return append(dst, ']'), true
	case rawjson.Object:
		return appendRedactedObject(dst, v)
	}
	// Numbers (json.Number keeps them as written), booleans, null.
	return append(dst, v...), true
}

// appendRedactedObject appends an object with its keys sorted, or
// "[redacted]" for a secret reference.
func appendRedactedObject(dst []byte, v rawjson.Value) ([]byte, bool) {
	type member struct{ key, value rawjson.Value }
	var buf [16]member
	ms := buf[:0]
	for k, val := range v.Members() {
		if !plainString(k) {
			return nil, false
		}
		ms = append(ms, member{k, val})
	}
	if len(ms) == 1 && string(ms[0].key) == `"secret"` {
		// A reference: its value must be a "scope/key" string; anything
		// else is an error, reported by the general path.
		ref := ms[0].value
		if ref.Kind() != rawjson.String || !plainString(ref) {
			return nil, false
		}
		if _, err := ParseSecretRef(string(ref[1 : len(ref)-1])); err != nil {
			return nil, false
		}
		return append(dst, `"`+Redacted+`"`...), true
	}
	// By the keys' text, without the quotes: `" "` sorts after `""`.
	slices.SortFunc(ms, func(a, b member) int { return bytes.Compare(a.key[1:len(a.key)-1], b.key[1:len(b.key)-1]) })
	dst = append(dst, '{')
	for i, m := range ms {
		if i > 0 {
			if bytes.Equal(ms[i-1].key, m.key) {
				return nil, false // json.Marshal would keep only the last
			}
			dst = append(dst, ',')
		}
		dst = append(dst, m.key...)
		dst = append(dst, ':')
		var ok bool
		if dst, ok = appendRedacted(dst, m.value); !ok {
			return nil, false
		}
	}
	return append(dst, '}'), true
}

// plainString reports whether the JSON string s (quotes included) is one
// json.Marshal writes back as it is: printable ASCII, without escapes or the
// characters it escapes for HTML.
func plainString(s rawjson.Value) bool {
	for _, c := range s[1 : len(s)-1] {
		if c < 0x20 || c >= 0x7f || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
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
		// In key order: the first bad reference reported, and the order
		// secrets are read in, are the same on every run.
		for _, k := range slices.Sorted(maps.Keys(x)) {
			r, err := walkValue(x[k], path+"."+k, resolve)
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
