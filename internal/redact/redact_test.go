package redact

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestConfig(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, ``},
		{`{"dsn":"postgres://app:hunter2@db/app"}`, `{"dsn":"[redacted]"}`},
		{`{"url":"postgres://app:hunter2@db/app?sslmode=disable"}`, `{"url":"postgres://app:redacted@db/app?sslmode=disable"}`},
		{`{"url":"https://u@api.example.com/x?api_key=hunter2&q=1"}`, `{"url":"https://u@api.example.com/x?api_key=redacted\u0026q=1"}`},
		{`{"headers":{"Authorization":{"secret":"partner/bearer"}}}`, `{"headers":{"Authorization":{"secret":"partner/bearer"}}}`},
		{`{"auth":{"password":"hunter2","user":"u"},"n":1.50}`, `{"auth":{"password":"[redacted]","user":"u"},"n":1.50}`},
		{`{"tokens":["hunter2","b"]}`, `{"tokens":["[redacted]","[redacted]"]}`},
		{`{"odd":"x://a:hunter2@%zz"}`, `{"odd":"[redacted]"}`},
		{`{not json`, `"[unreadable config]"`},
	} {
		got := string(Config(json.RawMessage(tc.in)))
		if got != tc.want {
			t.Errorf("Config(%s) = %s, want %s", tc.in, got, tc.want)
		}
		if strings.Contains(got, "hunter2") {
			t.Errorf("Config(%s) leaks the password: %s", tc.in, got)
		}
	}
}

func TestConfigAndRefs(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"headers":{"Authorization":{"secret":"partner/bearer"}},"base_url":"https://api.example"}`,
			`{"base_url":"https://api.example","headers":{"Authorization":"[redacted]"}}`},
		{`{"dsn":{"secret":"db/dsn"},"pool":{"url":"postgres://u:hunter2@h/db"}}`,
			`{"dsn":"[redacted]","pool":{"url":"postgres://u:redacted@h/db"}}`},
		{`{}`, `{}`},
	} {
		got := string(ConfigAndRefs(json.RawMessage(tc.in)))
		if got != tc.want {
			t.Errorf("ConfigAndRefs(%s) = %s, want %s", tc.in, got, tc.want)
		}
		if strings.Contains(got, "partner/bearer") || strings.Contains(got, "db/dsn") || strings.Contains(got, "hunter2") {
			t.Errorf("ConfigAndRefs(%s) shows a secret or reference: %s", tc.in, got)
		}
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"dial postgres://app:hunter2@db:5432/app: refused", "dial postgres://app:redacted@db:5432/app: refused"},
		{"failed to connect to `host=db user=app password=hunter2 dbname=app`", "failed to connect to `host=db user=app password=[redacted] dbname=app`"},
		{"GET /v1?api_key=hunter2&x=1: 500", "GET /v1?api_key=[redacted]&x=1: 500"},
		{`vault: token: "hunter2" rejected`, `vault: token: [redacted] rejected`},
		{"PASSWORD='hunter2 2' host=db", "PASSWORD=[redacted] host=db"},
		{"plain message, nothing to hide", "plain message, nothing to hide"},
		{"see https://example.com/docs for help", "see https://example.com/docs for help"},
	} {
		got := Text(tc.in)
		if got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Contains(got, "hunter2") {
			t.Errorf("Text(%q) leaks the password: %q", tc.in, got)
		}
	}
}

func TestValue(t *testing.T) {
	in := map[string]any{
		"cause":    "dial postgres://u:hunter2@db/x failed",
		"password": "hunter2",
		"nested":   map[string]any{"list": []any{"token=hunter2", 3}, "urls": []string{"mysql://root:hunter2@h/db"}},
		"count":    2,
	}
	out, err := json.Marshal(Value(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"cause":"dial postgres://u:redacted@db/x failed","count":2,"nested":{"list":["token=[redacted]",3],"urls":["mysql://root:redacted@h/db"]},"password":"[redacted]"}`
	if string(out) != want {
		t.Errorf("Value = %s\nwant    %s", out, want)
	}
	if in["password"] != "hunter2" {
		t.Error("Value modified its input")
	}
}
