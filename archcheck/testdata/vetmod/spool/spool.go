// Package spool writes files.
package spool

import "os"

// Write writes b to path.
func Write(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }
