// Package capiook is not a handler package: it may do its own I/O.
package capiook

import (
	"net"
	"os"
)

func Store(path string, b []byte) error {
	c, err := net.Dial("tcp", "127.0.0.1:9")
	if err == nil {
		c.Close()
	}
	return os.WriteFile(path, b, 0o600)
}
