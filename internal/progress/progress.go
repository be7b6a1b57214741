// Package progress shows the progress of a long discovery (many contracts, a
// slow registry) on an interactive terminal: one status line on standard
// error, redrawn in place, that log records never garble. On anything that is
// not a terminal (a pipe, a file, CI logs) nothing is shown: the JSON logs
// there carry progress records of their own.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\x1b[2K"

// Terminal is an output stream (standard error) that may hold a status line.
// Write passes log records through: on an interactive terminal it erases the
// status line first and redraws it after, so a record is never appended to a
// half-drawn line. It is safe for concurrent use.
type Terminal struct {
	w           io.Writer
	interactive bool

	mu     sync.Mutex
	status string // drawn now; empty when none
}

// NewTerminal wraps w; the status line is shown only when w is an interactive
// terminal (IsTerminal).
func NewTerminal(w io.Writer) *Terminal { return &Terminal{w: w, interactive: IsTerminal(w)} }

// IsTerminal reports whether w is a terminal a person watches: a character
// device by isatty, with TERM not "dumb".
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false
	}
	return os.Getenv("TERM") != "dumb"
}

// Interactive reports whether status lines are shown.
func (t *Terminal) Interactive() bool { return t.interactive }

// Write writes p (whole lines) below, never across, the status line.
func (t *Terminal) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.status == "" {
		return t.w.Write(p)
	}
	if _, err := io.WriteString(t.w, clearLine); err != nil {
		return 0, err
	}
	n, err := t.w.Write(p)
	if err == nil {
		_, err = io.WriteString(t.w, t.status)
	}
	return n, err
}

// setStatus draws s as the status line; an empty s erases it.
func (t *Terminal) setStatus(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.interactive || s == t.status {
		return
	}
	if s == "" {
		_, _ = io.WriteString(t.w, clearLine)
	} else {
		_, _ = io.WriteString(t.w, clearLine+s)
	}
	t.status = s
}

// Defaults of a Display.
const (
	// DefaultDelay: a discovery quicker than this shows nothing.
	DefaultDelay = 500 * time.Millisecond
	// DefaultInterval between redraws.
	DefaultInterval = 100 * time.Millisecond
)

// Display is the progress line of one long task. Update it as often as
// wanted (it only stores the counts); it is drawn at most every interval,
// once the task has run for longer than the delay.
type Display struct {
	t     *Terminal
	label string
	start time.Time
	delay time.Duration

	done, total atomic.Int64

	quit    chan struct{}
	stopped chan struct{}
}

// Start shows the progress of the task label on t, drawn by a goroutine that
// Stop ends. On a terminal that is not interactive it starts nothing and the
// Display only counts.
func Start(t *Terminal, label string, delay, interval time.Duration) *Display {
	d := newDisplay(t, label, time.Now(), delay)
	if !t.interactive {
		return d
	}
	d.quit, d.stopped = make(chan struct{}), make(chan struct{})
	go d.run(interval)
	return d
}

func newDisplay(t *Terminal, label string, start time.Time, delay time.Duration) *Display {
	return &Display{t: t, label: label, start: start, delay: delay}
}

// Update records done of total (0: not known yet). It has the shape of
// source.Progress.
func (d *Display) Update(done, total int) {
	d.done.Store(int64(done))
	d.total.Store(int64(total))
}

// Stop ends the display and erases its line.
func (d *Display) Stop() {
	if d.quit == nil {
		return
	}
	close(d.quit)
	<-d.stopped
	d.t.setStatus("")
}

func (d *Display) run(interval time.Duration) {
	defer close(d.stopped)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-d.quit:
			return
		case now := <-tick.C:
			d.draw(now)
		}
	}
}

// draw shows the line as of now, once the delay has passed.
func (d *Display) draw(now time.Time) {
	elapsed := now.Sub(d.start)
	if elapsed < d.delay {
		return
	}
	d.t.setStatus(d.line(elapsed))
}

// line renders the status: "label 4210/10000 (42%) 3.1s", or without total
// and percentage while the total is unknown.
func (d *Display) line(elapsed time.Duration) string {
	done, total := d.done.Load(), d.total.Load()
	secs := elapsed.Truncate(100 * time.Millisecond).Seconds()
	if total <= 0 {
		return fmt.Sprintf("%s %d… %.1fs", d.label, done, secs)
	}
	return fmt.Sprintf("%s %d/%d (%d%%) %.1fs", d.label, done, total, done*100/total, secs)
}
