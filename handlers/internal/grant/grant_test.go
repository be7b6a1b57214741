package grant

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/onexhost/onex/handler"
)

type reader map[string]string

func (r reader) ReadSecret(_ context.Context, ref handler.SecretRef) (handler.Secret, error) {
	v, ok := r[ref.String()]
	if !ok {
		return handler.Secret{}, errors.New("not found")
	}
	return handler.NewSecret(v), nil
}

type dialer struct{}

func (dialer) DialContext(context.Context, string, string) (net.Conn, error) { return nil, nil }

func env(config string, caps handler.Capabilities) *handler.InitEnv {
	return handler.NewInitEnv(handler.InitParams{Config: json.RawMessage(config), Capabilities: caps})
}

func TestSecret(t *testing.T) {
	ref := handler.SecretRef{Scope: "db", Key: "dsn"}
	withReader := env("", handler.Capabilities{Secrets: reader{"db/dsn": "postgres://u:pw@h/db"}})
	for _, tc := range []struct {
		name, direct string
		ref          handler.SecretRef
		e            *handler.InitEnv
		want, err    string
	}{
		{"from the reader", "", ref, withReader, "postgres://u:pw@h/db", ""},
		{"reader wins over a direct value", "ignored", ref, withReader, "postgres://u:pw@h/db", ""},
		{"direct (resolved by the runtime)", "postgres://x", handler.SecretRef{}, withReader, "postgres://x", ""},
		{"no reader granted", "", ref, env("", handler.Capabilities{}), "", `dsn_secret: no secret reader granted: declare scope "db"`},
		{"read refused", "", handler.SecretRef{Scope: "db", Key: "other"}, withReader, "", "dsn_secret db/other: not found"},
		{"placeholder", handler.Redacted, handler.SecretRef{}, withReader, "", "dsn: empty, or the secret reference was not resolved"},
		{"nothing", "", handler.SecretRef{}, withReader, "", "dsn: empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Secret(context.Background(), tc.e, "dsn", tc.direct, tc.ref)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "pw@") {
					t.Fatal("the secret value leaked into the error")
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("= %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if v, err := OptionalSecret(context.Background(), withReader, "token", "", handler.SecretRef{}); v != "" || err != nil {
		t.Errorf("optional and absent: %q, %v", v, err)
	}
	if _, err := OptionalSecret(context.Background(), withReader, "token", handler.Redacted, handler.SecretRef{}); err == nil {
		t.Error("optional but unresolved: accepted")
	}
	empty := env("", handler.Capabilities{Secrets: reader{"consul/token": ""}})
	if v, err := OptionalSecret(context.Background(), empty, "token", "", handler.SecretRef{Scope: "consul", Key: "token"}); v != "" || err != nil {
		t.Errorf("optional and empty from the reader: %q, %v", v, err)
	}
	if _, err := OptionalSecret(context.Background(), empty, "token", "", handler.SecretRef{Scope: "consul", Key: "x"}); err == nil {
		t.Error("optional but unreadable: accepted")
	}
}

func TestCapabilities(t *testing.T) {
	none := env("", handler.Capabilities{})
	if _, err := Dialer(none, "database"); err == nil || !strings.Contains(err.Error(), "list the database host") {
		t.Errorf("Dialer without a grant: %v", err)
	}
	if d, err := Dialer(env("", handler.Capabilities{Dialer: dialer{}}), "database"); err != nil || d == nil {
		t.Errorf("Dialer: %v", err)
	}
	if _, err := HTTPClient(none, "Vault"); err == nil || !strings.Contains(err.Error(), "list the Vault host") {
		t.Errorf("HTTPClient without a grant: %v", err)
	}
	if _, err := HTTPClient(env("", handler.Capabilities{HTTPClient: &http.Client{}}), "Vault"); err == nil || !strings.Contains(err.Error(), "no transport") {
		t.Errorf("a client without a transport would fall back to the unguarded default: %v", err)
	}
	granted := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	c, err := HTTPClient(env("", handler.Capabilities{HTTPClient: granted}), "Vault")
	if err != nil || c == granted || c.Transport != granted.Transport {
		t.Errorf("HTTPClient must copy the client and keep its transport: %v", err)
	}
}

func TestConfig(t *testing.T) {
	parse := func(raw json.RawMessage) (string, error) {
		var c struct{ V string }
		if err := handler.DecodeStrict(raw, &c); err != nil {
			return "", err
		}
		return c.V, nil
	}
	if v, err := Config(env("", handler.Capabilities{}), "current", parse); v != "current" || err != nil {
		t.Errorf("no config: %q, %v", v, err)
	}
	if v, err := Config(env(`{"V":"resolved"}`, handler.Capabilities{}), "current", parse); v != "resolved" || err != nil {
		t.Errorf("config: %q, %v", v, err)
	}
	if _, err := Config(env(`{"W":1}`, handler.Capabilities{}), "current", parse); err == nil || !strings.HasPrefix(err.Error(), "config: ") {
		t.Errorf("bad config: %v", err)
	}
}
