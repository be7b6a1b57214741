package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// reply answers request i the way a correct pipeline does.
func reply(t *testing.T, r Request) []byte {
	t.Helper()
	b, err := echoReply(r.Raw)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTracker checks that every kind of wrong answer fails the round: a fast
// wrong answer never counts.
func TestTracker(t *testing.T) {
	for _, tc := range []struct {
		name string
		// answer returns the responses the pipeline sends for reqs.
		answer func(t *testing.T, reqs []Request) [][]byte
		want   string // "" for no error
	}{
		{"all answered once", func(t *testing.T, reqs []Request) [][]byte {
			var out [][]byte
			for _, r := range reqs {
				out = append(out, reply(t, r))
			}
			return out
		}, ""},
		{"one lost", func(t *testing.T, reqs []Request) [][]byte {
			var out [][]byte
			for _, r := range reqs[1:] {
				out = append(out, reply(t, r))
			}
			return out
		}, "1 of 4 requests never answered (lost)"},
		{"one duplicated", func(t *testing.T, reqs []Request) [][]byte {
			out := [][]byte{reply(t, reqs[0])}
			for _, r := range reqs {
				out = append(out, reply(t, r))
			}
			return out
		}, "duplicate response to request 0"},
		{"malformed", func(t *testing.T, reqs []Request) [][]byte {
			out := [][]byte{[]byte(`{"in_reply_to":`)}
			for _, r := range reqs[1:] {
				out = append(out, reply(t, r))
			}
			return out
		}, "malformed response"},
		{"unknown request", func(t *testing.T, reqs []Request) [][]byte {
			var out [][]byte
			for _, r := range reqs {
				out = append(out, reply(t, r))
			}
			return append(out, reply(t, NewRequests(1)[0]))
		}, "in reply to unknown request"},
		{"wrong correlation id", func(t *testing.T, reqs []Request) [][]byte {
			var out [][]byte
			for i, r := range reqs {
				b := reply(t, r)
				if i == 2 {
					b = bytes.Replace(b, []byte(r.CorrelationID), []byte("00000000-0000-4000-8000-000000000000"), 1)
				}
				out = append(out, b)
			}
			return out
		}, "response to request 2 has correlation id"},
		{"wrong payload echoed", func(t *testing.T, reqs []Request) [][]byte {
			var out [][]byte
			for i, r := range reqs {
				b := reply(t, r)
				if i == 3 {
					b = bytes.Replace(b, []byte(`"n":3`), []byte(`"n":2`), 1)
				}
				out = append(out, b)
			}
			return out
		}, "response to request 3 has result"},
		{"failure response", func(t *testing.T, reqs []Request) [][]byte {
			var out [][]byte
			for i, r := range reqs {
				b := reply(t, r)
				if i == 1 {
					b = bytes.Replace(b, []byte(`"success":true,"status":"success"`),
						[]byte(`"success":false,"status":"error","error":{"rule_id":"HANDLER-001","message":"boom"}`), 1)
				}
				out = append(out, b)
			}
			return out
		}, "request 1 failed (status \"error\"): HANDLER-001: boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reqs := NewRequests(4)
			tr := NewTracker(reqs, 16)
			for _, b := range tc.answer(t, reqs) {
				tr.Record(b)
			}
			err := tr.Err()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if !errors.Is(err, errWrong) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestMessageRoundLosesNothingSilently runs a round through a pipeline that
// drops one request: the round fails as lost once its timeout passes.
func TestMessageRoundLosesNothingSilently(t *testing.T) {
	var cur atomic.Pointer[Tracker]
	reqs := NewRequests(50)
	_, err := messageRound(context.Background(), reqs, 8, 100*time.Millisecond, &cur, func(_ context.Context, r Request) error {
		if r.EnvelopeID != reqs[17].EnvelopeID {
			cur.Load().Record(reply(t, r))
		}
		return nil
	})
	if !errors.Is(err, errWrong) || !strings.Contains(err.Error(), "1 of 50 requests never answered") {
		t.Fatalf("err = %v", err)
	}
	// A response that arrives after a complete round fails the next one.
	cur.Store(NewTracker(reqs[:1], 1))
	cur.Load().Record(reply(t, reqs[0]))
	cur.Load().Record(reply(t, reqs[0]))
	_, err = messageRound(context.Background(), reqs, 8, time.Minute, &cur, func(context.Context, Request) error {
		t.Fatal("a round after a duplicate started")
		return nil
	})
	if !errors.Is(err, errWrong) || !strings.Contains(err.Error(), "2 responses for 1 requests") || !strings.Contains(err.Error(), "duplicate response") {
		t.Fatalf("a round after a duplicate: %v", err)
	}
}

// TestInprocSides runs both in-process sides for real, on a few hundred
// messages each, and checks that they answer every request correctly.
func TestInprocSides(t *testing.T) {
	ctx := context.Background()
	ox, err := newOnexInproc(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	wm, err := newWatermillInproc(ctx)
	if err != nil {
		t.Fatal(errors.Join(err, ox.close(ctx)))
	}
	for round := range 2 {
		if s, err := ox.round(ctx, NewRequests(300), time.Minute); err != nil || s.Value <= 0 {
			t.Errorf("onex round %d: %+v, %v", round, s, err)
		}
		if s, err := wm.round(ctx, NewRequests(300), time.Minute); err != nil || s.Value <= 0 {
			t.Errorf("watermill round %d: %+v, %v", round, s, err)
		}
	}
	if err := errors.Join(ox.close(ctx), wm.close()); err != nil {
		t.Fatal(err)
	}
}

// TestKafkaSides runs both Kafka sides for real on kfake, a few hundred
// messages per round: raw franz-go loops and onex hosts on the Kafka bus.
func TestKafkaSides(t *testing.T) {
	ctx := context.Background()
	k, err := newKafkaCluster("raw.requests", "raw.responses", "onex.requests", "onex.responses")
	if err != nil {
		t.Fatal(err)
	}
	defer k.c.Close()
	loop, err := newRawLoop(ctx, k, "raw.requests", "raw.responses")
	if err != nil {
		t.Fatal(err)
	}
	drv, err := newKafkaDriver(ctx, k, "raw.requests", "raw.responses")
	if err != nil {
		t.Fatal(errors.Join(err, loop.close()))
	}
	ox, err := newOnexKafka(ctx, k, "onex.requests", "onex.responses")
	if err != nil {
		t.Fatal(errors.Join(err, drv.close(), loop.close()))
	}
	for round := range 2 {
		if s, err := drv.round(ctx, NewRequests(300), time.Minute); err != nil || s.Value <= 0 {
			t.Errorf("raw round %d: %+v, %v", round, s, err)
		}
		if s, err := ox.round(ctx, NewRequests(300), time.Minute); err != nil || s.Value <= 0 {
			t.Errorf("onex round %d: %+v, %v", round, s, err)
		}
	}
	if err := errors.Join(ox.close(ctx), drv.close(), loop.close()); err != nil {
		t.Fatal(err)
	}
}

func TestEffectChecks(t *testing.T) {
	ok := func(result string) []byte {
		return []byte(`{"envelope_id":"x","correlation_id":"` + effectCorrelationID + `","in_reply_to":"` + effectEnvelopeID +
			`","operation":"OP","success":true,"status":"success","result":` + result + `}`)
	}
	rows := func(n int) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			if i > 1 {
				b.WriteString(",")
			}
			b.WriteString(`{"id":` + itoa(i) + `,"name":"item ` + itoa(i) + `","price":"1.25","updated":"2024"}`)
		}
		return `{"rows":[` + b.String() + `],"row_count":` + itoa(n) + `}`
	}
	db := func(r string) []byte { return bytes.Replace(ok(r), []byte("OP"), []byte("db.query"), 1) }
	http := func(r string) []byte { return bytes.Replace(ok(r), []byte("OP"), []byte("http.get"), 1) }
	for _, tc := range []struct {
		name  string
		check func([]byte) error
		raw   []byte
		want  string
	}{
		{"db ok", checkDBResponse, db(rows(10)), ""},
		{"db short", checkDBResponse, db(rows(9)), "row_count 9"},
		{"db wrong row", checkDBResponse, db(strings.Replace(rows(10), `"id":4`, `"id":5`, 1)), "row 3"},
		{"db failed", checkDBResponse, []byte(`{"success":false,"status":"error","error":{"rule_id":"HANDLER-001","message":"x"}}`), "db.query failed"},
		{"db other request", checkDBResponse, bytes.Replace(db(rows(10)), []byte(effectEnvelopeID), []byte("other"), 1), "response answers other"},
		{"http ok", checkHTTPResponse, http(`{"status_code":200,"body":` + httpBody + `}`), ""},
		{"http 404", checkHTTPResponse, http(`{"status_code":404,"body":` + httpBody + `}`), "answered 404"},
		{"http body", checkHTTPResponse, http(`{"status_code":200,"body":{"id":2}}`), "answered 200"},
		{"malformed", checkHTTPResponse, []byte(`{"success":`), "malformed response"},
	} {
		err := tc.check(tc.raw)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, errWrong) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := checkRawHTTP(rawHTTP{status: 200, body: []byte(httpBody)}); err != nil {
		t.Error(err)
	}
	if err := checkRawHTTP(rawHTTP{status: 500, body: []byte(httpBody)}); !errors.Is(err, errWrong) {
		t.Errorf("raw 500: %v", err)
	}
	if err := checkRawRows(make([][]any, 3)); !errors.Is(err, errWrong) {
		t.Errorf("3 raw rows: %v", err)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestDiscoverChild runs the discovery child in-process on a small tree: it
// reports its figures when every contract is clean and the count matches,
// and fails otherwise.
func TestDiscoverChild(t *testing.T) {
	dir := t.TempDir()
	if err := writeTree(dir, 12, effectContract); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := discoverChild([]string{dir, "12"}, &out); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var r discoverReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Descriptors != 12 || r.Seconds <= 0 || r.PeakRSSKiB <= 0 {
		t.Fatalf("report %s: %v", out.String(), err)
	}
	if code := discoverChild([]string{dir, "13"}, &out); code != 1 {
		t.Errorf("a wrong count exits %d, want 1", code)
	}
	if code := discoverChild([]string{dir}, &out); code != 2 {
		t.Errorf("a missing count exits %d, want 2", code)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{100: "100", 1000: "1 000", 10000: "10 000", 1234567: "1 234 567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
