package runtime

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/onexhost/onex/handler"
)

const (
	envID  = "7d8f2c1e-3b4a-4c5d-8e9f-0a1b2c3d4e5f"
	corrID = "1d8f2c1e-3b4a-4c5d-8e9f-0a1b2c3d4e5f"
)

func pipelineHost(t *testing.T) *Host {
	cfg := testConfig()
	cfg.MaxEnvelopeBytes = 1024
	cfg.HandlerTimeouts = map[string]time.Duration{"behave": 200 * time.Millisecond}
	cfg.OptionalHandlers = []string{"broken"}
	echoD := desc("echo", echoPath, "test.echo")
	echoD.Security.DataClassification = handler.ClassificationConfidential
	broken := desc("broken", lifePath, "broken.get")
	broken.Config = json.RawMessage(`{"fail_init":true}`)
	return startHost(t, nil, Options{Config: cfg},
		echoD, broken,
		desc("behave", behavePath, "b.ok", "b.fail", "b.transient", "b.invalid", "b.panic", "b.sleep", "b.unencodable", "b.deny"))
}

func TestDispatchPipeline(t *testing.T) {
	h := pipelineHost(t)
	for _, tc := range []struct {
		name      string
		raw       string
		rule      string // "" = success
		handler   string
		msg       string // substring of error.message
		retryable bool
		detail    string // a key error.details must have
	}{
		{name: "success", raw: `{"envelope_id":"` + envID + `","correlation_id":"` + corrID + `","operation":"test.echo","payload":{"a":1}}`, handler: "echo"},
		{name: "success with handler named", raw: `{"operation":"test.echo","handler":"echo"}`, handler: "echo"},
		{name: "raw result", raw: `{"operation":"b.ok"}`, handler: "behave"},
		{name: "not JSON", raw: `{"operation":`, rule: "ENVELOPE-001", msg: "end of input"},
		{name: "not an object", raw: `[]`, rule: "ENVELOPE-001", msg: "JSON object"},
		{name: "unknown field", raw: `{"operaton":"test.echo"}`, rule: "ENVELOPE-001", msg: `did you mean "operation"`, detail: "field"},
		{name: "wrong type", raw: `{"operation":1}`, rule: "ENVELOPE-001", msg: "must be a string", detail: "field"},
		{name: "missing operation", raw: `{"payload":{}}`, rule: "ENVELOPE-002"},
		{name: "empty operation", raw: `{"operation":""}`, rule: "ENVELOPE-002"},
		{name: "unknown operation", raw: `{"operation":"test.ecko"}`, rule: "ENVELOPE-003", msg: `did you mean "test.echo"`, detail: "did_you_mean"},
		{name: "malformed operation", raw: `{"operation":"Echo"}`, rule: "ENVELOPE-003", msg: "not a command"},
		{name: "handler mismatch", raw: `{"operation":"test.echo","handler":"behave"}`, rule: "ENVELOPE-004", handler: "echo", detail: "accepted_by"},
		{name: "too large", raw: `{"operation":"test.echo","payload":"` + strings.Repeat("x", 1100) + `"}`, rule: "ENVELOPE-005", detail: "limit"},
		{name: "unknown classification", raw: `{"operation":"test.echo","data_classification":"top"}`, rule: "ENVELOPE-006", handler: "echo"},
		{name: "classification equal", raw: `{"operation":"test.echo","data_classification":"confidential"}`, handler: "echo"},
		{name: "classification above", raw: `{"operation":"test.echo","data_classification":"restricted"}`, rule: "SECURITY-312", handler: "echo", detail: "handler_classification"},
		{name: "default classification above", raw: `{"operation":"b.ok","data_classification":"confidential"}`, rule: "SECURITY-312", handler: "behave"},
		{name: "handler error", raw: `{"operation":"b.fail"}`, rule: "HANDLER-001", handler: "behave", msg: "backend refused"},
		{name: "transient", raw: `{"operation":"b.transient"}`, rule: "HANDLER-001", handler: "behave", retryable: true},
		{name: "invalid payload", raw: `{"operation":"b.invalid","payload":{"sql":""}}`, rule: "HANDLER-006", handler: "behave", detail: "field"},
		{name: "invalid payload strict decode", raw: `{"operation":"b.invalid","payload":{"sq":""}}`, rule: "HANDLER-006", handler: "behave", msg: "unknown field", detail: "field"},
		{name: "panic", raw: `{"operation":"b.panic"}`, rule: "HANDLER-003", handler: "behave", detail: "panic"},
		{name: "timeout", raw: `{"operation":"b.sleep"}`, rule: "HANDLER-002", handler: "behave", retryable: true, detail: "timeout"},
		{name: "unencodable result", raw: `{"operation":"b.unencodable"}`, rule: "HANDLER-001", handler: "behave", msg: "cannot be encoded"},
		{name: "capability denial", raw: `{"operation":"b.deny"}`, rule: "SECURITY-310", handler: "behave", msg: "evil.example"},
		{name: "unavailable", raw: `{"operation":"broken.get"}`, rule: "HANDLER-004", handler: "broken", detail: "cause"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := mustDecode(t, h.Dispatch(context.Background(), []byte(tc.raw)))
			if _, err := uuid.Parse(resp.EnvelopeID); err != nil {
				t.Errorf("envelope_id %q: %v", resp.EnvelopeID, err)
			}
			if _, err := uuid.Parse(resp.CorrelationID); err != nil {
				t.Errorf("correlation_id %q: %v", resp.CorrelationID, err)
			}
			if resp.Handler != tc.handler {
				t.Errorf("handler %q, want %q", resp.Handler, tc.handler)
			}
			if tc.rule == "" {
				if !resp.Success || resp.Status != "success" || resp.Error != nil || len(resp.Result) == 0 {
					t.Fatalf("want success, got %+v (error %+v)", resp, resp.Error)
				}
				return
			}
			if resp.Success || resp.Status != "error" || resp.Error == nil {
				t.Fatalf("want %s, got %+v", tc.rule, resp)
			}
			e := resp.Error
			if e.RuleID != tc.rule || e.RemediationHint == "" || e.ErrorType == "" || e.Retryable != tc.retryable {
				t.Errorf("error %+v, want rule %s, retryable %v, a type and a hint", e, tc.rule, tc.retryable)
			}
			if !strings.Contains(e.Message, tc.msg) {
				t.Errorf("message %q does not contain %q", e.Message, tc.msg)
			}
			if tc.detail != "" {
				if _, ok := e.Details[tc.detail]; !ok {
					t.Errorf("details %v lack %q", e.Details, tc.detail)
				}
			}
			if strings.Contains(string(h.Dispatch(context.Background(), []byte(tc.raw))), "postgres://secret") {
				t.Error("the cause of a handler error leaked into the response")
			}
		})
	}
}

