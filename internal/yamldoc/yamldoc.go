// Package yamldoc loads YAML files (handler_contract.yaml, onex.yaml) into
// go.yaml.in/yaml node trees, which keep the line and column of every node,
// and places the loader's syntax errors where an editor (yaml-language-server)
// places them. It is the one YAML front end of onex: the contract decoder and
// the configuration read their files through it.
package yamldoc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"
	"go.yaml.in/yaml/v4/plugin/loaderlimits"
)

// SyntaxError is a document the loader refused, located at line:col (both
// 1-based).
type SyntaxError struct {
	Line, Column int
	// Message says what is wrong, without position.
	Message string
	// TooDeep is set when the document nests deeper than the bound given to
	// Load; Message then says so.
	TooDeep bool
}

// Error returns line:col: message.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Message)
}

// errTooDeep is how the depth check refuses a document; the loader reports
// it by message only.
var errTooDeep = errors.New("nesting over the bound")

// Options are how Load reads a file; the zero value keeps the loader's
// defaults.
type Options struct {
	maxNesting int
	loader     []yaml.Option
}

// MaxNesting returns Options that bound the nesting of collections, flow or
// block, to n levels. Build them once: a discovery loads thousands of files
// with the same.
func MaxNesting(n int) Options {
	return Options{maxNesting: n, loader: []yaml.Option{yaml.WithPlugin(loaderlimits.New(loaderlimits.DepthFunc(
		func(depth int, _ *yaml.DepthContext) error {
			if depth > n {
				return errTooDeep
			}
			return nil
		})))}}
}

// Load reads every document of data and returns the bodies of the first two
// that are not empty (the files onex reads hold one). A document the loader
// refuses, wherever it is in the file, is a *SyntaxError; so is a panic of
// the loader.
func Load(data []byte, o Options) (first, second *yaml.Node, err error) {
	first, second, err = load(data, o)
	if err != nil {
		return nil, nil, locate(data, err, o)
	}
	return first, second, nil
}

// load runs the loader, turning a panic of it into an error.
func load(data []byte, o Options) (first, second *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			first, second, err = nil, nil, fmt.Errorf("the YAML parser failed on this file: %v", r)
		}
	}()
	l, err := yaml.NewLoader(bytes.NewReader(data), o.loader...)
	if err != nil {
		return nil, nil, fmt.Errorf("YAML loader: %w", err)
	}
	var doc yaml.Node // the bodies kept are its children, not doc itself
	for {
		doc = yaml.Node{}
		err := l.Load(&doc)
		if errors.Is(err, io.EOF) {
			return first, second, nil
		}
		if err != nil {
			return nil, nil, err
		}
		switch b := body(&doc); {
		case b == nil:
		case first == nil:
			first = b
		case second == nil:
			second = b
		}
	}
}

// body is the content of a document, nil when it has none (an empty
// document, or one holding only comments).
func body(doc *yaml.Node) *yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || ImplicitNull(doc.Content[0]) {
		return nil
	}
	return doc.Content[0]
}

// ImplicitNull reports whether n is the empty value of `key:` with nothing
// after it.
func ImplicitNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null" && n.Value == "" && n.Style == 0 && n.Anchor == ""
}

// Resolve follows aliases to the node that holds the value.
func Resolve(n *yaml.Node) *yaml.Node {
	for range 64 { // a longer chain is a cycle, which the caller bounds
		if n == nil || n.Kind != yaml.AliasNode {
			return n
		}
		n = n.Alias
	}
	return n
}

// DuplicateKey returns the first key of mapping m that an earlier key of m
// already sets, and that earlier key. Keys that are not scalars are left to
// the decoding, which refuses them.
func DuplicateKey(m *yaml.Node) (dup, first *yaml.Node) {
	n := len(m.Content) / 2
	if n < 2 {
		return nil, nil
	}
	if n <= 16 { // small mappings, the common case: no map to allocate
		for i := 2; i < 2*n; i += 2 {
			key, ok := KeyText(m.Content[i])
			if !ok {
				continue
			}
			for j := 0; j < i; j += 2 {
				if prev, ok := KeyText(m.Content[j]); ok && prev == key {
					return m.Content[i], m.Content[j]
				}
			}
		}
		return nil, nil
	}
	seen := make(map[string]*yaml.Node, n)
	for i := 0; i < 2*n; i += 2 {
		key, ok := KeyText(m.Content[i])
		if !ok {
			continue
		}
		if p, ok := seen[key]; ok {
			return m.Content[i], p
		}
		seen[key] = m.Content[i]
	}
	return nil, nil
}

// KeyText is the text of a mapping key: a scalar other than null, written or
// reached through an alias. Quoting does not change a key: a, "a" and 'a' are
// one key. The merge key << is a key like the others here.
func KeyText(k *yaml.Node) (string, bool) {
	r := Resolve(k)
	if r == nil || r.Kind != yaml.ScalarNode || r.Tag == "!!null" {
		return "", false
	}
	return r.Value, true
}

