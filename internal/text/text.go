// Package text shortens free text for messages: a server's reply body, a
// client's bad value, a panic value, quoted in an error or a log record.
package text

import "unicode/utf8"

// Ellipsis marks where Truncate cut.
const Ellipsis = "…"

// Truncate returns s when it is at most n bytes long, else its first n bytes
// or fewer followed by Ellipsis. The cut falls on a rune boundary, so valid
// UTF-8 stays valid; n < 0 counts as 0.
func Truncate(s string, n int) string {
	if n < 0 {
		n = 0
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + Ellipsis
}
