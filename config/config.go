// Package config loads onex.yaml. It is generic: it parses the file, rejects
// unknown top-level sections, and strictly decodes a section into the struct its
// owning package defines (runtime, policy, bus, …), reporting every unknown key
// (with a did-you-mean hint) and every wrong type as RUNTIME-002 with the key,
// the file, the line and the column. Every key is optional.
package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/internal/suggest"
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

// File is a parsed onex.yaml.
type File struct {
	// Path is the file the configuration came from ("" for defaults).
	Path     string
	sections map[string]ast.Node
}

// Empty is the configuration of a host started without a file: all defaults.
func Empty() *File { return &File{sections: map[string]ast.Node{}} }

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
		e := diag.New("RUNTIME-002", "cannot read configuration: %v", trimPathErr(err))
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
	f := &File{Path: path, sections: map[string]ast.Node{}}
	parsed, err := parser.ParseBytes(data, 0)
	if err != nil {
		e := diag.New("RUNTIME-002", "invalid YAML: %s", yamlMessage(err))
		f.locate(e, yamlToken(err))
		e.RemediationHint = "fix the YAML syntax of the configuration at the reported line and column"
		return nil, []*diag.ValidationError{e}
	}
	var body ast.Node
	for _, doc := range parsed.Docs {
		if doc.Body == nil {
			continue
		}
		if body != nil {
			e := diag.New("RUNTIME-002", "configuration holds more than one YAML document")
			f.locate(e, doc.Body.GetToken())
			return nil, []*diag.ValidationError{e}
		}
		body = doc.Body
	}
	body = unwrap(body)
	if body == nil {
		return f, nil
	}
	m, ok := body.(*ast.MappingNode)
	if !ok {
		e := diag.New("RUNTIME-002", "configuration must be a mapping of sections (%s)", strings.Join(Sections, ", "))
		f.locate(e, body.GetToken())
		return nil, []*diag.ValidationError{e}
	}
	var errs []*diag.ValidationError
	for _, mv := range m.Values {
		key := mv.Key.String()
		if !slices.Contains(Sections, key) {
			e := diag.New("RUNTIME-002", "unknown section %q%s", key, suggest.Hint(key, Sections))
			e.Details = map[string]any{"key": key}
			f.locate(e, mv.Key.GetToken())
			errs = append(errs, e)
			continue
		}
		if _, dup := f.sections[key]; dup {
			e := diag.New("RUNTIME-002", "section %q appears twice", key)
			e.Details = map[string]any{"key": key}
			f.locate(e, mv.Key.GetToken())
			errs = append(errs, e)
			continue
		}
		f.sections[key] = mv.Value
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return f, nil
}

// Has reports whether the section is present.
func (f *File) Has(section string) bool {
	n, ok := f.sections[section]
	return ok && unwrap(n) != nil && n.Type() != ast.NullType
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
	if errs := f.unknownKeys(section, node, reflect.TypeOf(dst)); len(errs) > 0 {
		return errs
	}
	if err := yaml.NodeToValue(node, dst, yaml.Strict(), yaml.DisallowUnknownField()); err != nil {
		e := diag.New("RUNTIME-002", "%s: %s", section, yamlMessage(err))
		e.Details = map[string]any{"key": section}
		f.locate(e, yamlToken(err))
		return []*diag.ValidationError{e}
	}
	return nil
}

