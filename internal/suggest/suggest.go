// Package suggest finds the closest known word to a misspelt one, for
// did-you-mean hints.
package suggest

import "strings"

// Closest returns the candidate nearest to word by edit distance
// (case-insensitive), if it is near enough to be a plausible typo: at most a
// third of the word's length, and at least 1. Ties go to the earlier candidate.
func Closest(word string, candidates []string) (string, bool) {
	w := strings.ToLower(word)
	best, bestD := "", -1
	for _, c := range candidates {
		d := Distance(w, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(len(w)/3, 1)
	if bestD < 0 || bestD > limit {
		return "", false
	}
	return best, true
}

// Hint renders ` (did you mean "x"?)`, or "" when nothing is close.
func Hint(word string, candidates []string) string {
	if c, ok := Closest(word, candidates); ok {
		return ` (did you mean "` + c + `"?)`
	}
	return ""
}

// Distance is the Levenshtein distance between a and b, in bytes, where an
// adjacent transposition counts as one edit (optimal string alignment).
func Distance(a, b string) int {
	if a == b {
		return 0
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
