package testkit

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// Logs collects what a JSON slog handler writes, safe for concurrent use, so a
// test can read the records a component logged while it ran.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p; one call holds one record.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Logger returns a debug-level JSON logger that writes to l.
func (l *Logs) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Records returns the records whose msg is msg, in the order they were
// written; a line that is not a JSON object fails the test.
func (l *Logs) Records(tb testing.TB, msg string) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			tb.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// Count is how many records have message msg; lines that are not JSON are
// skipped.
func (l *Logs) Count(msg string) int {
	n := 0
	for _, line := range strings.Split(l.String(), "\n") {
		var rec struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == msg {
			n++
		}
	}
	return n
}

// First returns the first record whose msg is msg, and fails the test when
// there is none.
func (l *Logs) First(tb testing.TB, msg string) map[string]any {
	tb.Helper()
	recs := l.Records(tb, msg)
	if len(recs) == 0 {
		tb.Fatalf("no log record %q in:\n%s", msg, l.String())
	}
	return recs[0]
}
