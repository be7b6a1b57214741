package rawjson

import (
	"bytes"
	"encoding/json"
	"iter"
	"unicode/utf8"
)

// Kind is the JSON type of a value.
type Kind uint8

// Kinds of a Value.
const (
	Invalid Kind = iota
	Null
	Bool
	Number
	String
	Array
	Object
)

// String names the kind as encoding/json's type errors do ("got JSON number").
func (k Kind) String() string {
	switch k {
	case Null:
		return "null"
	case Bool:
		return "bool"
	case Number:
		return "number"
	case String:
		return "string"
	case Array:
		return "array"
	case Object:
		return "object"
	}
	return "invalid"
}

// Value is one JSON value of a validated document, as a slice of it (no
// surrounding whitespace). Values come from Parse and from walking the ones
// it returns, so walking them never meets a syntax error.
type Value []byte

// Parse validates data as one JSON value (see Valid) and returns it without
// the surrounding whitespace; ok is false when data is not valid JSON.
func Parse(data []byte) (v Value, ok bool) {
	b, ok := validValue(data)
	return Value(b), ok
}

// Kind is the JSON type of v.
func (v Value) Kind() Kind {
	if len(v) == 0 {
		return Invalid
	}
	switch c := v[0]; {
	case c == '{':
		return Object
	case c == '[':
		return Array
	case c == '"':
		return String
	case c == 't' || c == 'f':
		return Bool
	case c == 'n':
		return Null
	case c == '-' || c >= '0' && c <= '9':
		return Number
	}
	return Invalid
}

// Bool is the value of a JSON boolean (false for any other kind).
func (v Value) Bool() bool { return len(v) == 4 && v[0] == 't' }

// Unquote returns the text of a JSON string as json.Unmarshal decodes it
// (escapes resolved, invalid UTF-8 and lone surrogates as U+FFFD); "" for any
// other kind. Plain strings cost one copy, escaped ones go through
// encoding/json.
func (v Value) Unquote() string {
	if v.Kind() != String {
		return ""
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner)
	}
	var s string
	_ = json.Unmarshal(v, &s) // v is a valid JSON string
	return s
}

// Members iterates over the members of an object in document order, each key
// as its JSON string (see Unquote and Lookup) with its value. Duplicate keys
// are all visited. It yields nothing for other kinds.
func (v Value) Members() iter.Seq2[Value, Value] {
	return func(yield func(Value, Value) bool) {
		if v.Kind() != Object {
			return
		}
		i := SkipWS(v, 1)
		for i < len(v) && v[i] == '"' {
			kend, _ := stringEnd(v, i)
			key := v[i:kend:kend]
			vstart := SkipWS(v, SkipWS(v, kend)+1) // past ':'
			vend := valueEnd(v, vstart)
			if !yield(key, v[vstart:vend:vend]) {
				return
			}
			i = SkipWS(v, vend)
			if v[i] == ',' {
				i = SkipWS(v, i+1)
			}
		}
	}
}

// Elements iterates over the elements of an array in order, with their
// index. It yields nothing for other kinds.
func (v Value) Elements() iter.Seq2[int, Value] {
	return func(yield func(int, Value) bool) {
		if v.Kind() != Array {
			return
		}
		i := SkipWS(v, 1)
		for n := 0; i < len(v) && v[i] != ']'; n++ {
			end := valueEnd(v, i)
			if !yield(n, v[i:end:end]) {
				return
			}
			i = SkipWS(v, end)
			if v[i] == ',' {
				i = SkipWS(v, i+1)
			}
		}
	}
}

// Lookup returns the index in names of the name a member key (a JSON string
// Value, from Members) stands for, or -1: an exact match first, else a
// case-insensitive one, which is how encoding/json matches object keys to
// struct fields.
func Lookup(key Value, names []string) int {
	if key.Kind() != String {
		return -1
	}
	k := key[1 : len(key)-1]
	if bytes.IndexByte(k, '\\') >= 0 {
		k = []byte(key.Unquote())
	}
	for i, n := range names {
		if string(k) == n {
			return i
		}
	}
	for i, n := range names {
		if bytes.EqualFold(k, []byte(n)) {
			return i
		}
	}
	return -1
}

// valueEnd returns the offset after the value starting at v[i] of a document
// already validated.
func valueEnd(v []byte, i int) int {
	switch v[i] {
	case '"':
		end, _ := stringEnd(v, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; ; j++ {
			switch v[j] {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			case '"':
				end, _ := stringEnd(v, j)
				j = end - 1
			}
		}
	}
	j := i
	for j < len(v) {
		switch v[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
		j++
	}
	return j
}
