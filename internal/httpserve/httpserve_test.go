package httpserve

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestShutdownWaitsForRequests: a request in progress when Shutdown starts
// is answered; new connections are refused afterwards.
func TestShutdownWaitsForRequests(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	s, err := Listen("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "done")
	}), Options{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	got := make(chan string, 1)
	go func() {
		resp, err := client.Get(s.URL())
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- s.Shutdown(context.Background()) }()
	close(release)
	if body := <-got; body != "done" {
		t.Errorf("in-flight request got %q", body)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := client.Get(s.URL()); err == nil {
		t.Error("a request after Shutdown was answered")
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

// TestShutdownDeadline: a request that outlives the shutdown deadline has its
// connection closed, and Shutdown still returns.
func TestShutdownDeadline(t *testing.T) {
	entered := make(chan struct{})
	s, err := Listen("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done() // the connection is closed by the forced close
	}), Options{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	errc := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Transport: tr}).Get(s.URL())
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); err == nil || !strings.Contains(err.Error(), "test: graceful shutdown") {
		t.Errorf("Shutdown = %v, want the deadline error", err)
	}
	if err := <-errc; err == nil {
		t.Error("the abandoned request got a response")
	}
}

func TestListenBadAddress(t *testing.T) {
	if _, err := Listen("127.0.0.1:notaport", http.NotFoundHandler(), Options{Name: "admin"}); err == nil || !strings.Contains(err.Error(), "admin: listen on 127.0.0.1:notaport") {
		t.Errorf("Listen = %v", err)
	}
}