func TestDispatchIDs(t *testing.T) {
	h := pipelineHost(t)
	t.Run("kept", func(t *testing.T) {
		r := mustDecode(t, h.Dispatch(context.Background(), []byte(`{"envelope_id":"`+envID+`","correlation_id":"`+strings.ToUpper(corrID)+`","operation":"test.echo"}`)))
		if r.InReplyTo != envID || r.CorrelationID != corrID || r.EnvelopeID == envID {
			t.Errorf("ids: %+v", r)
		}
		var res map[string]any
		_ = json.Unmarshal(r.Result, &res)
		if res["correlation_id"] != corrID || res["envelope_id"] != envID || res["classification"] != "internal" || res["verb"] != "echo" {
			t.Errorf("the handler saw %v", res)
		}
	})
	t.Run("generated", func(t *testing.T) {
		a := mustDecode(t, h.Dispatch(context.Background(), []byte(`{"operation":"test.echo"}`)))
		b := mustDecode(t, h.Dispatch(context.Background(), []byte(`{"operation":"test.echo"}`)))
		if a.CorrelationID == b.CorrelationID || a.InReplyTo == "" || a.InReplyTo == b.InReplyTo {
			t.Errorf("generated ids are not fresh: %+v %+v", a, b)
		}
	})
	t.Run("invalid correlation id replaced silently on success", func(t *testing.T) {
		r := mustDecode(t, h.Dispatch(context.Background(), []byte(`{"correlation_id":"abc","operation":"test.echo"}`)))
		if !r.Success || r.CorrelationID == "abc" {
			t.Errorf("%+v", r)
		}
	})
	t.Run("invalid correlation id noted on failure", func(t *testing.T) {
		r := mustDecode(t, h.Dispatch(context.Background(), []byte(`{"correlation_id":"abc","operation":"no.such"}`)))
		if r.Success || r.CorrelationID == "abc" || r.Error.Details["correlation_id_replaced"] == nil {
			t.Errorf("%+v %+v", r, r.Error)
		}
	})
	t.Run("ids read before a syntax error are kept", func(t *testing.T) {
		r := mustDecode(t, h.Dispatch(context.Background(), []byte(`{"envelope_id":"`+envID+`","correlation_id":"`+corrID+`","operation":7}`)))
		if r.Error == nil || r.Error.RuleID != "ENVELOPE-001" || r.CorrelationID != corrID || r.InReplyTo != envID {
			t.Errorf("%+v", r)
		}
	})
}

