package runtime

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

// ServeNDJSON is the stdin bridge: it reads request envelopes from r, one JSON
// object per line (blank lines are skipped), dispatches them through the host's
// workers, and writes one response line per request to w, in input order. It
// returns nil after the response to the last line of the input.
//
// When ctx ends it stops reading, still answers every request already read,
// and returns ctx's error. A line longer than runtime.max_envelope_bytes is not
// kept in memory: it is answered ENVELOPE-005. The goroutine reading r ends
// when r returns; a reader that never returns (a terminal) holds it until the
// process exits.
func ServeNDJSON(ctx context.Context, h *Host, r io.Reader, w io.Writer) error {
	lines := make(chan []byte)
	readErr := make(chan error, 1)
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		readErr <- readLines(r, h.cfg.MaxEnvelopeBytes, lines, quit)
	}()

	// pending holds one slot per request in input order; its capacity bounds
	// the requests in flight.
	pending := make(chan chan []byte, h.cfg.MaxConcurrency)
	writeDone := make(chan error, 1)
	go func() { writeDone <- writeResponses(w, pending) }()

	var err error
loop:
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				err = <-readErr
				break loop
			}
			slot := make(chan []byte, 1)
			select {
			case pending <- slot:
			case <-ctx.Done():
				err = ctx.Err()
				break loop
			}
			reply := func(resp []byte, _ *Outcome) { slot <- append(make([]byte, 0, len(resp)+1), resp...) }
			if serr := h.Submit(context.WithoutCancel(ctx), line, reply); serr != nil {
				// Still one answer per request: the host is stopping.
				slot <- h.Dispatch(ctx, line)
			}
		case <-ctx.Done():
			err = ctx.Err()
			break loop
		}
	}
	close(pending)
	if werr := <-writeDone; werr != nil && err == nil {
		err = werr
	}
	return err
}

// readLines sends each non-blank line of r (without its newline) to lines and
// closes it at EOF. A line over max bytes is cut to max+1 bytes (enough to be
// refused as too large) and the rest is skipped.
func readLines(r io.Reader, max int, lines chan<- []byte, quit <-chan struct{}) error {
	defer close(lines)
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br, max)
		if len(bytes.TrimSpace(line)) > 0 {
			select {
			case lines <- line:
			case <-quit:
				return nil
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("runtime: read envelopes: %w", err)
		}
	}
}

func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) <= max+1 {
			line = append(line, frag...)
		} else if len(line) <= max {
			line = append(line, frag[:max+1-len(line)]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), err
	}
}

// writeResponses writes the responses in the order of their slots.
func writeResponses(w io.Writer, pending <-chan chan []byte) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	for slot := range pending {
		resp := <-slot
		if err != nil {
			continue // keep draining so every request finishes
		}
		resp = append(resp, '\n')
		if _, err = bw.Write(resp); err == nil && len(pending) == 0 {
			err = bw.Flush()
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("runtime: write responses: %w", err)
	}
	return nil
}
