package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
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
// false, having written nothing anyone sees, for anything it does not copy
// exactly as json.Marshal would (escapes, non-ASCII or HTML characters in a
// string, a key set twice, a malformed reference or document, trailing data),
// and the caller takes the general path, errors included.
func redactPlain(in []byte) (json.RawMessage, bool) {
	r := redactors.Get().(*redactor)
	defer func() {
		if cap(r.scratch) > 64<<10 || cap(r.members) > 1<<10 {
			return // keep no outsized buffer
		}
		clear(r.members[:cap(r.members)]) // no key of this config kept alive
		*r = redactor{members: r.members[:0], scratch: r.scratch[:0]}
		redactors.Put(r)
	}()
	r.in, r.out = in, make([]byte, 0, len(in)+16)
	if !r.value(0) {
		return nil, false
	}
	r.space()
	if r.pos != len(in) {
		return nil, false
	}
	return r.out, true
}

// redactors keep their members and scratch buffers from one config to the
// next.
var redactors = sync.Pool{New: func() any { return new(redactor) }}

// redactor holds the state of redactPlain.
type redactor struct {
	in      []byte
	pos     int
	out     []byte
	members []member // the members of the objects being rewritten, innermost last
	scratch []byte   // an object's members while they are put in order
}

// member is one member of an object, as written to out: key and value, from
// start to end; key is the key's text in in.
type member struct {
	key        []byte
	start, end int
}

const redactMaxDepth = 64

func (r *redactor) space() {
	for r.pos < len(r.in) {
		switch r.in[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// value copies one value.
func (r *redactor) value(depth int) bool {
	if depth > redactMaxDepth {
		return false
	}
	r.space()
	if r.pos >= len(r.in) {
		return false
	}
	switch c := r.in[r.pos]; {
	case c == '{':
		return r.object(depth)
	case c == '[':
		r.pos++
		r.out = append(r.out, '[')
		r.space()
		if r.pos < len(r.in) && r.in[r.pos] == ']' {
			r.pos++
			r.out = append(r.out, ']')
			return true
		}
		for {
			if !r.value(depth + 1) {
				return false
			}
			r.space()
			if r.pos >= len(r.in) {
				return false
			}
			switch r.in[r.pos] {
			case ',':
				r.pos++
				r.out = append(r.out, ',')
			case ']':
				r.pos++
				r.out = append(r.out, ']')
				return true
			default:
				return false
			}
		}
	case c == '"':
		s, ok := r.str()
		if ok {
			r.out = append(r.out, '"')
			r.out = append(r.out, s...)
			r.out = append(r.out, '"')
		}
		return ok
	case c == '-' || ('0' <= c && c <= '9'):
		return r.number()
	case c == 't':
		return r.literal("true")
	case c == 'f':
		return r.literal("false")
	case c == 'n':
		return r.literal("null")
	}
	return false
}

func (r *redactor) literal(lit string) bool {
	if !bytes.HasPrefix(r.in[r.pos:], []byte(lit)) {
		return false
	}
	r.pos += len(lit)
	r.out = append(r.out, lit...)
	return true
}

// str reads a string that json.Marshal writes back as it is: printable
// ASCII, without escapes or the characters it escapes for HTML.
func (r *redactor) str() ([]byte, bool) {
	start := r.pos + 1
	for i := start; i < len(r.in); i++ {
		switch c := r.in[i]; {
		case c == '"':
			r.pos = i + 1
			return r.in[start:i], true
		case c < 0x20 || c >= 0x7f || c == '\\' || c == '<' || c == '>' || c == '&':
			return nil, false
		}
	}
	return nil, false
}

// number copies a number that is valid JSON, which json.Number keeps and
// json.Marshal writes as it is.
func (r *redactor) number() bool {
	in, i := r.in, r.pos
	digits := func() bool {
		j := i
		for i < len(in) && '0' <= in[i] && in[i] <= '9' {
			i++
		}
		return i > j
	}
	if in[i] == '-' {
		i++
	}
	switch {
	case i < len(in) && in[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(in) && in[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		i++
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	r.out = append(r.out, in[r.pos:i]...)
	r.pos = i
	return true
}

// object copies an object with its keys in order, or writes [redacted] for a
// secret reference.
func (r *redactor) object(depth int) bool {
	r.pos++ // {
	objStart, base := len(r.out), len(r.members)
	ok := r.members1(depth, objStart, base)
	r.members = r.members[:base]
	return ok
}

// members1 is object after its {.
func (r *redactor) members1(depth, objStart, base int) bool {
	r.out = append(r.out, '{')
	r.space()
	if r.pos < len(r.in) && r.in[r.pos] == '}' {
		r.pos++
		r.out = append(r.out, '}')
		return true
	}
	for {
		r.space()
		if r.pos >= len(r.in) || r.in[r.pos] != '"' {
			return false
		}
		key, ok := r.str()
		if !ok {
			return false
		}
		r.space()
		if r.pos >= len(r.in) || r.in[r.pos] != ':' {
			return false
		}
		r.pos++
		if len(r.members) > base {
			r.out = append(r.out, ',')
		}
		start := len(r.out)
		r.out = append(r.out, '"')
		r.out = append(r.out, key...)
		r.out = append(r.out, '"', ':')
		if !r.value(depth + 1) {
			return false
		}
		r.members = append(r.members, member{key: key, start: start, end: len(r.out)})
		r.space()
		if r.pos >= len(r.in) {
			return false
		}
		if r.in[r.pos] == '}' {
			r.pos++
			break
		}
		if r.in[r.pos] != ',' {
			return false
		}
		r.pos++
	}
	ms := r.members[base:]
	if len(ms) == 1 && string(ms[0].key) == "secret" {
		// A reference: its value must be a "scope/key" string; anything
		// else is an error, reported by the general path.
		v := r.out[ms[0].start+len(`"secret":`) : ms[0].end]
		if len(v) < 2 || v[0] != '"' {
			return false
		}
		if _, err := ParseSecretRef(string(v[1 : len(v)-1])); err != nil {
			return false
		}
		r.out = append(r.out[:objStart], `"`+Redacted+`"`...)
		return true
	}
	sorted := true
	for i := 1; i < len(ms); i++ {
		switch c := bytes.Compare(ms[i-1].key, ms[i].key); {
		case c == 0:
			return false // json.Marshal would keep only the last
		case c > 0:
			sorted = false
		}
	}
	if !sorted {
		slices.SortFunc(ms, func(a, b member) int { return bytes.Compare(a.key, b.key) })
		for i := 1; i < len(ms); i++ {
			if bytes.Equal(ms[i-1].key, ms[i].key) {
				return false
			}
		}
		r.scratch = append(r.scratch[:0], r.out[objStart+1:]...)
		r.out = r.out[:objStart+1]
		for i, m := range ms {
			if i > 0 {
				r.out = append(r.out, ',')
			}
			r.out = append(r.out, r.scratch[m.start-objStart-1:m.end-objStart-1]...)
		}
	}
	r.out = append(r.out, '}')
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
