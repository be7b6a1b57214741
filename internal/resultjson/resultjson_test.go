package resultjson

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/onexhost/onex/handler"
)

// point is a struct: left to encoding/json.
type point struct {
	X, Y int
	Tag  string `json:"tag,omitempty"`
}

// marshaler writes what it holds, as a json.Marshaler.
type marshaler string

func (m marshaler) MarshalJSON() ([]byte, error) {
	if m == "fail" {
		return nil, errors.New("refused")
	}
	return []byte(m), nil
}

// ptrMarshaler implements json.Marshaler on its pointer only.
type ptrMarshaler struct{ V int }

func (p *ptrMarshaler) MarshalJSON() ([]byte, error) { return []byte(strconv.Itoa(p.V)), nil }

// texter is an encoding.TextMarshaler.
type texter string

func (t texter) MarshalText() ([]byte, error) {
	if t == "fail" {
		return nil, errors.New("refused")
	}
	return []byte("text:" + t), nil
}

// differential are values of every shape Append writes itself, with the
// edges of each (escapes, number formats, nil and empty containers, what
// encoding/json refuses), and some it leaves to encoding/json.
var differential = []any{
	nil, "", "plain", `q"uote\`, "<b>&amp;</b>", "ctl\x00\x1f\x7f\b\f\n\r\t", "héllo 日本", "\u2028\u2029", "bad \xff\xfe utf-8", "a\xe2\x80",
	true, false,
	0, -1, math.MaxInt64, math.MinInt64, int8(-128), int16(32767), int32(-7), int64(1) << 53,
	uint(7), uint8(255), uint16(65535), uint32(math.MaxUint32), uint64(math.MaxUint64), uintptr(42),
	0.0, math.Copysign(0, -1), 1.5, -2.25, 1e-6, 9.99e-7, 1e-7, 1.234e-9, 1e20, 1e21, 123456789e13, math.MaxFloat64, math.SmallestNonzeroFloat64,
	0.1 + 0.2, 100.0, 1e6, -1e-300,
	float32(0), float32(1.1), float32(1e-6), float32(9.9e-7), float32(1e21), float32(9.99999e20), float32(math.MaxFloat32), float32(-3.4e-45),
	math.NaN(), math.Inf(1), math.Inf(-1), float32(math.Inf(-1)),
	json.Number(""), json.Number("0"), json.Number("-12.50e+3"), json.Number("1e400"), json.Number("01"), json.Number("1."), json.Number(" 1"), json.Number("NaN"),
	[]byte(nil), []byte{}, []byte("\x00\xffbinary"), []byte("ab"),
	json.RawMessage(nil), json.RawMessage(`{"a":1}`), json.RawMessage(`{"a": [1, 2]}`), json.RawMessage(" true "), json.RawMessage(`"<&>"`),
	json.RawMessage("\"\u2028\""), json.RawMessage(`"\u003c"`), json.RawMessage(""), json.RawMessage(`{"a"`), json.RawMessage(`[01]`), json.RawMessage(`1 2`),
	map[string]any(nil), map[string]any{}, map[string]any{"b": 1, "a": "x", "ä": nil, "A": true, "<k>": []any{1.5, "y"}, "": json.Number("3")},
	map[string]string(nil), map[string]string{"Content-Type": "application/json", "Date": "today", "X-Html": "<&>", "X-Ünïcode": "ü"},
	map[string][]string(nil), map[string][]string{"b": {"1", "2"}, "a": nil, "c": {}},
	[]any(nil), []any{}, []any{1, "two", nil, []any{3.5, false}, map[string]any{"k": "v"}, point{1, 2, ""}},
	[]string(nil), []string{}, []string{"a", "<b>"},
	[]map[string]any(nil), []map[string]any{}, []map[string]any{{"a": 1}, nil, {}},
	handler.Object(nil), handler.Object{},
	handler.Object{{Name: "z", Value: 1}, {Name: "a", Value: map[string]any{"n": handler.Object{{Name: "<", Value: []byte("x")}}}}, {Name: "raw", Value: json.RawMessage(`[1, 2]`)}},
	handler.Object{{Name: "bad", Value: math.NaN()}},
	handler.Rows{}, handler.Rows{Columns: []string{"a"}},
	handler.Rows{Columns: []string{"id", `q"<`}, Values: [][]any{{1, "x"}, {2, nil}, {3, handler.Rows{Columns: []string{"n"}, Values: [][]any{{true}}}}}},
	handler.Rows{Values: [][]any{{}, {}}},
	handler.Rows{Columns: []string{"a", "b"}, Values: [][]any{{1, 2}, {3}}},
	handler.Rows{Columns: []string{"a"}, Values: [][]any{{1}, {make(chan int)}}},
	manyColumns(40),
	time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.UTC), (*time.Time)(nil),
	uuid.MustParse("7d8f2c1e-3b4a-4c5d-8e9f-0a1b2c3d4e5f"), net.IP(nil), net.ParseIP("::1"), (*net.IP)(nil),
	marshaler(`{"k": "<v>"}`), marshaler(`[1,2]`), marshaler(`not json`), marshaler("fail"), marshaler(""),
	&ptrMarshaler{7}, ptrMarshaler{7}, (*ptrMarshaler)(nil),
	texter("a<b"), texter("fail"), (*texter)(nil),
	point{1, 2, "<"}, &point{3, 4, ""}, []point{{}}, map[string]point{"p": {}}, map[int]string{2: "b", 10: "a"},
	make(chan int), func() {}, []any{make(chan int)}, map[string]any{"c": complex(1, 2)},
	deep(1500), deepObject(10),
}

