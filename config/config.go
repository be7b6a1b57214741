// Package config loads onex.yaml. It is generic: it parses the file, rejects
// unknown top-level sections, and strictly decodes a section into the struct its
// owning package defines (runtime, policy, bus, …), reporting every unknown key
// (with a did-you-mean hint) and every wrong type as RUNTIME-002 with the key,
// the file, the line and the column. Every key is optional.
package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/internal/suggest"
	"github.com/onexhost/onex/internal/yamldoc"
)

// MaxFileBytes bounds the size of onex.yaml.
const MaxFileBytes = 1 << 20

// Sections are the top-level keys of onex.yaml; each is decoded by the package
// that owns it.
var Sections = []string{
	"handler_source", // source: mode, contract_paths, bootstrap override, registry
	"environment",    // policy: environment security policy
	"secrets",        // policy: secret providers
	"runtime",        // runtime: limits, timeouts, concurrency
	"bus",            // bus: memory or kafka
	"bootstrap",      // handlers: config of the built-in bootstrap handlers
	"admin",          // runtime: admin listener
	"ingress",        // runtime: HTTP gateway
	"tracing",        // runtime: OpenTelemetry
}

// File is a parsed onex.yaml: the node tree of each section, which keeps the
// line and column of every key and value.
type File struct {
	// Path is the file the configuration came from ("" for defaults).
	Path     string
	sections map[string]*yaml.Node
	keys     map[string]*yaml.Node // the key node of each section
}

// Empty is the configuration of a host started without a file: all defaults.
func Empty() *File { return &File{sections: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}} }

// Load reads and parses path. An empty path yields Empty().
func Load(path string) (*File, []*diag.ValidationError) {
	if path == "" {
		return Empty(), nil
	}
	fi, err := os.Stat(path)
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err == nil && fi.Size() > MaxFileBytes {
		err = fmt.Errorf("larger than %d bytes", MaxFileBytes)
	}
	var data []byte
	if err == nil {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		e := diag.New(ruleid.RuntimeConfig, "cannot read configuration: %v", trimPathErr(err))
		e.FilePath = path
		e.RemediationHint = "pass an existing, readable onex.yaml with --config, or leave --config out to use the defaults"
		return nil, []*diag.ValidationError{e}
	}
	return Parse(path, data)
}

func trimPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse parses the content of a configuration file named path.
func Parse(path string, data []byte) (*File, []*diag.ValidationError) {
	f := &File{Path: path, sections: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	body, second, err := yamldoc.Load(data, yamldoc.Options{})
	if err != nil {
		msg, line, col := err.Error(), 0, 0
		var se *yamldoc.SyntaxError
		if errors.As(err, &se) {
			msg, line, col = se.Message, se.Line, se.Column
		}
		e := diag.New(ruleid.RuntimeConfig, "invalid YAML: %s", msg)
		f.locate(e, line, col)
		e.RemediationHint = "fix the YAML syntax of the configuration at the reported line and column"
		return nil, []*diag.ValidationError{e}
	}
	if second != nil {
		e := diag.New(ruleid.RuntimeConfig, "configuration holds more than one YAML document")
		f.locateNode(e, second)
		return nil, []*diag.ValidationError{e}
	}
	if body == nil {
		return f, nil
	}
	if e := f.duplicateKey(body); e != nil {
		return nil, []*diag.ValidationError{e}
	}
	m := yamldoc.Resolve(body)
	if m == nil || m.Kind != yaml.MappingNode {
		e := diag.New(ruleid.RuntimeConfig, "configuration must be a mapping of sections (%s)", strings.Join(Sections, ", "))
		f.locateNode(e, body)
		return nil, []*diag.ValidationError{e}
	}
	var errs []*diag.ValidationError
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		key, _ := yamldoc.KeyText(k)
		if !slices.Contains(Sections, key) {
			e := diag.New(ruleid.RuntimeConfig, "unknown section %q%s", key, suggest.Hint(key, Sections))
			e.Details = map[string]any{"key": key}
			f.locateNode(e, k)
			errs = append(errs, e)
			continue
		}
		f.sections[key], f.keys[key] = v, k
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return f, nil
}

// duplicateKey reports the first key set twice in one mapping, anywhere in
// the file: YAML forbids it, and a decoder would silently keep one of them.
func (f *File) duplicateKey(n *yaml.Node) *diag.ValidationError {
	switch n.Kind {
	case yaml.AliasNode:
		return nil // its anchor is checked where it is written
	case yaml.MappingNode:
		if dup, first := yamldoc.DuplicateKey(n); dup != nil {
			key, _ := yamldoc.KeyText(dup)
			e := diag.New(ruleid.RuntimeConfig, "key %q appears twice in one mapping (first at line %d, column %d)", key, first.Line, first.Column)
			e.Details = map[string]any{"key": key}
			e.RemediationHint = "remove or merge one of the two: a mapping sets each key once"
			f.locateNode(e, dup)
			return e
		}
	}
	for _, c := range n.Content {
		if e := f.duplicateKey(c); e != nil {
			return e
		}
	}
	return nil
}

// Has reports whether the section is present.
func (f *File) Has(section string) bool {
	n := yamldoc.Resolve(f.sections[section])
	return n != nil && !(n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// Decode strictly decodes a section into dst (a pointer to the owning package's
// struct, pre-filled with defaults). An absent section leaves dst unchanged. Every
// unknown key and every wrong type is a RUNTIME-002 naming the key path.
func (f *File) Decode(section string, dst any) []*diag.ValidationError {
	if !slices.Contains(Sections, section) {
		panic("config: unknown section " + section)
	}
	if !f.Has(section) {
		return nil
	}
	node := f.sections[section]
	if errs := f.check(section, section, node, reflect.TypeOf(dst)); len(errs) > 0 {
		return errs
	}
	if err := node.Load(dst, yaml.WithKnownFields(), yaml.WithUniqueKeys()); err != nil {
		msg, line, col := err.Error(), node.Line, node.Column
		var le *yaml.LoadError
		if errors.As(err, &le) {
			msg = le.Message
			if le.Mark.Line > 0 {
				line, col = le.Mark.Line, le.Mark.Column
			}
		}
		e := diag.New(ruleid.RuntimeConfig, "%s: %s", section, msg)
		e.Details = map[string]any{"key": section}
		f.locate(e, line, col)
		return []*diag.ValidationError{e}
	}
	return nil
}

// Errorf makes a located RUNTIME-002 for a semantic error of the value at
// keyPath (dotted, e.g. runtime.max_concurrency), for section owners' checks.
func (f *File) Errorf(keyPath, format string, args ...any) *diag.ValidationError {
	e := diag.New(ruleid.RuntimeConfig, "%s: %s", keyPath, fmt.Sprintf(format, args...))
	e.Details = map[string]any{"key": keyPath}
	if f != nil {
		f.FilePath(e)
		e.Line, e.Column = f.Position(keyPath)
	}
	return e
}

// FilePath sets e's file to the configuration file.
func (f *File) FilePath(e *diag.ValidationError) { e.FilePath = f.Path }

// Position returns the line and column of the value at keyPath (dotted, with
// [i] for list items), or of its nearest present ancestor; 0, 0 when unknown.
// A key written with no value (`key:`) is placed at the key.
func (f *File) Position(keyPath string) (line, col int) {
	if f == nil {
		return 0, 0
	}
	parts := splitPath(keyPath)
	if len(parts) == 0 {
		return 0, 0
	}
	node, ok := f.sections[parts[0]]
	if !ok {
		return 0, 0
	}
	at := node
	if yamldoc.ImplicitNull(node) {
		at = f.keys[parts[0]]
	}
	for _, p := range parts[1:] {
		key, next := child(node, p)
		if next == nil {
			break
		}
		node, at = next, next
		if key != nil && yamldoc.ImplicitNull(next) {
			at = key
		}
	}
	return at.Line, at.Column
}

func splitPath(p string) []string {
	var out []string
	for _, seg := range strings.Split(p, ".") {
		name, rest, _ := strings.Cut(seg, "[")
		if name != "" {
			out = append(out, name)
		}
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			out = append(out, "["+idx+"]")
			_, rest, _ = strings.Cut(after, "[")
		}
	}
	return out
}

// child is the value under key (or list index "[i]") seg of n, with its key
// node (nil for a list item).
func child(n *yaml.Node, seg string) (key, value *yaml.Node) {
	x := yamldoc.Resolve(n)
	if x == nil {
		return nil, nil
	}
	switch x.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(x.Content); i += 2 {
			if k, ok := yamldoc.KeyText(x.Content[i]); ok && k == seg {
				return x.Content[i], x.Content[i+1]
			}
		}
	case yaml.SequenceNode:
		if strings.HasPrefix(seg, "[") {
			i, err := strconv.Atoi(strings.Trim(seg, "[]"))
			if err == nil && i >= 0 && i < len(x.Content) {
				return nil, x.Content[i]
			}
		}
	}
	return nil, nil
}

// check walks the YAML node against the Go type it decodes into, before the
// decoding: it reports every key the struct does not have (with a did-you-mean
// among its siblings), every value of the wrong shape (a scalar where a
// mapping or a list goes, and the reverse), every boolean that is not true or
// false, and every value a TextUnmarshaler refuses, each at its node.
func (f *File) check(section, path string, n *yaml.Node, t reflect.Type) []*diag.ValidationError {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	n = yamldoc.Resolve(n)
	if n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // leaves the default in place
	}
	if e := f.checkText(path, n, t); e != nil {
		return []*diag.ValidationError{e}
	}
	if implementsUnmarshaler(t) || t.Kind() == reflect.Interface {
		return nil
	}
	switch want := shape(t); {
	case want != shapeOf(n):
		if want == "" {
			want = scalarName(t)
		}
		e := diag.New(ruleid.RuntimeConfig, "%s: %s was used where %s is expected", path, describe(n), want)
		e.Details = map[string]any{"key": section}
		f.locateNode(e, n)
		return []*diag.ValidationError{e}
	case t.Kind() == reflect.Bool && n.Tag != "!!bool":
		e := diag.New(ruleid.RuntimeConfig, "%s: %s is not a boolean (true or false)", path, strconv.Quote(n.Value))
		e.Details = map[string]any{"key": section}
		f.locateNode(e, n)
		return []*diag.ValidationError{e}
	}
	var errs []*diag.ValidationError
	switch t.Kind() {
	case reflect.Struct:
		fields, rest := yamlFields(t)
		names := slices.Sorted(maps.Keys(fields))
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				errs = append(errs, f.merged(section, path, v, t)...) // <<: *defaults
				continue
			}
			key, _ := yamldoc.KeyText(k)
			ft, ok := fields[key]
			switch {
			case ok:
			case rest != nil: // an inline map takes the other keys
				ft = rest
			default:
				e := diag.New(ruleid.RuntimeConfig, "%s: unknown key %q%s", path, key, suggest.Hint(key, names))
				e.Details = map[string]any{"key": path + "." + key, "valid": names}
				f.locateNode(e, k)
				errs = append(errs, e)
				continue
			}
			errs = append(errs, f.check(section, path+"."+key, v, ft)...)
		}
	case reflect.Map:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				errs = append(errs, f.merged(section, path, v, t)...)
				continue
			}
			key, _ := yamldoc.KeyText(k)
			errs = append(errs, f.check(section, path+"."+key, v, t.Elem())...)
		}
	case reflect.Slice, reflect.Array:
		for i, v := range n.Content {
			errs = append(errs, f.check(section, fmt.Sprintf("%s[%d]", path, i), v, t.Elem())...)
		}
	}
	return errs
}

