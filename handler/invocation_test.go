package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// forbiddenMethod reports whether a method name would let its holder publish.
func forbiddenMethod(name string) bool {
	return name == "Publish" || name == "Emit" || strings.HasPrefix(name, "Send")
}

// reachable walks every type reachable from t through exported fields, method
// results and method parameters (an interface parameter could be a publisher
// handed back in), element types and function signatures.
func reachable(t reflect.Type, seen map[reflect.Type]string, path string, visit func(reflect.Type, string)) {
	if _, ok := seen[t]; ok {
		return
	}
	seen[t] = path
	visit(t, path)
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Chan:
		reachable(t.Elem(), seen, path+"/elem", visit)
	case reflect.Map:
		reachable(t.Key(), seen, path+"/key", visit)
		reachable(t.Elem(), seen, path+"/value", visit)
	case reflect.Func:
		for i := 0; i < t.NumIn(); i++ {
			reachable(t.In(i), seen, fmt.Sprintf("%s/in%d", path, i), visit)
		}
		for i := 0; i < t.NumOut(); i++ {
			reachable(t.Out(i), seen, fmt.Sprintf("%s/out%d", path, i), visit)
		}
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.IsExported() {
				reachable(f.Type, seen, path+"."+f.Name, visit)
			}
		}
	}
	for i := 0; i < t.NumMethod(); i++ {
		m := t.Method(i)
		if !m.IsExported() {
			continue
		}
		reachable(m.Type, seen, path+"."+m.Name+"()", visit)
	}
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
		reachable(reflect.PointerTo(t), seen, path+"/ptr", visit)
	}
}

func TestInvocationCannotPublish(t *testing.T) {
	for _, tc := range []struct {
		root     reflect.Type
		minTypes int // a floor proving the walk really went through the stdlib types
	}{
		{reflect.TypeFor[*Invocation](), 500},
		{reflect.TypeFor[*InitEnv](), 500},
		{reflect.TypeFor[Output](), 2},
	} {
		seen := map[reflect.Type]string{}
		reachable(tc.root, seen, tc.root.String(), func(typ reflect.Type, path string) {
			for i := 0; i < typ.NumMethod(); i++ {
				if name := typ.Method(i).Name; forbiddenMethod(name) {
					t.Errorf("%s reaches %s, which has method %s", tc.root, path, name)
				}
			}
		})
		if len(seen) < tc.minTypes {
			t.Fatalf("walk from %s reached only %d types; the walker is broken", tc.root, len(seen))
		}
		t.Logf("%s: %d reachable types, none can publish", tc.root, len(seen))
	}
}

// The walker itself must find a publisher when there is one.
type smuggler struct{ Bus *fakePublisher }
type fakePublisher struct{}

func (*fakePublisher) Publish(context.Context) error { return nil }

func TestReachabilityWalkerFindsPublishers(t *testing.T) {
	found := ""
	reachable(reflect.TypeFor[smuggler](), map[reflect.Type]string{}, "smuggler", func(t reflect.Type, path string) {
		for i := 0; i < t.NumMethod(); i++ {
			if forbiddenMethod(t.Method(i).Name) {
				found = path
			}
		}
	})
	if found != "smuggler.Bus" {
		t.Fatalf("walker did not find the publisher behind a field (found %q)", found)
	}
}

type stubDialer struct{}

func (stubDialer) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("no")
}

type stubSecrets struct{}

func (stubSecrets) ReadSecret(context.Context, SecretRef) (Secret, error) {
	return NewSecret("s3cr3t"), nil
}

