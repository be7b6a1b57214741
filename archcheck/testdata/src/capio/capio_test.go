package capio

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// Tests set up servers and files of their own: exempt.
func TestFetcher(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := os.WriteFile(filepath.Join(t.TempDir(), "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_ = http.DefaultClient
}