// merged checks the keys a merge key (<<) brings into a mapping of type t:
// one mapping, or a list of them.
func (f *File) merged(section, path string, v *yaml.Node, t reflect.Type) []*diag.ValidationError {
	if r := yamldoc.Resolve(v); r != nil && r.Kind == yaml.SequenceNode {
		var errs []*diag.ValidationError
		for _, m := range r.Content {
			errs = append(errs, f.check(section, path, m, t)...)
		}
		return errs
	}
	return f.check(section, path, v, t)
}

// shape is the YAML collection a Go type decodes from: a mapping, a
// sequence, or "" for a scalar.
func shape(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "mapping"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "" // bytes: a !!binary or a string
		}
		return "sequence"
	}
	return ""
}

// scalarName names the scalar a Go type decodes from, for messages.
func scalarName(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "duration"
	case t.Kind() == reflect.Bool:
		return "boolean"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64:
		return "number"
	}
	return "string"
}

// shapeOf is "mapping" or "sequence" for a collection node, "" for a scalar.
func shapeOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "sequence"
	}
	return ""
}

// describe names a node's kind for messages.
func describe(n *yaml.Node) string {
	if shape := shapeOf(n); shape != "" {
		return shape
	}
	switch n.Tag {
	case "!!int", "!!float":
		return "number"
	case "!!bool":
		return "boolean"
	}
	return "string"
}

// checkText decodes a scalar bound for a TextUnmarshaler (a vocabulary type, a
// duration wrapper…) on its own, so that a rejected value is reported at its
// node with its key path.
func (f *File) checkText(path string, n *yaml.Node, t reflect.Type) *diag.ValidationError {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || !reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil
	}
	u := reflect.New(t).Interface().(interface{ UnmarshalText([]byte) error })
	if err := u.UnmarshalText([]byte(n.Value)); err != nil {
		e := diag.New(ruleid.RuntimeConfig, "%s: %v", path, err)
		e.Details = map[string]any{"key": path}
		f.locateNode(e, n)
		return e
	}
	return nil
}

var (
	yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()
)

func implementsUnmarshaler(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(yamlUnmarshaler) || p.Implements(textUnmarshaler)
}

// yamlFields maps the YAML keys of a struct (as go.yaml.in/yaml names them: the
// yaml tag, else the lower-cased field name; ,inline structs flattened) to
// their types. rest is the element type of an ,inline map, which takes every
// other key; nil when there is none.
func yamlFields(t reflect.Type) (fields map[string]reflect.Type, rest reflect.Type) {
	fields = map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() && !sf.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if slices.Contains(strings.Split(opts, ","), "inline") {
			ft := sf.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Struct:
				inner, innerRest := yamlFields(ft)
				maps.Copy(fields, inner)
				if innerRest != nil {
					rest = innerRest
				}
			case reflect.Map:
				rest = ft.Elem()
			}
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		fields[name] = sf.Type
	}
	return fields, rest
}

// locateNode places e at node n of the file.
func (f *File) locateNode(e *diag.ValidationError, n *yaml.Node) {
	f.locate(e, n.Line, n.Column)
}

func (f *File) locate(e *diag.ValidationError, line, col int) {
	e.FilePath = f.Path
	if line > 0 {
		e.Line, e.Column = line, max(col, 1)
	}
}