// locate turns a load error into a SyntaxError at the position an editor
// shows for it.
func locate(data []byte, err error, o Options) *SyntaxError {
	var le *yaml.LoadError
	if !errors.As(err, &le) {
		return &SyntaxError{Line: 1, Column: 1, Message: err.Error()}
	}
	e := &SyntaxError{Message: le.Message}
	if le.Message == errTooDeep.Error() {
		e.Message, e.TooDeep = fmt.Sprintf("YAML nesting deeper than %d levels", o.maxNesting), true
	} else if le.ContextMsg != "" {
		e.Message = le.ContextMsg + ": " + le.Message
	}
	e.Line, e.Column = position(data, le, o)
	return e
}

// simpleKey is the loader's context for a key it found no ':' after.
const simpleKey = "while scanning a simple key"

// position places a load error. The loader marks where it gave up, which for
// a construct left open is further down than where the mistake is:
//
//   - a key without its ':' is the mistake, not the line after it;
//   - a ':' where no mapping value may start is the key before it misplaced
//     (a: b: c, or a key indented under a scalar);
//   - a flow collection ([ or {) in a block is over at the first line that is
//     not indented past the line it opened on: that line is the mistake;
//   - at the end of the file there is nothing to show, so the construct left
//     open (a quote, a bracket) is shown instead, or when the loader does not
//     say which, the last thing written.
func position(data []byte, le *yaml.LoadError, o Options) (line, col int) {
	mark, ctx := le.Mark, le.ContextMark
	if mark.Line <= 0 {
		return 1, 1
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for len(lines) < mark.Line {
		lines = append(lines, nil) // past the last line break
	}
	before := ctx.Line > 0 && (ctx.Line < mark.Line || ctx.Line == mark.Line && ctx.Column < mark.Column)
	if !before && charAt(lines[mark.Line-1], mark.Column) == ':' {
		if k := keyBefore(data[:offset(lines, mark)], o); k != nil {
			return k.Line, k.Column
		}
	}
	if before && le.ContextMsg == simpleKey {
		return ctx.Line, max(ctx.Column, 1)
	}
	if before {
		if opener := lines[ctx.Line-1]; charAt(opener, ctx.Column) == '[' || charAt(opener, ctx.Column) == '{' {
			parent := indent(opener)
			for n := ctx.Line + 1; n <= mark.Line; n++ {
				if in := indent(lines[n-1]); !blank(lines[n-1]) && in <= parent {
					return n, in + 1
				}
			}
		}
	}
	if len(bytes.TrimSpace(data[offset(lines, mark):])) == 0 { // at the end
		if before {
			return ctx.Line, max(ctx.Column, 1)
		}
		for n := mark.Line; n >= 1; n-- {
			if l := lines[n-1]; !blank(l) {
				return n, utf8.RuneCount(bytes.TrimRightFunc(l, unicode.IsSpace))
			}
		}
	}
	return mark.Line, max(mark.Column, 1)
}

// keyBefore loads the text before a misplaced ':' and returns the scalar it
// ends with: the key that ':' was meant for. It returns nil when that text
// does not load either.
func keyBefore(head []byte, o Options) (key *yaml.Node) {
	defer func() {
		if recover() != nil {
			key = nil
		}
	}()
	l, err := yaml.NewLoader(bytes.NewReader(head), o.loader...)
	if err != nil {
		return nil
	}
	for {
		var doc yaml.Node
		err := l.Load(&doc)
		if errors.Is(err, io.EOF) {
			return key
		}
		if err != nil {
			return nil
		}
		if n := lastScalar(&doc); n != nil {
			key = n
		}
	}
}

// lastScalar is the last scalar (or alias) of n in document order.
func lastScalar(n *yaml.Node) *yaml.Node {
	for i := len(n.Content) - 1; i >= 0; i-- {
		if s := lastScalar(n.Content[i]); s != nil {
			return s
		}
	}
	if n.Kind == yaml.ScalarNode || n.Kind == yaml.AliasNode {
		return n
	}
	return nil
}

// offset is the byte offset of mark in the file split into lines.
func offset(lines [][]byte, mark yaml.Mark) int {
	off := 0
	for _, l := range lines[:mark.Line-1] {
		off += len(l)
	}
	col := 1
	for i := range string(lines[mark.Line-1]) {
		if col == mark.Column {
			return off + i
		}
		col++
	}
	return off + len(lines[mark.Line-1])
}

// charAt returns the character at 1-based column col of line, 0 past its end.
func charAt(line []byte, col int) rune {
	for _, c := range string(line) {
		if col--; col == 0 {
			return c
		}
	}
	return 0
}

// indent counts the spaces that start line.
func indent(line []byte) int {
	return len(line) - len(bytes.TrimLeft(line, " "))
}

// blank reports whether a line holds nothing but white space or a comment.
func blank(line []byte) bool {
	t := bytes.TrimSpace(line)
	return len(t) == 0 || t[0] == '#'
}
