package progress

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func interactive(buf *bytes.Buffer) *Terminal { return &Terminal{w: buf, interactive: true} }

func TestDisplayDrawsAfterTheDelay(t *testing.T) {
	var buf bytes.Buffer
	term := interactive(&buf)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := newDisplay(term, "discovering contracts", start, 500*time.Millisecond)
	d.Update(10, 10000)
	d.draw(start.Add(400 * time.Millisecond))
	if buf.Len() != 0 {
		t.Fatalf("drawn before the delay: %q", buf.String())
	}
	d.draw(start.Add(600 * time.Millisecond))
	d.Update(4210, 10000)
	d.draw(start.Add(3140 * time.Millisecond))
	d.Update(4210, 10000)
	d.draw(start.Add(3150 * time.Millisecond)) // same line: not redrawn
	want := clearLine + "discovering contracts 10/10000 (0%) 0.6s" + clearLine + "discovering contracts 4210/10000 (42%) 3.1s"
	if buf.String() != want {
		t.Errorf("got  %q\nwant %q", buf.String(), want)
	}
	d.Update(3, 0)
	if got := d.line(2 * time.Second); got != "discovering contracts 3… 2.0s" {
		t.Errorf("unknown total: %q", got)
	}
}

// TestLogRecordsNeverGarbleTheLine: a record written while the status line is
// shown erases it, goes on its own line, and the status is redrawn after it.
func TestLogRecordsNeverGarbleTheLine(t *testing.T) {
	var buf bytes.Buffer
	term := interactive(&buf)
	term.Write([]byte("{\"msg\":\"before\"}\n"))
	term.setStatus("discovering contracts 1/2 (50%) 0.5s")
	term.Write([]byte("{\"msg\":\"during\"}\n"))
	term.setStatus("")
	term.Write([]byte("{\"msg\":\"after\"}\n"))
	want := "{\"msg\":\"before\"}\n" +
		clearLine + "discovering contracts 1/2 (50%) 0.5s" +
		clearLine + "{\"msg\":\"during\"}\n" + "discovering contracts 1/2 (50%) 0.5s" +
		clearLine +
		"{\"msg\":\"after\"}\n"
	if buf.String() != want {
		t.Errorf("got  %q\nwant %q", buf.String(), want)
	}
}

// TestNotATerminal: on a pipe or a file nothing but the log records is
// written, and no goroutine starts.
func TestNotATerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, out := range []any{w, &bytes.Buffer{}} {
		var term *Terminal
		switch o := out.(type) {
		case *os.File:
			term = NewTerminal(o)
		case *bytes.Buffer:
			term = NewTerminal(o)
		}
		if term.Interactive() {
			t.Fatalf("%T taken for a terminal", out)
		}
		d := Start(term, "discovering contracts", 0, time.Millisecond)
		d.Update(1, 2)
		d.draw(time.Now().Add(time.Hour))
		d.Stop()
		if b, ok := out.(*bytes.Buffer); ok && b.Len() != 0 {
			t.Errorf("wrote %q to a non-terminal", b.String())
		}
	}
}

// TestStartStop: the drawing goroutine ends with Stop, which erases the line.
func TestStartStop(t *testing.T) {
	var buf bytes.Buffer
	term := interactive(&buf)
	d := Start(term, "discovering contracts", 0, time.Millisecond)
	d.Update(5, 10)
	d.Stop()
	out := buf.String()
	if out != "" && !strings.HasSuffix(out, clearLine) {
		t.Errorf("the line is not erased at Stop: %q", out)
	}
	if term.status != "" {
		t.Errorf("status %q after Stop", term.status)
	}
}
