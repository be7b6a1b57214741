package rawjson

// Value is one JSON value of a validated document, as a slice of it (no
// surrounding whitespace).
type Value []byte

// Parse validates data as one JSON value (see Valid) and returns it without
// the surrounding whitespace; ok is false when data is not valid JSON.
func Parse(data []byte) (v Value, ok bool) {
	b, ok := validValue(data)
	return Value(b), ok
}
