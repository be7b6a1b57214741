//go:build race

package envelope

// The race detector's sync.Pool drops items at random, so pooled buffers
// (encoding/json's scanner) allocate: allocation counts hold only without it.
const raceEnabled = true