func TestInvocationAccessors(t *testing.T) {
	deadline := time.Now().Add(time.Second)
	client := &http.Client{}
	inv := NewInvocation(InvocationParams{
		HandlerName: "db", Operation: "orders.query", Payload: json.RawMessage(`{"sql":"select 1"}`),
		EnvelopeID: "e1", CorrelationID: "c1", Classification: ClassificationConfidential, Deadline: deadline,
		Capabilities: Capabilities{HTTPClient: client, Dialer: stubDialer{}, Secrets: stubSecrets{}},
	})
	if inv.HandlerName() != "db" || inv.Operation() != "orders.query" || inv.Verb() != "query" ||
		inv.EnvelopeID() != "e1" || inv.CorrelationID() != "c1" || inv.Classification() != ClassificationConfidential {
		t.Fatal("accessors do not return what was given")
	}
	if d, ok := inv.Deadline(); !ok || !d.Equal(deadline) {
		t.Error("deadline lost")
	}
	if inv.HTTPClient() != client || inv.Dialer() == nil || inv.Secrets() == nil || inv.Logger() == nil {
		t.Error("capabilities lost")
	}
	var p struct{ SQL string }
	if err := inv.Decode(&p); err != nil || p.SQL != "select 1" {
		t.Errorf("Decode = %v, %+v", err, p)
	}
	inv.Reset(InvocationParams{Operation: "a.b"})
	if _, ok := inv.Deadline(); ok || inv.HTTPClient() != nil || inv.Dialer() != nil || inv.Secrets() != nil || inv.Logger() == nil {
		t.Error("Reset kept old state or left no logger")
	}

	env := NewInitEnv(InitParams{HandlerName: "db", Config: json.RawMessage(`{"max":3}`), Capabilities: Capabilities{Secrets: stubSecrets{}}})
	var cfg struct{ Max int }
	if err := env.DecodeConfig(&cfg); err != nil || cfg.Max != 3 || env.HandlerName() != "db" || env.Secrets() == nil || env.Dialer() != nil || env.HTTPClient() != nil || env.Logger() == nil {
		t.Errorf("InitEnv: %v %+v", err, cfg)
	}
	if string(env.Config()) != `{"max":3}` {
		t.Error("config lost")
	}
}

func TestDecodeStrict(t *testing.T) {
	type payload struct {
		SQL    string `json:"sql"`
		Params []any  `json:"parameters"`
		Limit  int    `json:"limit"`
	}
	cases := []struct {
		in, field, msg string
	}{
		{`{"sql":"x","extra":1}`, "extra", "unknown field"},
		{`{"sql":5}`, "sql", "expected string"},
		{`{"limit":"ten"}`, "limit", "expected int"},
		{`{"sql":"x"} {"sql":"y"}`, "", "unexpected data"},
		{`{"sql":`, "", ""},
		{`[1]`, "", "expected"},
		// Only JSON white space surrounds a value: not \v, \f or U+00A0.
		{"{}\v", "", "unexpected data"},
		{"\f{}", "", "invalid JSON"},
		{"{}\u00a0", "", "unexpected data"},
	}
	for _, tc := range cases {
		var p payload
		err := DecodeStrict([]byte(tc.in), &p)
		var he *Error
		if !errors.As(err, &he) || he.Kind != KindInvalidPayload {
			t.Errorf("%s: got %v, want an invalid-payload *Error", tc.in, err)
			continue
		}
		if he.Field != tc.field || !strings.Contains(he.Error(), tc.msg) {
			t.Errorf("%s: field %q message %q", tc.in, he.Field, he.Error())
		}
	}
	var p payload
	if err := DecodeStrict(nil, &p); err != nil {
		t.Errorf("empty payload: %v", err)
	}
	if err := DecodeStrict([]byte(" \t\r\n{\"sql\":\"x\"}\n"), &p); err != nil || p.SQL != "x" {
		t.Errorf("JSON white space around the value: %+v %v", p, err)
	}
	var n struct{ V any }
	if err := DecodeStrict([]byte(`{"V": 12345678901234567890}`), &n); err != nil || fmt.Sprint(n.V) != "12345678901234567890" {
		t.Errorf("large numbers must keep their digits: %v %v", n.V, err)
	}
}

func TestHandlerErrors(t *testing.T) {
	cause := errors.New("connection refused")
	tr := Transient(cause, "database unreachable")
	if !tr.Retryable || !errors.Is(tr, cause) || tr.Kind != KindFailed || tr.Error() != "database unreachable" {
		t.Errorf("Transient = %+v", tr)
	}
	if f := Failed(cause, "bad"); f.Retryable {
		t.Error("Failed is retryable")
	}
	ip := InvalidPayload("statements[1].sql", "must be one statement, got %d", 2)
	if ip.Kind != KindInvalidPayload || ip.Error() != "statements[1].sql: must be one statement, got 2" {
		t.Errorf("InvalidPayload = %q", ip.Error())
	}
}

