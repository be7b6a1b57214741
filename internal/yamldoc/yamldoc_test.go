package yamldoc

import (
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// TestSyntaxErrorPositions pins where a refused document is reported. Unless
// noted, the position is the one yaml-language-server shows for the file.
func TestSyntaxErrorPositions(t *testing.T) {
	for _, tc := range []struct {
		name      string
		doc       string
		line, col int
		inMessage string
	}{
		{"tab as indentation", "a:\n\tb: 1\n", 2, 1, "cannot start any token"},
		{"tab in a value's indentation", "a:\n  b: 1\n\tc: 2\n", 3, 1, "tab character"},
		{"reserved character", "a: @x\n", 1, 4, "cannot start any token"},
		{"bad escape", "a: \"\\q\"\n", 1, 5, "escape"},
		{"undefined alias", "a: 1\nb: *nope\n", 2, 4, "nope"},
		{"text after a flow sequence", "a: [x] y\n", 1, 8, "expected key"},
		{"two anchors on a node", "a: &x &y 1\n", 1, 7, ""},
		{"mapping after a sequence", "- a\nb: c\n", 2, 1, "'-'"},
		// The loader stops at the line after the key; the key lacks the ':'.
		{"key without colon", "a: 1\nb\nc: 2\n", 2, 1, "could not find expected ':'"},
		// The loader stops at the ':'; the key before it is the mistake.
		{"compact nested mapping", "a: b: c\n", 1, 4, "mapping values"},
		{"key indented under a scalar", "a: 1\n  b: 2\n", 1, 4, "mapping values"},
		{"key missing its colon over a block", "handler_identity\n  name: x\n", 1, 1, "mapping values"},
		{"after a character of two bytes", "d: café\ne: été: c\n", 2, 4, "mapping values"},
		{"crlf line breaks", "a: 1\r\nb: c: d\r\n", 2, 4, "mapping values"},
		// A flow collection in a block ends at the first line not indented
		// past the line it opened on.
		{"unclosed flow sequence", "a: [1, 2\nb: 3\n", 2, 1, "flow sequence"},
		{"unclosed flow mapping", "a: {x: 1\nb: 3\n", 2, 1, "flow mapping"},
		{"unclosed flow over a comment", "a: [1,\n# note\n\nb: 3\n", 4, 1, "flow sequence"},
		{"unclosed nested flow", "a:\n  b: [1, {c: 2]\n", 2, 15, "flow mapping"},
		// At the end of the file there is nothing to show: the construct left
		// open is shown (yaml-language-server shows the end of the file).
		{"unterminated quote", "a: \"x\nb: [\n", 1, 4, "quoted scalar"},
		{"unterminated quote after a character of two bytes", "é: 'x\n", 1, 4, "quoted scalar"},
		{"unclosed flow at the end", "a: [1, 2\n", 1, 4, "flow sequence"},
		// The directive's name ends where the loader reports it
		// (yaml-language-server: 1:1, the directive).
		{"unknown directive", "%FOO bar\n---\na: 1\n", 1, 5, "directive"},
		{"control character", "a: \x00\n", 1, 1, "control characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load([]byte(tc.doc), Options{})
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *SyntaxError", err)
			}
			if se.Line != tc.line || se.Column != tc.col || !strings.Contains(se.Message, tc.inMessage) || se.TooDeep {
				t.Fatalf("got %d:%d %q (too deep %v), want %d:%d containing %q", se.Line, se.Column, se.Message, se.TooDeep, tc.line, tc.col, tc.inMessage)
			}
		})
	}
}

func TestMaxNesting(t *testing.T) {
	o := MaxNesting(3)
	for _, tc := range []struct {
		name      string
		doc       string
		line, col int // 0: loads
	}{
		// Flow and block collections count apart.
		{"flow at the bound", "a: [[[1]]]\n", 0, 0},
		{"flow over the bound", "a: [[[[1]]]]\n", 1, 7},
		// A block mapping opens at the ':' of its first key.
		{"block over the bound", "a:\n  b:\n    c:\n      d: 1\n", 4, 8},
		{"compact sequences over the bound", "a:\n  - - - x\n", 2, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, _, err := Load([]byte(tc.doc), o)
			if tc.line == 0 {
				if err != nil || first == nil {
					t.Fatalf("got %v, %v; want the document", first, err)
				}
				return
			}
			var se *SyntaxError
			if !errors.As(err, &se) || !se.TooDeep || se.Line != tc.line || se.Column != tc.col || se.Message != "YAML nesting deeper than 3 levels" {
				t.Fatalf("got %#v, want too deep at %d:%d", err, tc.line, tc.col)
			}
		})
	}
}