func TestDispatchBeforeStartAndAfterStop(t *testing.T) {
	h := New(&fakeSource{descs: []*handler.Descriptor{desc("noop", noopPath, "n.run")}}, nil, nil, nil, nil, Options{Config: testConfig()})
	r := mustDecode(t, h.Dispatch(context.Background(), []byte(`{"operation":"n.run"}`)))
	if r.Error == nil || r.Error.RuleID != "HANDLER-004" || !r.Error.Retryable {
		t.Fatalf("before start: %+v", r)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := mustDecode(t, h.Dispatch(context.Background(), []byte(`{"operation":"n.run"}`))); !r.Success {
		t.Fatalf("started: %+v", r.Error)
	}
	if err := h.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := mustDecode(t, h.Dispatch(context.Background(), []byte(`{"operation":"n.run"}`))); r.Error == nil || r.Error.RuleID != "HANDLER-004" {
		t.Fatalf("after stop: %+v", r)
	}
	if err := h.Submit(context.Background(), []byte(`{}`), func([]byte, *Outcome) {}); err == nil {
		t.Error("Submit accepted a request after Stop")
	}
}

func TestStatsCountRules(t *testing.T) {
	h := pipelineHost(t)
	for _, raw := range []string{`{"operation":"test.echo"}`, `{"operation":"test.echo","data_classification":"secret"}`, `x`} {
		h.Dispatch(context.Background(), []byte(raw))
	}
	s := h.Stats()
	if s.Requests != 3 || s.Succeeded != 1 || s.Failed != 2 || s.Failures["ENVELOPE-001"] != 1 || s.Denials["SECURITY-312"] != 1 || s.InFlight != 0 {
		t.Errorf("stats %+v", s)
	}
}

// isCanonical is canonicalUUID by definition: a UUID that prints as itself.
func isCanonical(b []byte) bool {
	u, err := uuid.ParseBytes(b)
	return err == nil && u.String() == string(b)
}

// TestCanonicalUUIDMutations: every one-byte change of a canonical UUID,
// to every byte value, is judged as the definition judges it.
func TestCanonicalUUIDMutations(t *testing.T) {
	for _, id := range []string{envID, "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", "09afaf90-9a0f-4f0a-a09f-f0a9af9009fa"} {
		b := []byte(id)
		for i := range b {
			orig := b[i]
			for c := range 256 {
				b[i] = byte(c)
				if got, want := canonicalUUID(b), isCanonical(b); got != want {
					t.Fatalf("canonicalUUID(%q) = %v, want %v", b, got, want)
				}
			}
			b[i] = orig
		}
	}
}

func FuzzCanonicalUUID(f *testing.F) {
	for _, s := range []string{envID, strings.ToUpper(envID), envID[:35] + "g", "", envID + "0"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := canonicalUUID(b), isCanonical(b); got != want {
			t.Fatalf("canonicalUUID(%q) = %v, want %v", b, got, want)
		}
	})
}

func TestCanonicalUUID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{envID, true},
		{strings.ToUpper(envID), false},
		{"{" + envID + "}", false},
		{strings.ReplaceAll(envID, "-", ""), false},
		{envID[:35] + "g", false},
		{envID[:8] + "x" + envID[9:], false},
		{"-" + envID[1:], false},
		{envID[:9] + "-" + envID[10:], false},
		{"", false},
	} {
		if got := canonicalUUID([]byte(tc.in)); got != tc.want {
			t.Errorf("canonicalUUID(%q) = %v", tc.in, got)
		}
		if tc.want {
			if _, err := uuid.Parse(tc.in); err != nil {
				t.Errorf("%q accepted but not a UUID", tc.in)
			}
		}
	}
}

// TestNewUUID: generated ids are version 4, variant RFC 9562, distinct, and
// every one of their 122 random bits takes both values.
func TestNewUUID(t *testing.T) {
	s := newIDSource()
	seen := map[uuid.UUID]bool{}
	var ones, zeros [16]byte
	for range 1000 {
		u := s.newUUID()
		if u.Version() != 4 || u.Variant() != uuid.RFC4122 {
			t.Fatalf("%s: version %d, variant %s", u, u.Version(), u.Variant())
		}
		if seen[u] {
			t.Fatalf("%s generated twice", u)
		}
		seen[u] = true
		for i, b := range u {
			ones[i] |= b
			zeros[i] |= ^b
		}
	}
	fixedOnes := [16]byte{6: 0x40, 8: 0x80}  // version and variant bits set
	fixedZeros := [16]byte{6: 0xb0, 8: 0x40} // and clear
	for i := range ones {
		if ones[i]|fixedZeros[i] != 0xff || zeros[i]|fixedOnes[i] != 0xff {
			t.Errorf("byte %d: bits never set %08b, never clear %08b", i, ^(ones[i] | fixedZeros[i]), ^(zeros[i] | fixedOnes[i]))
		}
	}
}
