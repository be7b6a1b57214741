package rawjson

import (
	"strings"
	"testing"
)

func TestBlank(t *testing.T) {
	for in, want := range map[string]bool{"": true, " \t\r\n": true, "\v": false, "\f": false, "\u00a0": false, " 0 ": false, "null": false} {
		if got := Blank([]byte(in)); got != want {
			t.Errorf("Blank(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestNextSpecial: for every two bytes at every two positions of a word,
// NextSpecial finds the first that is '"', '\\' or below 0x20 (the word
// test), and it does in the bytes past the last whole word too.
func TestNextSpecial(t *testing.T) {
	special := func(c byte) bool { return c < 0x20 || c == '"' || c == '\\' }
	first := func(b []byte, from int) int {
		for i := from; i < len(b); i++ {
			if special(b[i]) {
				return i
			}
		}
		return max(from, len(b))
	}
	word := []byte("abcdefgh")
	for p := 0; p < 8; p++ {
		for q := p + 1; q < 8; q++ {
			for x := range 256 {
				for y := range 256 {
					copy(word, "abcdefgh")
					word[p], word[q] = byte(x), byte(y)
					if got, want := NextSpecial(word, 0), first(word, 0); got != want {
						t.Fatalf("NextSpecial(%q) = %d, want %d", word, got, want)
					}
				}
			}
		}
	}
	for n := range 20 {
		for at := -1; at < n; at++ {
			b := []byte(strings.Repeat("x", n))
			if at >= 0 {
				b[at] = '"'
			}
			for from := 0; from <= n+1; from++ {
				if got, want := NextSpecial(b, from), first(b, from); got != want {
					t.Fatalf("NextSpecial(%q, %d) = %d, want %d", b, from, got, want)
				}
			}
		}
	}
}