func TestLoadDocuments(t *testing.T) {
	for _, tc := range []struct {
		name          string
		doc           string
		first, second string // the first key of each body, "" for none
	}{
		{"empty", "", "", ""},
		{"comments only", "# nothing\n", "", ""},
		{"one", "a: 1\n", "a", ""},
		{"empty documents around one", "---\n---\na: 1\n---\n", "a", ""},
		{"two", "a: 1\n---\nb: 2\n---\nc: 3\n", "a", "b"},
		{"quoted keys are keys", "\"a\": 1\n---\n'b': 2\n", "a", "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, second, err := Load([]byte(tc.doc), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := firstKey(first); got != tc.first {
				t.Errorf("first body %q, want %q", got, tc.first)
			}
			if got := firstKey(second); got != tc.second {
				t.Errorf("second body %q, want %q", got, tc.second)
			}
		})
	}
}

func firstKey(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return ""
	}
	return n.Content[0].Value
}

func TestResolve(t *testing.T) {
	first, _, err := Load([]byte("a: &x {k: v}\nb: *x\nc:\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := first.Content[1], first.Content[3], first.Content[5]
	if b.Kind != yaml.AliasNode || Resolve(b) != a || Resolve(a) != a || Resolve(nil) != nil {
		t.Fatalf("Resolve(*x) = %v, want the anchored mapping", Resolve(b))
	}
	if !ImplicitNull(c) || ImplicitNull(a) {
		t.Fatal("ImplicitNull: want true for `c:` only")
	}
}

func TestDuplicateKey(t *testing.T) {
	var large strings.Builder // more keys than are compared pairwise
	for _, k := range strings.Split("abcdefghijklmnopqrst", "") {
		large.WriteString(k + ": 1\n")
	}
	for _, tc := range []struct {
		name      string
		doc       string
		dup, prev int // lines of the duplicate and of the first key; 0: none
	}{
		{"none", "a: 1\nb: 2\n", 0, 0},
		{"plain", "a: 1\nb: 2\na: 3\n", 3, 1},
		{"quoted and plain", "a: 1\n\"a\": 2\n", 2, 1},
		{"single-quoted", "'a': 1\nb: 2\n'a': 3\n", 3, 1},
		{"through an alias", "a: &k x\n*k : 2\nx: 3\n", 3, 2},
		{"null keys are not compared", "~: 1\n? ~\n: 2\n", 0, 0},
		{"large", large.String() + "c: again\n", 21, 3},
		{"large without", large.String(), 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _, err := Load([]byte(tc.doc), Options{})
			if err != nil {
				t.Fatal(err)
			}
			dup, prev := DuplicateKey(m)
			switch {
			case tc.dup == 0 && dup != nil:
				t.Fatalf("got a duplicate at line %d, want none", dup.Line)
			case tc.dup != 0 && (dup == nil || dup.Line != tc.dup || prev.Line != tc.prev):
				t.Fatalf("got %v %v, want the key of line %d set first at line %d", dup, prev, tc.dup, tc.prev)
			}
		})
	}
}

// FuzzLoad: Load never panics, and a refused document is a *SyntaxError
// placed inside the file.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"a: b: c\n", "a: [1, 2\nb: 3\n", "a: \"x\nb: [\n", "a: 1\nb\nc: 2\n", "a:\n\tb: 1\n",
		"contract_version: [\n", "d: café\ne: été: c\n", "a: 1\r\nb: c: d\r\n", "- a\nb: c\n", "%FOO bar\n---\na: 1\n",
	} {
		f.Add([]byte(s))
	}
	o := MaxNesting(8)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, err := Load(data, o)
		if err == nil {
			return
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("got %T %v, want a *SyntaxError", err, err)
		}
		if se.Line < 1 || se.Column < 1 || se.Line > len(data)+1 || se.Column > len(data)+1 || se.Message == "" {
			t.Fatalf("error %v is not inside a file of %d bytes", se, len(data))
		}
	})
}
