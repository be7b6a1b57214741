// Package httpserve runs the host's HTTP listeners (the gateway, the admin
// listener): bind at start so a bad address fails the start, serve on a
// goroutine that Shutdown owns and waits for, shut down gracefully.
package httpserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Options tune a Server.
type Options struct {
	// Name says which listener this is, in logs and errors.
	Name string
	// ReadHeaderTimeout bounds reading a request's headers; default 10s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request; 0 for none.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response; 0 for none.
	WriteTimeout time.Duration
	// IdleTimeout bounds keep-alive connections between requests; default 2m.
	IdleTimeout time.Duration
	// Logger receives the server's own errors (as JSON records, never as
	// plain lines on standard error); nil discards them.
	Logger *slog.Logger
}

// Server serves one http.Handler on a TCP listener.
type Server struct {
	name string
	srv  *http.Server
	ln   net.Listener
	done chan error

	once    sync.Once
	stopErr error
}

// Listen binds addr (host:port; port 0 picks a free one) and serves h on it
// until Shutdown.
func Listen(addr string, h http.Handler, o Options) (*Server, error) {
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = 10 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 2 * time.Minute
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w", o.Name, addr, err)
	}
	s := &Server{
		name: o.Name,
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: o.ReadHeaderTimeout,
			ReadTimeout:       o.ReadTimeout,
			WriteTimeout:      o.WriteTimeout,
			IdleTimeout:       o.IdleTimeout,
			ErrorLog:          slog.NewLogLogger(logger.With("listener", o.Name).Handler(), slog.LevelWarn),
		},
		ln:   ln,
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is http://Addr.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Shutdown stops accepting connections and waits for the requests in
// progress to finish, or for ctx to end (then it closes the connections
// still open). It returns when the serving goroutine has returned. Later
// calls return the first call's result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.once.Do(func() {
		err := s.srv.Shutdown(ctx)
		if err != nil {
			err = errors.Join(fmt.Errorf("%s: graceful shutdown: %w", s.name, err), s.srv.Close())
		}
		if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, fmt.Errorf("%s: serve: %w", s.name, serr))
		}
		s.stopErr = err
	})
	return s.stopErr
}
