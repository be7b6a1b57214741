package handler

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
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
	refs, err := findSecretRefs(config)
	if err != nil {
		return nil, err
	}
	var out []ConfigSecret
	for _, r := range refs {
		if r.err != nil {
			return out, r.err
		}
		out = append(out, ConfigSecret{Path: r.path, Ref: r.ref})
	}
	return out, nil
}

// ResolveSecretRefs returns config with every secret reference replaced by the
// string resolve returns for it, called in path order. Use it with a scoped
// reader at initialisation, or with a placeholder at validation time. The rest
// of config is kept as written; a config without references is returned as
// it is.
func ResolveSecretRefs(config json.RawMessage, resolve func(path string, ref SecretRef) (string, error)) (json.RawMessage, error) {
	refs, err := findSecretRefs(config)
	if err != nil || len(refs) == 0 {
		return config, err
	}
	// In path order: the first bad reference reported, and the order
	// secrets are read in, are the same on every run.
	for i := range refs {
		if refs[i].err != nil {
			return nil, refs[i].err
		}
		if refs[i].value, err = resolve(refs[i].path, refs[i].ref); err != nil {
			return nil, err
		}
	}
	// Each reference becomes a string in its place; references do not
	// overlap (a reference holds only its string).
	slices.SortFunc(refs, func(a, b foundRef) int { return cmp.Compare(a.start, b.start) })
	out := make([]byte, 0, len(config)+16*len(refs))
	last := int64(0)
	for _, r := range refs {
		out = append(out, config[last:r.start]...)
		// Invalid UTF-8 in a secret becomes U+FFFD, as encoding/json writes it.
		out, _ = jsontext.AppendQuote(out, r.value)
		last = r.end
	}
	return append(out, config[last:]...), nil
}

// RedactSecretRefs replaces every secret reference by the placeholder
// [redacted]: what factories validate at registration, before secrets are read.
func RedactSecretRefs(config json.RawMessage) (json.RawMessage, error) {
	return ResolveSecretRefs(config, func(string, SecretRef) (string, error) { return Redacted, nil })
}

// foundRef is a secret reference, or a malformed one, found in a config.
type foundRef struct {
	path       string // config.headers.Authorization
	elems      []pathElem
	start, end int64 // the reference object's bytes in the config
	ref        SecretRef
	err        error  // a malformed reference
	value      string // what it resolves to
}

// pathElem is one step of a path: an object key or an array index.
type pathElem struct {
	key   string
	index int
}

// findSecretRefs finds the references of config, in path order (keys in
// byte order, indices in number order, a value before what it holds). It
// reads config with the SDK's JSON tokenizer and keeps no decoded copy of it.
func findSecretRefs(config json.RawMessage) ([]foundRef, error) {
	if !bytes.Contains(config, []byte(`"secret"`)) {
		return nil, nil // fast path: nothing to resolve
	}
	trimmed := bytes.Trim(config, " \t\r\n")
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil, nil
	}
	r := readers.Get().(*configReader)
	defer readers.Put(r)
	r.rd.Reset(config)
	// What handlers read (DecodeStrict) is read: a name given twice is
	// read, and an object with secret twice is no reference.
	r.dec.Reset(&r.rd, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	var refs []foundRef
	if err := scanRefs(&r.dec, &refs); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if _, err := r.dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config: unexpected data after the JSON value at offset %d", r.dec.InputOffset())
	}
	slices.SortStableFunc(refs, func(a, b foundRef) int { return comparePaths(a.elems, b.elems) })
	return refs, nil
}

// configReader reads configs; they are pooled, since validation reads every
// config of a discovery.
type configReader struct {
	rd  bytes.Reader
	dec jsontext.Decoder
}

var readers = sync.Pool{New: func() any { return new(configReader) }}

// isSecret reports whether the object name raw (quoted) is secret.
func isSecret(raw jsontext.Value) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == `"secret"`
	}
	name, err := jsontext.AppendUnquote(nil, raw)
	return err == nil && string(name) == "secret"
}

// scanRefs reads the next value from dec, adding the references in it.
func scanRefs(dec *jsontext.Decoder, refs *[]foundRef) error {
	switch dec.PeekKind() {
	case '{':
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		start := dec.InputOffset() - 1
		for first := true; dec.PeekKind() != '}'; first = false {
			name, err := dec.ReadValue()
			if err != nil {
				return err
			}
			if !first || !isSecret(name) {
				if err := scanRefs(dec, refs); err != nil {
					return err
				}
				continue
			}
			// A first member named secret: the object is a reference if it
			// is the only one.
			var text string
			isString := dec.PeekKind() == '"'
			if isString {
				var value jsontext.Token
				value, err = dec.ReadToken()
				text = value.String()
			} else {
				err = scanRefs(dec, refs)
			}
			if err != nil {
				return err
			}
			if dec.PeekKind() != '}' {
				continue
			}
			r := foundRef{start: start}
			r.path, r.elems = refPath(dec)
			if _, err := dec.ReadToken(); err != nil {
				return err
			}
			r.end = dec.InputOffset()
			switch {
			case !isString:
				r.err = fmt.Errorf("%s: secret reference must be a \"scope/key\" string", r.path)
			default:
				if r.ref, err = ParseSecretRef(text); err != nil {
					r.err = fmt.Errorf("%s: %w", r.path, err)
				}
			}
			*refs = append(*refs, r)
			return nil
		}
		_, err := dec.ReadToken()
		return err
	case '[':
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		for dec.PeekKind() != ']' {
			if err := scanRefs(dec, refs); err != nil {
				return err
			}
		}
		_, err := dec.ReadToken()
		return err
	}
	return dec.SkipValue()
}

// refPath is the path of the object dec is in (a reference, just read).
func refPath(dec *jsontext.Decoder) (string, []pathElem) {
	path := "config"
	var elems []pathElem
	depth := dec.StackDepth()
	level := 1
	for tok := range dec.StackPointer().Tokens() {
		if level >= depth {
			break // the reference's own member
		}
		if kind, _ := dec.StackIndex(level); kind == '[' {
			i, _ := strconv.Atoi(tok)
			elems = append(elems, pathElem{index: i})
			path += "[" + tok + "]"
		} else {
			elems = append(elems, pathElem{key: tok, index: -1})
			path += "." + tok
		}
		level++
	}
	return path, elems
}

// comparePaths orders paths as a walk over sorted keys meets them.
func comparePaths(a, b []pathElem) int {
	for i := range min(len(a), len(b)) {
		if c := cmp.Or(strings.Compare(a[i].key, b[i].key), cmp.Compare(a[i].index, b[i].index)); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}
