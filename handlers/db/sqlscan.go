package db

import (
	"errors"
	"fmt"
	"strings"
)

// sqlShape is what a lexical pass over one sql string finds: the highest $n
// placeholder and whether more than one statement is present.
type sqlShape struct {
	maxParam int
}

var errEmptySQL = errors.New("sql is empty")

// scanSQL checks that sql is exactly one statement (a trailing semicolon is
// allowed) and returns the highest $n placeholder. It follows PostgreSQL's
// lexical rules for what can hide a semicolon or a dollar sign: '…' strings
// (with ” and, for E'…', backslash escapes), "…" identifiers, $tag$…$tag$
// dollar quoting, -- line comments and nested /* */ comments. The server
// enforces the same rule again (the extended protocol refuses several
// statements); this pass lets the error name the payload field before any I/O.
func scanSQL(sql string) (sqlShape, error) {
	var shape sqlShape
	n := len(sql)
	i := 0
	ended := false     // a top-level semicolon was seen
	content := false   // a token other than whitespace/comments was seen
	prevIdent := false // the previous byte continues an identifier or keyword
	for i < n {
		c := sql[i]
		switch {
		case c == '-' && i+1 < n && sql[i+1] == '-':
			for i < n && sql[i] != '\n' {
				i++
			}
			prevIdent = false
			continue
		case c == '/' && i+1 < n && sql[i+1] == '*':
			depth := 0
			for i < n {
				if sql[i] == '/' && i+1 < n && sql[i+1] == '*' {
					depth++
					i += 2
					continue
				}
				if sql[i] == '*' && i+1 < n && sql[i+1] == '/' {
					depth--
					i += 2
					if depth == 0 {
						break
					}
					continue
				}
				i++
			}
			if depth != 0 {
				return shape, errors.New("unterminated /* comment")
			}
			prevIdent = false
			continue
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
			prevIdent = false
			continue
		}
		if ended {
			return shape, errors.New("more than one statement: send one statement per sql (use db.transaction for several)")
		}
		switch {
		case c == ';':
			ended = true
			i++
			prevIdent = false
			continue
		case c == '\'':
			escapes := i > 0 && (sql[i-1] == 'e' || sql[i-1] == 'E') && (i < 2 || !isIdentByte(sql[i-2]))
			end, err := skipQuoted(sql, i, '\'', escapes)
			if err != nil {
				return shape, err
			}
			i = end
		case c == '"':
			end, err := skipQuoted(sql, i, '"', false)
			if err != nil {
				return shape, err
			}
			i = end
		case c == '$' && !prevIdent:
			j := i + 1
			for j < n && sql[j] >= '0' && sql[j] <= '9' {
				j++
			}
			if j > i+1 {
				num := 0
				for _, d := range sql[i+1 : j] {
					num = num*10 + int(d-'0')
					if num > 65535 {
						return shape, fmt.Errorf("placeholder $%s is out of range", sql[i+1:j])
					}
				}
				if num == 0 {
					return shape, errors.New("placeholder $0: placeholders start at $1")
				}
				shape.maxParam = max(shape.maxParam, num)
				i = j
				break
			}
			// A dollar-quoted string: $tag$ … $tag$ (the tag may be empty).
			for j < n && sql[j] != '$' && isIdentByte(sql[j]) {
				j++
			}
			if j < n && sql[j] == '$' {
				tag := sql[i : j+1]
				end := indexFrom(sql, tag, j+1)
				if end < 0 {
					return shape, fmt.Errorf("unterminated dollar-quoted string %s", tag)
				}
				i = end + len(tag)
				break
			}
			i++
		default:
			i++
		}
		content = true
		prevIdent = isIdentByte(c)
	}
	if !content {
		return shape, errEmptySQL
	}
	return shape, nil
}

// skipQuoted returns the index after the closing quote of the quoted token
// starting at start; a doubled quote is an escaped quote, and with escapes a
// backslash escapes the next byte.
func skipQuoted(s string, start int, q byte, escapes bool) (int, error) {
	for i := start + 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if escapes {
				i++
			}
		case q:
			if i+1 < len(s) && s[i+1] == q {
				i++
				continue
			}
			return i + 1, nil
		}
	}
	if q == '"' {
		return 0, errors.New("unterminated quoted identifier")
	}
	return 0, errors.New("unterminated string literal")
}

func indexFrom(s, sub string, from int) int {
	if i := strings.Index(s[from:], sub); i >= 0 {
		return from + i
	}
	return -1
}

// isIdentByte reports whether b can continue an identifier (PostgreSQL allows
// $ and non-ASCII bytes after the first character).
func isIdentByte(b byte) bool {
	return b == '_' || b == '$' || b >= 0x80 ||
		(b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9')
}