func TestSecretNeverRenders(t *testing.T) {
	s := NewSecret("hunter2")
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("x", "secret", s, "any", any(s))
	j, _ := json.Marshal(map[string]any{"s": s})
	out := strings.Join([]string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x", s, s, s, s, s, s), s.String(), buf.String(), string(j),
		fmt.Sprintf("%v", struct{ S Secret }{s}),
	}, "\n")
	if strings.Contains(out, "hunter2") {
		t.Fatalf("secret value leaked:\n%s", out)
	}
	if !strings.Contains(out, Redacted) || s.Reveal() != "hunter2" {
		t.Error("secret not redacted or not revealable")
	}
}

func TestSecretRefs(t *testing.T) {
	cfg := json.RawMessage(`{"base_url":"https://x","headers":{"Authorization":{"secret":"partner-api/bearer"}},
		"list":[{"secret":"a/b/c"}, "plain"], "not_ref":{"secret":"s/k","other":1}}`)
	refs, err := FindSecretRefs(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []ConfigSecret{
		{Path: "config.headers.Authorization", Ref: SecretRef{"partner-api", "bearer"}},
		{Path: "config.list[0]", Ref: SecretRef{"a", "b/c"}},
	}
	if !reflect.DeepEqual(refs, want) {
		t.Fatalf("refs = %+v", refs)
	}
	out, err := ResolveSecretRefs(cfg, func(path string, ref SecretRef) (string, error) { return "v:" + ref.String(), nil })
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	if m["headers"].(map[string]any)["Authorization"] != "v:partner-api/bearer" || m["list"].([]any)[0] != "v:a/b/c" {
		t.Errorf("resolved = %s", out)
	}
	red, _ := RedactSecretRefs(cfg)
	if !bytes.Contains(red, []byte(Redacted)) || bytes.Contains(red, []byte(`"partner-api/bearer"`)) {
		t.Errorf("redacted = %s", red)
	}
	for _, bad := range []string{`{"a":{"secret":5}}`, `{"a":{"secret":"noslash"}}`, `{"a":{"secret":"/k"}}`, `{"a":{"secret":"s/"}}`} {
		if _, err := FindSecretRefs(json.RawMessage(bad)); err == nil || !strings.Contains(err.Error(), "config.a") {
			t.Errorf("%s: err = %v, want one naming config.a", bad, err)
		}
	}
	// Several bad references: the first by path is reported, every time;
	// secrets are resolved in path order.
	twoBad := json.RawMessage(`{"z":{"secret":"noslash"},"m":{"x":{"secret":5}},"b":{"secret":"/k"}}`)
	for range 20 {
		if _, err := FindSecretRefs(twoBad); err == nil || !strings.HasPrefix(err.Error(), "config.b:") {
			t.Fatalf("err = %v, want the one of config.b", err)
		}
	}
	many := json.RawMessage(`{"e":{"secret":"s/e"},"a":{"secret":"s/a"},"d":{"n":{"secret":"s/d"}},"c":[{"secret":"s/c"}],"b":{"secret":"s/b"}}`)
	for range 20 {
		var order []string
		if _, err := ResolveSecretRefs(many, func(path string, _ SecretRef) (string, error) {
			order = append(order, path)
			return "", nil
		}); err != nil {
			t.Fatal(err)
		}
		if want := []string{"config.a", "config.b", "config.c[0]", "config.d.n", "config.e"}; !slices.Equal(order, want) {
			t.Fatalf("resolved in order %v, want %v", order, want)
		}
	}
	plain := json.RawMessage(`{"a":1}`)
	if out, err := ResolveSecretRefs(plain, nil); err != nil || string(out) != string(plain) {
		t.Error("config without references must pass through untouched")
	}
}
