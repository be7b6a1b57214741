package runtime

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/onexhost/onex/handler"
)

func TestServeNDJSON(t *testing.T) {
	cfg := testConfig()
	cfg.MaxEnvelopeBytes = 300
	h := startHost(t, nil, Options{Config: cfg}, desc("echo", echoPath, "test.echo"), desc("behave", behavePath, "b.ok", "b.fail"))
	var in strings.Builder
	var want []string
	for i := 0; i < 200; i++ {
		switch i % 4 {
		case 0:
			in.WriteString(`{"operation":"test.echo","payload":{"i":` + string(rune('0'+i%10)) + `}}` + "\n")
			want = append(want, "")
		case 1:
			in.WriteString("  \r\n") // blank: skipped, no response
			in.WriteString(`{"operation":"b.fail"}` + "\r\n")
			want = append(want, "HANDLER-001")
		case 2:
			in.WriteString(`{"operation":"test.echo","payload":"` + strings.Repeat("y", 70000) + `"}` + "\n")
			want = append(want, "ENVELOPE-005")
		case 3:
			in.WriteString(`not json` + "\n")
			want = append(want, "ENVELOPE-001")
		}
	}
	in.WriteString(`{"operation":"b.ok"}`) // last line without newline
	want = append(want, "")
	var out bytes.Buffer
	if err := ServeNDJSON(context.Background(), h, strings.NewReader(in.String()), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d responses for %d envelopes", len(lines), len(want))
	}
	for i, line := range lines {
		r := mustDecode(t, []byte(line))
		got := ""
		if !r.Success {
			got = r.Error.RuleID
		}
		if got != want[i] {
			t.Errorf("line %d: %q, want %q (responses out of order?)", i, got, want[i])
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("stdout closed") }

func TestServeNDJSONWriteError(t *testing.T) {
	h := startHost(t, nil, Options{}, desc("echo", echoPath, "test.echo"))
	err := ServeNDJSON(context.Background(), h, strings.NewReader(strings.Repeat(`{"operation":"test.echo"}`+"\n", 50)), failingWriter{})
	if err == nil || !strings.Contains(err.Error(), "stdout closed") {
		t.Fatalf("ServeNDJSON = %v", err)
	}
}

// On cancellation the bridge stops reading and still answers every request it
// read.
func TestServeNDJSONCancel(t *testing.T) {
	h := startHost(t, nil, Options{}, desc("behave", behavePath, "b.block"))
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- ServeNDJSON(ctx, h, pr, &out) }()
	release := unique("bridge")
	if _, err := io.WriteString(pw, `{"operation":"b.block","payload":{"release":"`+release+`"}}`+"\n"); err != nil {
		t.Fatal(err)
	}
	<-releases.started(release)
	cancel()
	close(releases.get(release))
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("ServeNDJSON = %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ServeNDJSON did not return after cancellation")
	}
	if r := mustDecode(t, bytes.TrimSpace(out.Bytes())); !r.Success {
		t.Errorf("in-flight request answered %+v", r.Error)
	}
	pw.Close() // ends the reading goroutine
}

func TestReadLine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want []string
	}{
		{"a\nbb\r\n\nccc", 10, []string{"a", "bb", "", "ccc"}},
		{strings.Repeat("x", 100) + "\nok\n", 10, []string{strings.Repeat("x", 11), "ok"}},
		{strings.Repeat("x", 10) + "\n", 10, []string{strings.Repeat("x", 10)}},
	} {
		lines := make(chan []byte, 10)
		if err := readLines(strings.NewReader(tc.in), tc.max, lines, nil); err != nil {
			t.Fatal(err)
		}
		var got []string
		for l := range lines {
			got = append(got, string(l))
		}
		var want []string
		for _, w := range tc.want {
			if strings.TrimSpace(w) != "" {
				want = append(want, w)
			}
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("readLines(%.20q) = %q, want %q", tc.in, got, want)
		}
	}
	_ = handler.Command("")
}
