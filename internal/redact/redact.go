// Package redact removes credentials from what onex shows about handlers: the
// config of a descriptor (in `onex handlers` and the admin listener's
// /v1/handlers) and free text such as health-check errors. Secret values never
// reach these places by design (configs hold references, not values); this
// covers what a contract author wrote inline: DSNs with passwords, tokens,
// keys.
package redact

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"

	"github.com/onexhost/onex/handler"
)

// sensitiveKeys are config keys whose values are redacted unless they are secret
// references.
var sensitiveKeys = []string{"password", "passwd", "secret", "token", "dsn", "credential", "api_key", "apikey", "private_key", "authorization"}

// Config returns config with credentials removed: values of sensitive keys
// become [redacted] (secret references {secret: "scope/key"} are kept: they
// name a secret, they do not hold it), and the password of URL-like strings
// (postgres://user:pass@host/db) and sensitive query parameters are replaced.
// An empty config yields nil; one that is not JSON yields a placeholder string.
func Config(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return json.RawMessage(`"[unreadable config]"`)
	}
	out, err := json.Marshal(value(v, false))
	if err != nil {
		return json.RawMessage(`"[unreadable config]"`)
	}
	return out
}

// ConfigAndRefs is Config that also replaces each secret reference with
// [redacted], for listings reachable by more people than the contract's
// readers (the admin listener): a reference names where a secret lives.
func ConfigAndRefs(raw json.RawMessage) json.RawMessage {
	red, err := handler.RedactSecretRefs(raw)
	if err != nil {
		return json.RawMessage(`"[unreadable config]"`)
	}
	return Config(red)
}

func value(v any, sensitive bool) any {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x["secret"].(string); ok && len(x) == 1 {
			return map[string]any{"secret": s}
		}
		for k, e := range x {
			x[k] = value(e, sensitive || IsSensitiveKey(k))
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = value(e, sensitive)
		}
		return x
	case string:
		if sensitive {
			return handler.Redacted
		}
		return URL(x)
	}
	return v
}

// IsSensitiveKey reports whether a config key or query parameter name suggests
// a credential (password, token, dsn, api_key, …).
func IsSensitiveKey(key string) bool {
	k := strings.ToLower(key)
	for _, s := range sensitiveKeys {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// URL hides the password of a URL with userinfo and its sensitive query
// parameters; other strings are returned unchanged. A string that looks like a
// DSN but does not parse is replaced whole.
func URL(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return handler.Redacted // looks like a DSN but does not parse: show nothing
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}
	q := u.Query()
	for k := range q {
		if IsSensitiveKey(k) {
			q.Set(k, "redacted")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

var (
	// userinfoPassword is the password of scheme://user:password@ in text.
	userinfoPassword = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)[^\s@]*@`)
	// keyValueSecret is a key=value or key: value pair of a keyword/value DSN
	// (password=… in libpq style) or a query string, whose key is sensitive.
	keyValueSecret = regexp.MustCompile(`(?i)\b([a-z_]*(?:password|passwd|secret|token|api_?key|private_key|credential)[a-z_]*)(\s*[=:]\s*)('[^']*'|"[^"]*"|[^\s&;,'"]+)`)
)

// Text redacts credentials inside free text (an error message, a log line):
// passwords of URLs with userinfo and the values of password=, token=,
// api_key= and similar pairs.
func Text(s string) string {
	s = userinfoPassword.ReplaceAllString(s, "${1}redacted@")
	return keyValueSecret.ReplaceAllString(s, "${1}${2}"+handler.Redacted)
}

// Value returns a copy of v (a decoded JSON value, or a diagnostic's details)
// with credentials removed: values under sensitive keys become [redacted],
// strings go through Text.
func Value(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if IsSensitiveKey(k) {
				out[k] = handler.Redacted
				continue
			}
			out[k] = Value(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Value(e)
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = Text(e)
		}
		return out
	case string:
		return Text(x)
	}
	return v
}
