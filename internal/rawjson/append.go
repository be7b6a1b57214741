package rawjson

import (
	"math"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// htmlSafe marks the ASCII bytes a string holds as they are: encoding/json's
// HTML-safe set (everything printable but '"', '\\', '<', '>' and '&').
var htmlSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	t['"'], t['\\'], t['<'], t['>'], t['&'] = false, false, false, false, false
	return t
}()

// AppendString appends s as a JSON string, escaped exactly as json.Marshal
// escapes a string: \" \\ \b \f \n \r \t, other control bytes and < > & as
// \u00XX, U+2028 and U+2029 as \u2028 and \u2029, each invalid UTF-8 byte as
// \ufffd.
func AppendString[S ~string | ~[]byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if htmlSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := decodeRune(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func decodeRune[S ~string | ~[]byte](s S) (rune, int) {
	var buf [utf8.UTFMax]byte
	n := copy(buf[:], s[:min(len(s), utf8.UTFMax)])
	return utf8.DecodeRune(buf[:n])
}

// AppendCompact appends src, a valid JSON value (see Valid), without its
// insignificant whitespace and with < > & U+2028 and U+2029 escaped inside
// strings: what json.Marshal writes for a json.RawMessage. An invalid src
// gives an unspecified result.
func AppendCompact(dst, src []byte) []byte {
	if unchanged(src) {
		return append(dst, src...)
	}
	start := 0
	flush := func(i int) {
		if start < i {
			dst = append(dst, src[start:i]...)
		}
	}
	for i := 0; i < len(src); {
		switch c := src[i]; c {
		case ' ', '\t', '\n', '\r':
			flush(i)
			i++
			start = i
		case '"':
			end, _ := stringEnd(src, i)
			for j := i + 1; j < end; j++ {
				switch c := src[j]; {
				case c == '<' || c == '>' || c == '&':
					flush(j)
					dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
					start = j + 1
				case c == 0xE2 && j+2 < end && src[j+1] == 0x80 && src[j+2]&^1 == 0xA8:
					flush(j)
					dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[src[j+2]&0xF])
					start = j + 3
					j += 2
				case c == '\\':
					j++ // an escaped byte is never one of the above
				}
			}
			i = end
		default:
			i++
		}
	}
	flush(len(src))
	return dst
}

// compactChange marks the bytes at which AppendCompact may change a valid
// JSON text: whitespace (dropped outside strings; a raw space may also be
// inside one, the others cannot), < > & (escaped inside strings), and 0xE2,
// the first byte of U+2028 and U+2029 (escaped).
var compactChange = [256]bool{' ': true, '\t': true, '\n': true, '\r': true, '<': true, '>': true, '&': true, 0xE2: true}

// unchanged reports whether AppendCompact copies the valid JSON text b as it
// is: one table lookup per byte decides it, much faster than compacting.
func unchanged(b []byte) bool {
	for _, c := range b {
		if compactChange[c] {
			return false
		}
	}
	return true
}

// AppendFloat appends f as json.Marshal writes a float64: the shortest
// decimal that reads back as f, in exponent form below 1e-6 and from 1e21 on.
// NaN and the infinities have no JSON form: the caller renders them otherwise.
func AppendFloat(dst []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 → 1e-7, as encoding/json does.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}
