package spool

import "os"

// Functions of test files are no one's helpers: no fact.
func Scratch() error { return os.WriteFile("scratch", nil, 0o600) }