// manyColumns is one row of n columns: more names than Append remembers on
// the stack.
func manyColumns(n int) handler.Rows {
	r := handler.Rows{Values: make([][]any, 2)}
	for i := range n {
		r.Columns = append(r.Columns, "c"+strconv.Itoa(i))
		r.Values[0] = append(r.Values[0], i)
		r.Values[1] = append(r.Values[1], -i)
	}
	return r
}

// deep is n nested arrays around a map: deeper than Append goes before
// handing the rest to encoding/json.
func deep(n int) any {
	var v any = map[string]any{"leaf": 1}
	for range n {
		v = []any{v}
	}
	return v
}

func deepObject(n int) any {
	var v any = "leaf"
	for i := range n {
		v = handler.Object{{Name: strconv.Itoa(i), Value: v}}
	}
	return v
}

// same checks that Append writes what json.Marshal writes for v, or fails
// where it fails, leaving dst as it was.
func same(t *testing.T, v any) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, gerr := Append([]byte("prefix"), v)
	switch {
	case werr != nil && gerr == nil:
		t.Fatalf("Append(%#v) = %s; encoding/json fails: %v", v, got, werr)
	case werr == nil && gerr != nil:
		t.Fatalf("Append(%#v) fails: %v; encoding/json writes %s", v, gerr, want)
	case werr != nil && string(got) != "prefix":
		t.Fatalf("Append(%#v) failed (%v) but changed dst to %q", v, gerr, got)
	case werr == nil && string(got) != "prefix"+string(want):
		t.Fatalf("Append(%#v) =\n%s\nencoding/json writes\n%s", v, got[len("prefix"):], want)
	}
}

// TestMatchesEncodingJSON: byte for byte what json.Marshal writes, or an
// error where it fails.
func TestMatchesEncodingJSON(t *testing.T) {
	for i, v := range append(differential, httpResult(), dbResult()) {
		t.Run(strconv.Itoa(i), func(t *testing.T) { same(t, v) })
	}
}

// TestCycles: a map or slice that contains itself is refused as encoding/json
// refuses it; an Object that contains itself, which encoding/json would
// follow until the stack overflows, is refused with ErrTooDeep.
func TestCycles(t *testing.T) {
	m := map[string]any{}
	m["self"] = m
	s := []any{nil}
	s[0] = s
	for _, v := range []any{m, s, map[string]any{"in": []any{m}}} {
		if _, err := Append(nil, v); err == nil {
			t.Errorf("Append of a cycle succeeded")
		}
	}
	o := handler.Object{{Name: "self"}}
	o[0].Value = o
	r := handler.Rows{Columns: []string{"r"}, Values: [][]any{{nil}}}
	r.Values[0][0] = r
	for _, v := range []any{o, r, []any{o}} {
		if _, err := Append(nil, v); !errors.Is(err, ErrTooDeep) {
			t.Errorf("Append of a self-containing %T: %v, want ErrTooDeep", v, err)
		}
	}
}

// TestErrorsNameTheMember: an error inside an Object or Rows says where.
func TestErrorsNameTheMember(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{handler.Object{{Name: "price", Value: math.Inf(1)}}, `"price"`},
		{handler.Rows{Columns: []string{"a"}, Values: [][]any{{1}, {math.NaN()}}}, `row 1, "a"`},
		{handler.Rows{Columns: []string{"a"}, Values: [][]any{{1, 2}}}, "row 0 has 2 values for 1 columns"},
	} {
		if _, err := Append(nil, tc.v); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Append(%v): %v, want an error naming %s", tc.v, err, tc.want)
		}
	}
}

