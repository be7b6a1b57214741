// Package remote is a helper package of the module: it may make its own
// requests, and handlers that call the functions that do are reported.
package remote

import "net/http"

// Fetch makes an unguarded request.
func Fetch(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// FetchWith makes the request with the client it is given.
func FetchWith(c *http.Client, url string) (int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
