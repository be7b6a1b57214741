// Package remote is a helper package: not a handler package, so it may do its
// own I/O, but its functions that do carry the fact to the handlers calling
// them.
package remote

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
)

// Fetch makes its own request.
func Fetch(url string) (int, error) { // want Fetch:`reaches net/http.Get$`
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Mirror reaches it through a function of its own package that is not
// exported, and is reported with the shorter of its two ways there.
func Mirror(urls []string) error { // want Mirror:`reaches remote.fetchAll → remote.Fetch → net/http.Get$`
	if len(urls) > 100 {
		return deep(urls)
	}
	return fetchAll(urls)
}

func fetchAll(urls []string) error {
	for _, u := range urls {
		if _, err := Fetch(u); err != nil {
			return err
		}
	}
	return nil
}

func deep(urls []string) error { return Mirror(urls[1:]) }

// FetchWith uses the client it is given: methods of an *http.Client value are
// not forbidden, whichever client it is.
func FetchWith(c *http.Client, url string) (int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Client holds a client it was given.
type Client struct{ HTTP *http.Client }

// Get uses the held client.
func (c *Client) Get(url string) (int, error) { return FetchWith(c.HTTP, url) }

// Post falls back to the default client.
func (c *Client) Post(url string, body io.Reader) error { // want Post:`reaches net/http.DefaultClient$`
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Post(url, "application/json", body)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

// Each is generic: the fact is on its generic form.
func Each[T ~string](urls []T) error { // want Each:`reaches remote.Fetch → net/http.Get$`
	for _, u := range urls {
		if _, err := Fetch(string(u)); err != nil {
			return err
		}
	}
	return nil
}

// Through calls what the interface value holds: not followed.
func Through(rt http.RoundTripper, req *http.Request) (*http.Response, error) {
	return rt.RoundTrip(req)
}

// Call calls a function value: not followed.
func Call(f func(string) (int, error), url string) (int, error) { return f(url) }

// Default returns a function value: whether it is called is not followed.
func Default() func(network, address string) (net.Conn, error) { return net.Dial }

// Fetcher returns a function of this package as a value: not followed either.
func Fetcher() func(string) (int, error) { return Fetch }

// Transport stores a dial function for whoever uses the transport.
func Transport() *http.Transport {
	var d net.Dialer
	return &http.Transport{DialContext: d.DialContext}
}

var once sync.Once

// Warm passes a literal to a call, which is taken to call it.
func Warm(url string) { // want Warm:`reaches net/http.Head$`
	once.Do(func() {
		if resp, err := http.Head(url); err == nil {
			resp.Body.Close()
		}
	})
}

// Ping calls a literal in a goroutine.
func Ping(ctx context.Context, addr string) { // want Ping:`reaches \(\*net.Dialer\).DialContext$`
	go func() {
		var d net.Dialer
		if c, err := d.DialContext(ctx, "tcp", addr); err == nil {
			c.Close()
		}
	}()
}

// Later stores a literal: not followed.
func Later(addr string) func() {
	return func() {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
		}
	}
}
