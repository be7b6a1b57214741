// Package rawjson validates and writes JSON text without reflection, for
// the one hot path that justifies it: the envelope codec, on every dispatch.
// It is internal so that nothing else comes to depend on it: handlers read
// payloads through the SDK (handler.DecodeStrict) and return Go values.
//
// Every function gives the answer encoding/json gives, byte for byte, and is
// fuzzed against it: Valid and Parse agree with json.Valid (the nesting limit
// of 10 000 included), and AppendString writes what json.Marshal writes for a
// string (HTML-safe escapes, U+2028/U+2029 escaped, invalid UTF-8 as U+FFFD).
// They differ in cost: a byte loop with no scanner state
// machine, no reflection and no allocation on the common paths, several times
// faster than encoding/json on the small documents of an envelope.
package rawjson

import (
	"encoding/binary"
	"math/bits"
)

// maxDepth is encoding/json's nesting limit: a document nested deeper is
// invalid.
const maxDepth = 10000

// Valid reports whether data is exactly one JSON value, optionally surrounded
// by whitespace: the answer of encoding/json.Valid.
func Valid(data []byte) bool {
	_, ok := validValue(data)
	return ok
}

// ValueEnd validates the one JSON value that starts at data[i] (no leading
// whitespace) and returns the offset just after it; what follows is not
// looked at. It is how a reader both delimits and validates a value embedded
// in a larger document, in one pass.
func ValueEnd(data []byte, i int) (end int, ok bool) {
	return scanValue(data, i)
}

// validValue validates data and returns its one value without the
// surrounding whitespace.
func validValue(data []byte) ([]byte, bool) {
	start := SkipWS(data, 0)
	end, ok := scanValue(data, start)
	if !ok || SkipWS(data, end) != len(data) {
		return nil, false
	}
	return data[start:end:end], true
}