// Errorf makes a located RUNTIME-002 for a semantic error of the value at
// keyPath (dotted, e.g. runtime.max_concurrency), for section owners' checks.
func (f *File) Errorf(keyPath, format string, args ...any) *diag.ValidationError {
	e := diag.New("RUNTIME-002", "%s: %s", keyPath, fmt.Sprintf(format, args...))
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
	tok := node.GetToken()
	for _, p := range parts[1:] {
		next := child(unwrap(node), p)
		if next == nil {
			break
		}
		node = next
		tok = node.GetToken()
	}
	if tok == nil {
		return 0, 0
	}
	return tok.Position.Line, tok.Position.Column
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

func child(n ast.Node, seg string) ast.Node {
	switch x := n.(type) {
	case *ast.MappingNode:
		for _, mv := range x.Values {
			if mv.Key.String() == seg {
				return mv.Value
			}
		}
	case *ast.SequenceNode:
		if strings.HasPrefix(seg, "[") {
			i, err := strconv.Atoi(strings.Trim(seg, "[]"))
			if err == nil && i >= 0 && i < len(x.Values) {
				return x.Values[i]
			}
		}
	}
	return nil
}

// unknownKeys walks the YAML mapping against the struct's fields and reports every
// key the struct does not have, with a did-you-mean among its siblings.
func (f *File) unknownKeys(path string, n ast.Node, t reflect.Type) []*diag.ValidationError {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	n = unwrap(n)
	if e := f.checkText(path, n, t); e != nil {
		return []*diag.ValidationError{e}
	}
	switch x := n.(type) {
	case *ast.MappingNode:
		switch t.Kind() {
		case reflect.Struct:
			if implementsUnmarshaler(t) {
				return nil
			}
			fields := yamlFields(t)
			names := make([]string, 0, len(fields))
			for k := range fields {
				names = append(names, k)
			}
			slices.Sort(names)
			var errs []*diag.ValidationError
			for _, mv := range x.Values {
				key := mv.Key.String()
				ft, ok := fields[key]
				if !ok {
					e := diag.New("RUNTIME-002", "%s: unknown key %q%s", path, key, suggest.Hint(key, names))
					e.Details = map[string]any{"key": path + "." + key, "valid": names}
					f.locate(e, mv.Key.GetToken())
					errs = append(errs, e)
					continue
				}
				errs = append(errs, f.unknownKeys(path+"."+key, mv.Value, ft)...)
			}
			return errs
		case reflect.Map:
			var errs []*diag.ValidationError
			for _, mv := range x.Values {
				errs = append(errs, f.unknownKeys(path+"."+mv.Key.String(), mv.Value, t.Elem())...)
			}
			return errs
		}
	case *ast.SequenceNode:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			var errs []*diag.ValidationError
			for i, v := range x.Values {
				errs = append(errs, f.unknownKeys(fmt.Sprintf("%s[%d]", path, i), v, t.Elem())...)
			}
			return errs
		}
	}
	return nil
}

// checkText decodes a scalar bound for a TextUnmarshaler (a vocabulary type, a
// duration wrapper…) on its own, so that a rejected value is reported at its
// node: the YAML decoder loses the position of errors from UnmarshalText.
func (f *File) checkText(path string, n ast.Node, t reflect.Type) *diag.ValidationError {
	scalar, ok := n.(ast.ScalarNode)
	if !ok || n.Type() == ast.NullType || !reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil
	}
	text := fmt.Sprint(scalar.GetValue())
	u := reflect.New(t).Interface().(interface{ UnmarshalText([]byte) error })
	if err := u.UnmarshalText([]byte(text)); err != nil {
		e := diag.New("RUNTIME-002", "%s: %v", path, err)
		e.Details = map[string]any{"key": path}
		f.locate(e, n.GetToken())
		return e
	}
	return nil
}

var (
	yamlUnmarshaler = reflect.TypeFor[yaml.BytesUnmarshaler]()
	textUnmarshaler = reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()
)

func implementsUnmarshaler(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(yamlUnmarshaler) || p.Implements(textUnmarshaler)
}

// yamlFields maps the YAML keys of a struct (as goccy/go-yaml names them: the yaml
// tag, else the json tag, else the lower-cased field name; inline structs flattened)
// to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("yaml")
		if tag == "" {
			tag = sf.Tag.Get("json")
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") || (sf.Anonymous && name == "") {
			ft := sf.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range yamlFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		out[name] = sf.Type
	}
	return out
}

func unwrap(n ast.Node) ast.Node {
	for {
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.TagNode:
			n = x.Value
		default:
			return n
		}
	}
}

func (f *File) locate(e *diag.ValidationError, tok *token.Token) {
	e.FilePath = f.Path
	if tok != nil && tok.Position != nil {
		e.Line, e.Column = tok.Position.Line, tok.Position.Column
	}
}

func yamlToken(err error) *token.Token {
	var te interface{ GetToken() *token.Token }
	if errors.As(err, &te) {
		return te.GetToken()
	}
	return nil
}

func yamlMessage(err error) string {
	var me interface{ GetMessage() string }
	if errors.As(err, &me) {
		return me.GetMessage()
	}
	return err.Error()
}
