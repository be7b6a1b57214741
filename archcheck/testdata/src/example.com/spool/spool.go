// Package spool writes files.
package spool

import "os"

// Write writes a file.
func Write(path string, b []byte) error { // want Write:`reaches os.WriteFile$`
	return os.WriteFile(path, b, 0o600)
}

// Append opens a file for writing.
func Append(path string, b []byte) error { // want Append:`reaches os.OpenFile$`
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(b)
	return err
}

// Read opens a file read-only.
func Read(path string) (*os.File, error) { return os.OpenFile(path, os.O_RDONLY, 0) }