// TestNoAllocations: the shapes of the built-in handlers' results are
// written without allocating.
func TestNoAllocations(t *testing.T) {
	for name, v := range map[string]any{"http": httpResult(), "db": dbResult()} {
		buf := make([]byte, 0, 4096)
		if n := testing.AllocsPerRun(100, func() {
			var err error
			if buf, err = Append(buf[:0], v); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: %.0f allocations, want 0", name, n)
		}
	}
}

// valueReader builds a value from fuzz input: each byte picks a shape.
type valueReader struct {
	prog []byte
	text string
}

func (r *valueReader) byte() byte {
	if len(r.prog) == 0 {
		return 0
	}
	b := r.prog[0]
	r.prog = r.prog[1:]
	return b
}

func (r *valueReader) uint64() uint64 {
	var b [8]byte
	n := copy(b[:], r.prog)
	r.prog = r.prog[n:]
	return binary.LittleEndian.Uint64(b[:])
}

func (r *valueReader) string() string {
	n := min(int(r.byte()%16), len(r.text))
	s := r.text[:n]
	r.text = r.text[n:]
	return s
}

func (r *valueReader) value(depth int) any {
	kind := r.byte()
	if depth > 6 {
		kind %= 12 // scalars only
	}
	switch kind % 24 {
	case 0:
		return nil
	case 1:
		return r.string()
	case 2:
		return r.byte()&1 == 1
	case 3:
		return int64(r.uint64())
	case 4:
		return int8(r.byte())
	case 5:
		return uint64(r.uint64())
	case 6:
		return math.Float64frombits(r.uint64())
	case 7:
		return math.Float32frombits(uint32(r.uint64()))
	case 8:
		return json.Number(r.string())
	case 9:
		return []byte(r.string())
	case 10:
		return json.RawMessage(r.string())
	case 11:
		return texter(r.string())
	case 12:
		m := map[string]any{}
		for range r.byte() % 5 {
			m[r.string()] = r.value(depth + 1)
		}
		return m
	case 13:
		m := map[string]string{}
		for range r.byte() % 5 {
			m[r.string()] = r.string()
		}
		return m
	case 14:
		m := map[string][]string{}
		for range r.byte() % 4 {
			m[r.string()] = []string{r.string(), r.string()}[:r.byte()%3]
		}
		return m
	case 15, 16:
		var s []any
		for range r.byte() % 5 {
			s = append(s, r.value(depth+1))
		}
		return s
	case 17:
		return []string{r.string(), r.string()}[:r.byte()%3]
	case 18:
		return []map[string]any{{r.string(): r.value(depth + 1)}, nil}[:r.byte()%3]
	case 19:
		var o handler.Object
		for range r.byte() % 5 {
			o = append(o, handler.Member{Name: r.string(), Value: r.value(depth + 1)})
		}
		return o
	case 20:
		rows := handler.Rows{}
		cols, n := int(r.byte()%4), int(r.byte()%4)
		for range cols {
			rows.Columns = append(rows.Columns, r.string())
		}
		for range n {
			row := make([]any, cols+int(r.byte()%8)/7) // now and then a row of the wrong length
			for j := range row {
				row[j] = r.value(depth + 2)
			}
			rows.Values = append(rows.Values, row)
		}
		return rows
	case 21:
		return marshaler(r.string())
	case 22:
		return point{int(int8(r.byte())), 0, r.string()}
	default:
		return time.Unix(int64(r.uint64()%(1<<40)), int64(r.uint64()%1e9)).UTC()
	}
}

// FuzzMatchesEncodingJSON builds values of every shape from the input and
// checks Append against json.Marshal on each.
func FuzzMatchesEncodingJSON(f *testing.F) {
	f.Add([]byte{19, 3, 1, 2, 12, 2, 1, 6, 0, 0, 0, 0, 0, 0, 248, 127}, "key<&>\u2028value\xff")
	f.Add([]byte{20, 2, 3, 1, 1, 8, 3, 9, 4, 10, 5}, `ab"c12.5e3{"a": 1}`)
	f.Add([]byte{15, 4, 8, 2, 10, 6, 21, 4, 11, 3}, `1e99 [1,2]{}abc`)
	f.Fuzz(func(t *testing.T, prog []byte, text string) {
		r := &valueReader{prog: prog, text: text}
		same(t, r.value(0))
	})
}

// httpResult is shaped like the HTTP handler's result.
func httpResult() any {
	return handler.Object{
		{Name: "status_code", Value: 200},
		{Name: "headers", Value: map[string]string{"Content-Type": "application/json", "Content-Length": "40", "Date": "Mon, 24 Nov 2026 16:00:00 GMT"}},
		{Name: "body", Value: json.RawMessage(`{"id":1,"name":"apple","tags":["a","b"]}`)},
		{Name: "body_encoding", Value: "json"},
	}
}

// dbResult is shaped like the database handler's result for 10 rows.
func dbResult() any {
	cols := []string{"id", "name", "price", "updated"}
	rows := handler.Rows{Columns: cols}
	for i := range 10 {
		rows.Values = append(rows.Values, []any{int32(i), "item " + strconv.Itoa(i), json.Number(strconv.Itoa(i) + ".25"), "2024-01-01T07:00:00Z"})
	}
	return handler.Object{{Name: "columns", Value: cols}, {Name: "rows", Value: rows}, {Name: "row_count", Value: int64(10)}}
}

// BenchmarkAppend compares Append with json.Marshal on results shaped like
// the HTTP and database handlers'.
func BenchmarkAppend(b *testing.B) {
	for _, tc := range []struct {
		name string
		v    any
	}{{"http", httpResult()}, {"db-10-rows", dbResult()}} {
		b.Run(tc.name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(tc.v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/resultjson", func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 4096)
			for b.Loop() {
				var err error
				if buf, err = Append(buf[:0], tc.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
