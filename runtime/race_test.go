//go:build race

package runtime

// The race detector's sync.Pool drops items at random: allocation counts hold
// only without it.
const raceEnabled = true
