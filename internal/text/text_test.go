package text

import (
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		name, s string
		n       int
		want    string
	}{
		{"shorter", "abc", 5, "abc"},
		{"exact", "abcde", 5, "abcde"},
		{"longer", "abcdef", 5, "abcde…"},
		{"empty", "", 3, ""},
		{"zero", "abc", 0, "…"},
		{"negative", "abc", -1, "…"},
		// é is two bytes: a cut inside it backs off to before it.
		{"inside a rune", "aé", 2, "a…"},
		{"after a rune", "aéb", 3, "aé…"},
		// 🙂 is four bytes.
		{"inside a four-byte rune", "🙂🙂", 6, "🙂…"},
		{"first rune too long", "🙂", 3, "…"},
		// Invalid input is cut by bytes where no rune starts nearer.
		{"invalid bytes", "\xff\xff\xff", 2, "\xff\xff…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Truncate(tt.s, tt.n)
			if got != tt.want {
				t.Fatalf("Truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
			}
			if utf8.ValidString(tt.s) && !utf8.ValidString(got) {
				t.Fatalf("Truncate(%q, %d) = %q: valid UTF-8 became invalid", tt.s, tt.n, got)
			}
		})
	}
}

func FuzzTruncate(f *testing.F) {
	for _, s := range []string{"", "abc", "aé", "🙂🙂", "\xff"} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		got := Truncate(s, n)
		if len(s) <= max(n, 0) {
			if got != s {
				t.Fatalf("Truncate(%q, %d) = %q, want it unchanged", s, n, got)
			}
			return
		}
		kept := got[:len(got)-len(Ellipsis)]
		if got[len(kept):] != Ellipsis || len(kept) > max(n, 0) || s[:len(kept)] != kept {
			t.Fatalf("Truncate(%q, %d) = %q, want a prefix of at most %d bytes and %q", s, n, got, n, Ellipsis)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("Truncate(%q, %d) = %q: valid UTF-8 became invalid", s, n, got)
		}
	})
}
