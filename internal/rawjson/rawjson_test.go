package rawjson

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// seeds are documents valid and invalid in the ways that matter: every token,
// escapes, odd numbers, nesting, whitespace, trailing data.
var seeds = []string{
	``, ` `, `null`, `true`, `false`, `nul`, `truex`, `0`, `-0`, `01`, `-`, `1.`, `.5`, `1.5e`, `1e+`, `1E-07`,
	`-12.50e+3`, `1e400`, `""`, `"a"`, `"\u00e9\n\t\"\\\/\b\f\r"`, `"\ud800"`, `"\x"`, `"\u12"`, `"a` + "\x01" + `"`,
	"\"\xff\xfe\"", `"<&>"`, "\"\u2028\u2029\"", `{}`, `[]`, `{ }`, `[ ]`, `{]`, `[}`, `{"a":1}`, `{"a" : [1, 2, {"b":null}] }`,
	`{"a":1,}`, `[1,]`, `[1 2]`, `{"a" 1}`, `{a:1}`, `{"a":1}{}`, ` {"a":1} `, "\n[\t1\r]\n", `[[[[[]]]]]`,
	`{"a":{"b":{"c":[true,false,null,"x",-1.5e-3]}}}`, `"abcdefghijklmnop\"qrstuvwxyz"`, `"` + strings.Repeat("x", 40) + `"`,
}

func TestValidMatchesEncodingJSON(t *testing.T) {
	for _, s := range seeds {
		if got, want := Valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("Valid(%q) = %v, encoding/json says %v", s, got, want)
		}
	}
}

func TestValidNestingLimit(t *testing.T) {
	for _, depth := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
		for _, inner := range []string{"", "1"} {
			doc := strings.Repeat("[", depth) + inner + strings.Repeat("]", depth)
			if got, want := Valid([]byte(doc)), json.Valid([]byte(doc)); got != want {
				t.Errorf("depth %d inner %q: Valid = %v, encoding/json says %v", depth, inner, got, want)
			}
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want := json.Valid(data)
		if got := Valid(data); got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", data, got, want)
		}
		v, ok := Parse(data)
		if ok != want {
			t.Fatalf("Parse(%q) ok = %v, want %v", data, ok, want)
		}
		if !ok {
			return
		}
		if !bytes.Equal(v, bytes.TrimSpace(data)) && !bytes.Equal(v, bytes.Trim(data, " \t\r\n")) {
			t.Fatalf("Parse(%q) = %q, want the value without surrounding whitespace", data, v)
		}
	})
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "ctl\x01\x1f\x7f", "\b\f\n\r\t", "héllo", "\u2028x\u2029",
		"<&>", string([]byte{0xff, 'a'}), "a\xe2\x80", "\xed\xa0\x80", "日本語", strings.Repeat("long ", 20)} {
		want, _ := json.Marshal(s)
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("AppendString(%q) = %s, want x%s", s, got, want)
		}
		if got := AppendString([]byte("x"), []byte(s)); string(got) != "x"+string(want) {
			t.Errorf("AppendString([]byte %q) = %s, want x%s", s, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00", "\u2028", "\xff", "<x>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}

// marshalsAs is what json.Marshal writes for the number s, or ok false when it
// refuses it: the reference for IsNumber.
func marshalsAs(s string) (string, bool) {
	b, err := json.Marshal(json.Number(s))
	return string(b), err == nil
}

func TestIsNumber(t *testing.T) {
	for _, s := range []string{"0", "-0", "12", "-1.5e+07", "1E9", "01", "-", "1.", ".5", "1e", "+1", " 1", "1 ", "0x1", "NaN", "1e400", "１"} {
		want, ok := marshalsAs(s)
		if got := IsNumber(s); got != (ok && want == s) {
			t.Errorf("IsNumber(%q) = %v; json.Marshal writes %q, ok %v", s, got, want, ok)
		}
		if IsNumber(s) != IsNumber([]byte(s)) {
			t.Errorf("IsNumber(%q) differs between string and []byte", s)
		}
	}
	if IsNumber("") {
		t.Error(`IsNumber("") = true; json.Marshal writes an empty json.Number as 0, which the caller decides`)
	}
}

// FuzzIsNumber: a non-empty string is a number exactly when json.Marshal
// writes it as a json.Number, unchanged.
func FuzzIsNumber(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" {
			return
		}
		want, ok := marshalsAs(s)
		if got := IsNumber(s); got != (ok && want == s) {
			t.Fatalf("IsNumber(%q) = %v; json.Marshal writes %q, ok %v", s, got, want, ok)
		}
	})
}

// canonicalWant is the reference for Canonical: json.Marshal gives the
// document back unchanged.
func canonicalWant(data []byte) bool {
	b, err := json.Marshal(json.RawMessage(data))
	return err == nil && bytes.Equal(b, data)
}

func TestCanonical(t *testing.T) {
	for _, s := range append(seeds, `{"a":"b c"}`, `{"a":"\" "}`, `["\\", 1]`, `"\u003c"`, "\"a\u2028\"", "\"\xe2\x80\"", `[1,{"k":" "}]`) {
		if !json.Valid([]byte(s)) {
			continue
		}
		if got, want := Canonical([]byte(s)), canonicalWant([]byte(s)); got != want {
			t.Errorf("Canonical(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzCanonical(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		if got, want := Canonical(data), canonicalWant(data); got != want {
			t.Fatalf("Canonical(%q) = %v, want %v", data, got, want)
		}
	})
}

func TestNoAllocations(t *testing.T) {
	doc := []byte(`{"sql":"SELECT id, name FROM items WHERE id <= $1","parameters":[10, "x", true]}`)
	buf := make([]byte, 0, 256)
	n := testing.AllocsPerRun(100, func() {
		if _, ok := Parse(doc); !ok {
			t.Fatal("invalid")
		}
		buf = AppendString(buf[:0], "plain text")
	})
	if n != 0 {
		t.Errorf("%.0f allocations, want 0", n)
	}
}

// benchDoc is a db.query result of 10 rows.
var benchDoc = func() []byte {
	var b strings.Builder
	b.WriteString(`{"columns":["id","name","price","updated"],"rows":[`)
	for i := range 10 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":12,"name":"item 12","price":15.00,"updated":"2024-01-01T12:00:00Z"}`)
	}
	b.WriteString(`],"row_count":10}`)
	return []byte(b.String())
}()

func BenchmarkValid(b *testing.B) {
	b.Run("rawjson", func(b *testing.B) {
		b.SetBytes(int64(len(benchDoc)))
		for b.Loop() {
			if !Valid(benchDoc) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(benchDoc)))
		for b.Loop() {
			if !json.Valid(benchDoc) {
				b.Fatal("invalid")
			}
		}
	})
}
