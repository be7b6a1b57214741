package rawjson

import (
	"bytes"
	"encoding/json"
	"math"
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
		// Compaction is what json.Marshal writes for a RawMessage.
		wantCompact, err := json.Marshal(json.RawMessage(data))
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendCompact([]byte("x"), data); string(got) != "x"+string(wantCompact) {
			t.Fatalf("AppendCompact(%q) = %s, want x%s", data, got, wantCompact)
		}
		checkWalk(t, v)
	})
}

// checkWalk compares walking v with what encoding/json decodes from it.
func checkWalk(t *testing.T, v Value) {
	t.Helper()
	switch v.Kind() {
	case Object:
		var n int
		for k, val := range v.Members() {
			if k.Kind() != String || !json.Valid(val) {
				t.Fatalf("member %q: %q of %q", k, val, v)
			}
			checkWalk(t, val)
			n++
		}
		// encoding/json keeps the last of duplicate keys: count distinct ones.
		var m map[string]json.RawMessage
		if err := json.Unmarshal(v, &m); err != nil {
			t.Fatal(err)
		}
		if n < len(m) {
			t.Fatalf("%q: %d members walked, encoding/json sees %d keys", v, n, len(m))
		}
	case Array:
		var want []json.RawMessage
		if err := json.Unmarshal(v, &want); err != nil {
			t.Fatal(err)
		}
		n := 0
		for i, e := range v.Elements() {
			if i != n || !bytes.Equal(e, bytes.TrimSpace(want[i])) {
				t.Fatalf("%q: element %d = %q, want %q", v, i, e, want[i])
			}
			checkWalk(t, e)
			n++
		}
		if n != len(want) {
			t.Fatalf("%q: %d elements walked, want %d", v, n, len(want))
		}
	case String:
		var want string
		if err := json.Unmarshal(v, &want); err != nil {
			t.Fatal(err)
		}
		if got := v.Unquote(); got != want {
			t.Fatalf("Unquote(%q) = %q, want %q", v, got, want)
		}
	case Bool:
		if v.Bool() != (string(v) == "true") {
			t.Fatalf("Bool(%q) = %v", v, v.Bool())
		}
	}
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

func TestAppendFloat(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1.5, 0.1, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64, 3.4028234663852886e38} {
		want, _ := json.Marshal(f)
		if got := AppendFloat([]byte("x"), f); string(got) != "x"+string(want) {
			t.Errorf("AppendFloat(%v) = %s, want x%s", f, got, want)
		}
	}
}

func TestMembersAndLookup(t *testing.T) {
	v, ok := Parse([]byte(` {"sql" : "SELECT 1", "Parameters":[1, "a", {"b":[2]}], "\u0073ql":null, "other":true} `))
	if !ok {
		t.Fatal("not valid")
	}
	names := []string{"sql", "parameters"}
	var got []string
	for k, val := range v.Members() {
		got = append(got, k.Unquote()+"="+string(val))
		switch Lookup(k, names) {
		case 0:
			if val.Kind() != String && val.Kind() != Null {
				t.Errorf("sql is %v", val.Kind())
			}
		case 1:
			var elems []string
			for i, e := range val.Elements() {
				elems = append(elems, string(rune('0'+i))+":"+string(e))
			}
			if want := `0:1 1:"a" 2:{"b":[2]}`; strings.Join(elems, " ") != want {
				t.Errorf("elements = %v, want %s", elems, want)
			}
		default:
			if k.Unquote() != "other" {
				t.Errorf("key %s not looked up", k)
			}
		}
	}
	want := `sql="SELECT 1"|Parameters=[1, "a", {"b":[2]}]|sql=null|other=true`
	if strings.Join(got, "|") != want {
		t.Errorf("members = %s, want %s", strings.Join(got, "|"), want)
	}
	if Lookup(Value(`"ſql"`), names) != 0 { // folded like encoding/json
		t.Error(`"ſql" does not match sql`)
	}
	if Lookup(Value(`"sq"`), names) != -1 || Lookup(Value(`1`), names) != -1 {
		t.Error("unknown keys match")
	}
}

func TestKinds(t *testing.T) {
	for s, want := range map[string]Kind{`null`: Null, `true`: Bool, `-1`: Number, `"x"`: String, `[]`: Array, `{}`: Object} {
		v, ok := Parse([]byte(s))
		if !ok || v.Kind() != want || want.String() == "invalid" {
			t.Errorf("Parse(%s) = %v %v, want kind %v", s, v.Kind(), ok, want)
		}
	}
	if Value(nil).Kind() != Invalid || Invalid.String() != "invalid" {
		t.Error("empty value is not Invalid")
	}
}

func TestNoAllocations(t *testing.T) {
	doc := []byte(`{"sql":"SELECT id, name FROM items WHERE id <= $1","parameters":[10, "x", true]}`)
	buf := make([]byte, 0, 256)
	n := testing.AllocsPerRun(100, func() {
		v, ok := Parse(doc)
		if !ok {
			t.Fatal("invalid")
		}
		for k, val := range v.Members() {
			if Lookup(k, []string{"sql", "parameters"}) == 1 {
				for range val.Elements() {
				}
			}
		}
		buf = AppendString(buf[:0], "plain text")
		buf = AppendCompact(buf[:0], doc)
		buf = AppendFloat(buf[:0], 1.25)
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