// scanValue validates the value starting at data[i] (no leading whitespace)
// and returns the offset just after it. Containers are tracked on an explicit
// stack, so hostile nesting costs one byte per level and no recursion.
func scanValue(data []byte, i int) (int, bool) {
	var stackBuf [64]bool // true: inside an object
	stack := stackBuf[:0]
	var ok bool
	for {
		// A value starts at data[i].
		if i >= len(data) {
			return 0, false
		}
		switch data[i] {
		case '{', '[':
			if len(stack) == maxDepth {
				return 0, false
			}
			obj := data[i] == '{'
			i = SkipWS(data, i+1)
			if i < len(data) && (obj && data[i] == '}' || !obj && data[i] == ']') {
				i++
				break
			}
			stack = append(stack, obj)
			if obj {
				if i, ok = scanKey(data, i); !ok {
					return 0, false
				}
			}
			continue
		case '"':
			if i, ok = scanString(data, i); !ok {
				return 0, false
			}
		case 't':
			if i, ok = literal(data, i, "true"); !ok {
				return 0, false
			}
		case 'f':
			if i, ok = literal(data, i, "false"); !ok {
				return 0, false
			}
		case 'n':
			if i, ok = literal(data, i, "null"); !ok {
				return 0, false
			}
		default:
			if i, ok = scanNumber(data, i); !ok {
				return 0, false
			}
		}
		// A value ended at data[i]: close containers until one goes on.
		for {
			if len(stack) == 0 {
				return i, true
			}
			i = SkipWS(data, i)
			if i >= len(data) {
				return 0, false
			}
			obj := stack[len(stack)-1]
			c := data[i]
			if c == ',' {
				i = SkipWS(data, i+1)
				if obj {
					if i, ok = scanKey(data, i); !ok {
						return 0, false
					}
				}
				break
			}
			if obj && c == '}' || !obj && c == ']' {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			return 0, false
		}
	}
}

// scanKey validates `"key" :` at data[i] and returns the offset of the value
// that follows, whitespace skipped.
func scanKey(data []byte, i int) (int, bool) {
	if i >= len(data) || data[i] != '"' {
		return 0, false
	}
	i, ok := scanString(data, i)
	if !ok {
		return 0, false
	}
	i = SkipWS(data, i)
	if i >= len(data) || data[i] != ':' {
		return 0, false
	}
	return SkipWS(data, i+1), true
}

func literal(data []byte, i int, lit string) (int, bool) {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// scanString validates the string starting at data[i] == '"' and returns the
// offset after its closing quote. Like encoding/json it accepts any byte of
// 0x20 and above (invalid UTF-8 included) and the escapes of RFC 8259.
func scanString(data []byte, i int) (int, bool) {
	j := i + 1
	for {
		if j = NextSpecial(data, j); j >= len(data) {
			return 0, false
		}
		switch data[j] {
		case '"':
			return j + 1, true
		case '\\':
			if j+1 >= len(data) {
				return 0, false
			}
			switch data[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if len(data)-j < 6 || !isHex(data[j+2]) || !isHex(data[j+3]) || !isHex(data[j+4]) || !isHex(data[j+5]) {
					return 0, false
				}
				j += 6
			default:
				return 0, false
			}
		default: // a control character
			return 0, false
		}
	}
}

// stringEnd returns the offset after the string starting at data[i] == '"'
// of a document already validated, and whether it holds escapes.
func stringEnd(data []byte, i int) (int, bool) {
	j := i + 1
	escaped := false
	for {
		j = NextSpecial(data, j)
		switch data[j] {
		case '"':
			return j + 1, escaped
		case '\\':
			escaped = true
			j += 2
		default:
			j++
		}
	}
}

// IsNumber reports whether s is exactly one JSON number, as encoding/json
// requires of a json.Number it writes.
func IsNumber[S ~string | ~[]byte](s S) bool {
	if len(s) == 0 {
		return false
	}
	end, ok := scanNumber(s, 0)
	return ok && end == len(s)
}

// scanNumber validates the number at data[i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber[S ~string | ~[]byte](data S, i int) (int, bool) {
	if data[i] == '-' {
		i++
		if i >= len(data) {
			return 0, false
		}
	}
	switch c := data[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		i = digits(data, i+1)
	default:
		return 0, false
	}
	if i < len(data) && data[i] == '.' {
		j := digits(data, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digits(data, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func digits[S ~string | ~[]byte](data S, i int) int {
	for i < len(data) && data[i] >= '0' && data[i] <= '9' {
		i++
	}
	return i
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// SkipWS returns the offset of the first byte of data at or after i that is
// not JSON white space (space, tab, LF, CR), or len(data).
func SkipWS(data []byte, i int) int {
	// Every JSON white space byte is at most ' ': one comparison passes
	// the bytes that follow white space in most documents.
	for i < len(data) && data[i] <= ' ' {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// special marks the bytes that end, escape or invalidate a JSON string.
var special = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// NextSpecial returns the offset of the first byte of data at or after i
// that ends, escapes or invalidates a JSON string ('"', '\\' or below 0x20),
// or len(data) when there is none (i itself when i is past the end). It reads
// eight bytes at a time.
func NextSpecial(data []byte, i int) int {
	for ; i+8 <= len(data); i += 8 {
		if m := specialMask(binary.LittleEndian.Uint64(data[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(data) && !special[data[i]] {
		i++
	}
	return i
}

// Word-at-a-time byte tests (the classic "has zero byte" bit trick).
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// specialMask has the high bit of a byte of w set where it is '"', '\\' or
// below 0x20, or above such a byte (the borrow of the bit trick): its lowest
// set bit marks the first special byte exactly, and it is 0 when there is
// none.
func specialMask(w uint64) uint64 {
	// x flips bit 1: '"' (0x22) becomes 0x20 and the bytes below 0x20 stay
	// below it, so the bytes of x below 0x21 are exactly '"' and the control
	// characters.
	x := w ^ (ones * 0x02)
	return (x-ones*0x21)&^x&highs |
		((w^(ones*'\\'))-ones)&^(w^(ones*'\\'))&highs
}

// Canonical reports whether data, a valid JSON value, is written as
// json.Marshal writes it, so that json.Marshal of a json.RawMessage holding it
// gives it back unchanged: no white space outside strings (around the value
// included), and none of what json.Marshal escapes inside them (<, > and &,
// U+2028 and U+2029).
func Canonical(data []byte) bool {
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if !canonicalCheck[c] {
			continue
		}
		switch c {
		case '"':
			inString = !inString
		case '\\':
			i++ // the escaped byte: an escaped quote does not end the string
		case '<', '>', '&':
			return false
		case 0xE2: // U+2028 and U+2029 are E2 80 A8 and E2 80 A9
			if i+2 < len(data) && data[i+1] == 0x80 && data[i+2]&^1 == 0xA8 {
				return false
			}
		default: // white space
			if !inString {
				return false
			}
		}
	}
	return true
}

// canonicalCheck marks the bytes Canonical looks at.
var canonicalCheck = func() (t [256]bool) {
	for _, c := range []byte{'"', '\\', '<', '>', '&', 0xE2, ' ', '\t', '\n', '\r'} {
		t[c] = true
	}
	return t
}()

// Blank reports whether data holds nothing but JSON white space (space, tab,
// CR, LF): an absent value. Unlike bytes.TrimSpace it does not take \v, \f or
// Unicode spaces for white space, which no JSON parser does.
func Blank(data []byte) bool {
	for _, c := range data {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}
