package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/suggest"
)

// The keys of each mapping of the format, in the order of SPEC §3.
var (
	topKeys = []string{
		"contract_version", "handler_identity", "description", "handler_type",
		"handler_type_category", "is_adapter", "capabilities", "commands_accepted",
		"implementation", "config", "security", "packaging",
	}
	identityKeys       = []string{"name", "version"}
	implementationKeys = []string{"import_path", "artifact_ref"}
	artifactKeys       = []string{"uri", "digest"}
	securityKeys       = []string{"secret_scopes", "allowed_domains", "data_classification", "observability_level"}
	packagingKeys      = []string{"module", "module_version", "license"}

	// forbiddenKeys declare how work flows, which a contract never does.
	forbiddenKeys = []string{"execution_graph", "dispatch_rules", "publish_declarations", "publishes", "topics"}
)

// Decode decodes one handler_contract.yaml document named path. It collects every
// problem, never stopping at the first, and returns the contract only when there
// is none. Every error is a *diag.ValidationError with the handler identity (the
// name, or unknown@<path>), source type contract, the file, line and column, and
// a remediation hint. Decode never panics on any input.
func Decode(path string, data []byte) (*Contract, []*diag.ValidationError) {
	d := &decoder{path: path, locs: map[string]handler.Location{}}
	c := d.decode(data)
	if errs := d.finish(d.errs...); len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

type decoder struct {
	path    string
	name    string // handler_identity.name once known, for HandlerIdentity
	errs    []*diag.ValidationError
	locs    map[string]handler.Location
	targets map[*ast.AliasNode]ast.Node // alias → anchored node
}

// finish sets the handler identity and source type of errs.
func (d *decoder) finish(errs ...*diag.ValidationError) []*diag.ValidationError {
	id := d.name
	if id == "" {
		id = "unknown@" + d.path
	}
	for _, e := range errs {
		e.HandlerIdentity = id
		e.SourceType = handler.SourceContract
	}
	return errs
}

func (d *decoder) errorAt(tok *token.Token, rule diag.RuleID, format string, args ...any) *diag.ValidationError {
	e := diag.New(rule, format, args...)
	e.FilePath = d.path
	if tok != nil && tok.Position != nil {
		e.Line, e.Column = tok.Position.Line, tok.Position.Column
	}
	return e
}

func (d *decoder) add(tok *token.Token, rule diag.RuleID, hint string, format string, args ...any) *diag.ValidationError {
	e := d.errorAt(tok, rule, format, args...)
	if hint != "" {
		e.RemediationHint = hint
	}
	d.errs = append(d.errs, e)
	return e
}

// parse runs the third-party YAML lexer and parser; a panic in them is a
// syntax error of this file, not a crash of the host.
func (d *decoder) parse(data []byte) (file *ast.File) {
	defer func() {
		if r := recover(); r != nil {
			file = nil
			d.add(&token.Token{Position: &token.Position{Line: 1, Column: 1}}, "CONTRACT-001", "", "the YAML parser failed on this file: %v", r)
		}
	}()
	tokens := lexer.Tokenize(string(data))
	if tok := tooDeep(tokens); tok != nil {
		d.add(tok, "CONTRACT-001", "", "YAML nesting deeper than %d levels", MaxNesting)
		return nil
	}
	file, err := parser.Parse(tokens, 0)
	if err != nil {
		tok := errToken(err)
		if tok == nil || tok.Position == nil {
			tok = &token.Token{Position: &token.Position{Line: 1, Column: 1}}
		}
		d.add(tok, "CONTRACT-001", "", "YAML syntax error: %s", errMessage(err))
		return nil
	}
	return file
}

func (d *decoder) decode(data []byte) *Contract {
	file := d.parse(data)
	if file == nil {
		return nil
	}
	var body ast.Node
	for _, doc := range file.Docs {
		if doc.Body == nil {
			continue
		}
		if body != nil {
			d.add(startToken(doc.Body), "CONTRACT-003", "write one handler per handler_contract.yaml, in a single YAML document",
				"the file holds more than one YAML document")
			return nil
		}
		body = doc.Body
	}
	if body == nil {
		d.add(&token.Token{Position: &token.Position{Line: 1, Column: 1}}, "CONTRACT-002", "",
			"the contract is empty: required are contract_version, handler_identity, handler_type, handler_type_category, commands_accepted and implementation")
		return nil
	}
	d.peekName(body)
	if !d.resolveAliases(body) {
		return nil
	}
	return d.decodeTop(body)
}

// peekName reads handler_identity.name, when it is a plain string, before
// anything else is checked: errors that stop decoding early (aliases) still
// carry the handler's identity, so a hybrid source never falls back to a
// built-in handler of that name.
func (d *decoder) peekName(body ast.Node) {
	m, ok := body.(*ast.MappingNode)
	if !ok {
		return
	}
	for _, mv := range m.Values {
		if k, ok := mv.Key.(*ast.StringNode); !ok || k.Value != "handler_identity" {
			continue
		}
		id, ok := mv.Value.(*ast.MappingNode)
		if !ok {
			return
		}
		for _, f := range id.Values {
			if k, ok := f.Key.(*ast.StringNode); ok && k.Value == "name" {
				if v, ok := f.Value.(*ast.StringNode); ok {
					d.name = v.Value
				}
			}
		}
	}
}

// tooDeep reports the token at which flow collections nest, or block collections
// open on one line, beyond MaxNesting.
func tooDeep(tokens token.Tokens) *token.Token {
	flow, line, onLine := 0, 0, 0
	for _, tk := range tokens {
		switch tk.Type {
		case token.SequenceStartType, token.MappingStartType:
			flow++
			if flow > MaxNesting {
				return tk
			}
		case token.SequenceEndType, token.MappingEndType:
			flow--
		case token.SequenceEntryType, token.MappingKeyType, token.MappingValueType:
			if tk.Position == nil {
				continue
			}
			if tk.Position.Line != line {
				line, onLine = tk.Position.Line, 0
			}
			onLine++
			if onLine > MaxNesting {
				return tk
			}
		}
	}
	return nil
}

func errToken(err error) *token.Token {
	var te interface{ GetToken() *token.Token }
	if errors.As(err, &te) {
		return te.GetToken()
	}
	return nil
}

func errMessage(err error) string {
	var me interface{ GetMessage() string }
	if errors.As(err, &me) {
		return me.GetMessage()
	}
	return err.Error()
}

// resolveAliases maps every alias to the node its anchor names (the latest
// anchor of that name before it, as YAML defines) and bounds the nodes the
// aliases add when expanded (CONTRACT-014). It reports false when decoding must
// stop.
func (d *decoder) resolveAliases(root ast.Node) bool {
	anchors := map[string]*ast.AnchorNode{}
	var aliases []*ast.AliasNode
	target := map[*ast.AliasNode]*ast.AnchorNode{}
	ok := true
	walk(root, func(n ast.Node) {
		switch x := n.(type) {
		case *ast.AnchorNode:
			if x.Name != nil {
				anchors[x.Name.String()] = x
			}
		case *ast.AliasNode:
			name := ""
			if x.Value != nil {
				name = x.Value.String()
			}
			a, found := anchors[name]
			if !found {
				d.add(x.GetToken(), "CONTRACT-001", "define the anchor (&"+name+") before the alias that refers to it",
					"alias *%s refers to no anchor defined before it", name)
				ok = false
				return
			}
			aliases = append(aliases, x)
			target[x] = a
		}
	})
	if !ok || len(aliases) == 0 {
		return ok
	}
	// size is the node count of a subtree with aliases expanded, saturating just
	// over the bound; memoised per anchor so that a bomb costs linear time.
	const limit = MaxAliasExpansion + 1
	memo := map[*ast.AnchorNode]int{}
	active := map[*ast.AnchorNode]bool{}
	var recursive *ast.AliasNode
	var size func(n ast.Node) int
	size = func(n ast.Node) int {
		if al, isAlias := n.(*ast.AliasNode); isAlias {
			a := target[al]
			if active[a] {
				if recursive == nil {
					recursive = al
				}
				return limit
			}
			if s, done := memo[a]; done {
				return s
			}
			active[a] = true
			s := size(a.Value)
			active[a] = false
			memo[a] = s
			return s
		}
		total := 1
		for _, c := range children(n) {
			total = min(total+size(c), limit)
		}
		return total
	}
	added := 0
	for _, al := range aliases {
		added = min(added+size(target[al].Value), limit)
		if recursive != nil {
			d.add(recursive.GetToken(), "CONTRACT-014", "", "alias *%s refers to the node that contains it: its expansion never ends", recursive.Value.String())
			return false
		}
		if added > MaxAliasExpansion {
			d.add(al.GetToken(), "CONTRACT-014", "", "YAML aliases expand to more than %d nodes", MaxAliasExpansion)
			return false
		}
	}
	d.targets = make(map[*ast.AliasNode]ast.Node, len(target))
	for al, a := range target {
		d.targets[al] = a.Value
	}
	return true
}

// walk visits n and its descendants in document order, without expanding aliases.
func walk(n ast.Node, visit func(ast.Node)) {
	if n == nil {
		return
	}
	visit(n)
	for _, c := range children(n) {
		walk(c, visit)
	}
}

func children(n ast.Node) []ast.Node {
	switch x := n.(type) {
	case *ast.MappingNode:
		out := make([]ast.Node, 0, 2*len(x.Values))
		for _, mv := range x.Values {
			out = append(out, mv.Key, mv.Value)
		}
		return out
	case *ast.MappingValueNode:
		return []ast.Node{x.Key, x.Value}
	case *ast.SequenceNode:
		return x.Values
	case *ast.AnchorNode:
		return []ast.Node{x.Value}
	case *ast.TagNode:
		return []ast.Node{x.Value}
	case *ast.MappingKeyNode:
		return []ast.Node{x.Value}
	}
	return nil
}

// resolve follows anchors and aliases to the node that holds the value.
func (d *decoder) resolve(n ast.Node) ast.Node {
	for range 64 { // alias chains are acyclic after resolveAliases
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.AliasNode:
			n = d.targets[x]
		case *ast.TagNode:
			if x.Start == nil || (x.Start.Value != "!!map" && x.Start.Value != "!!seq") {
				return n
			}
			n = x.Value
		default:
			return n
		}
	}
	return n
}

// entry is one key of a mapping, merge keys (<<) already applied.
type entry struct {
	key   string
	ktok  *token.Token // the key
	value ast.Node
}

// pos is the position of the key.
func (e entry) pos() handler.Location { return location(e.ktok) }

func location(tok *token.Token) handler.Location {
	if tok == nil || tok.Position == nil {
		return handler.Location{}
	}
	return handler.Location{Line: tok.Position.Line, Column: tok.Position.Column}
}

// valueToken is where an error about e's value points: the value, or the key
// when the value is implicit (key: with nothing after it).
func (e entry) valueToken() *token.Token {
	if e.value == nil {
		return e.ktok
	}
	tok := e.value.GetToken()
	if tok == nil || tok.Type == token.ImplicitNullType || tok.Position == nil {
		return e.ktok
	}
	return tok
}

// mapping returns the entries of a mapping node, or ok=false when n is not one.
// Merge keys (<<: *anchor or <<: [*a, *b]) add the keys of the merged mappings
// that the mapping does not set itself; earlier merged mappings win.
func (d *decoder) mapping(n ast.Node) (entries []entry, ok bool) {
	var values []*ast.MappingValueNode
	switch x := d.resolve(n).(type) {
	case *ast.MappingNode:
		values = x.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{x}
	default:
		return nil, false
	}
	var merged [][]entry
	for _, mv := range values {
		if mv.Key == nil {
			continue
		}
		if _, isMerge := mv.Key.(*ast.MergeKeyNode); isMerge {
			merged = append(merged, d.mergeSources(mv)...)
			continue
		}
		key, keyOK := keyText(mv.Key)
		if !keyOK {
			d.add(mv.Key.GetToken(), "CONTRACT-003", "write mapping keys as plain or quoted strings",
				"mapping key must be a scalar, got %s", kindOf(d, mv.Key))
			continue
		}
		entries = append(entries, entry{key: key, ktok: mv.Key.GetToken(), value: mv.Value})
	}
	for _, m := range merged {
		for _, e := range m {
			if !slices.ContainsFunc(entries, func(x entry) bool { return x.key == e.key }) {
				entries = append(entries, e)
			}
		}
	}
	return entries, true
}

func (d *decoder) mergeSources(mv *ast.MappingValueNode) [][]entry {
	var srcs []ast.Node
	if seq, isSeq := d.resolve(mv.Value).(*ast.SequenceNode); isSeq {
		srcs = seq.Values
	} else {
		srcs = []ast.Node{mv.Value}
	}
	var out [][]entry
	for _, s := range srcs {
		es, ok := d.mapping(s)
		if !ok {
			d.add(s.GetToken(), "CONTRACT-003", "merge (<<) only mappings, e.g. <<: *defaults",
				"merge key << needs a mapping or a list of mappings, got %s", kindOf(d, s))
			continue
		}
		out = append(out, es)
	}
	return out
}

// keyText returns the text of a scalar mapping key.
func keyText(k ast.Node) (string, bool) {
	switch x := k.(type) {
	case *ast.StringNode:
		return x.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return x.GetToken().Value, true
	case *ast.TagNode:
		if x.Value != nil {
			return keyText(x.Value)
		}
	}
	return "", false
}

// kindOf names the YAML kind of a node for messages.
func kindOf(d *decoder, n ast.Node) string {
	switch x := d.resolve(n).(type) {
	case nil, *ast.NullNode:
		return "null"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode:
		return "an integer"
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "a boolean"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.TagNode:
		if isStrTag(x) {
			return "a string"
		}
		return kindOf(d, x.Value)
	}
	return "an unsupported YAML node"
}

func isStrTag(t *ast.TagNode) bool {
	return t.Start != nil && (t.Start.Value == "!!str" || t.Start.Value == "tag:yaml.org,2002:str")
}

// isNull reports whether n is absent or null.
func (d *decoder) isNull(n ast.Node) bool {
	if n == nil {
		return true
	}
	_, null := d.resolve(n).(*ast.NullNode)
	return null
}

// str returns the string value of a scalar string node (plain, quoted, block, or
// tagged !!str).
func (d *decoder) str(n ast.Node) (string, bool) {
	switch x := d.resolve(n).(type) {
	case *ast.StringNode:
		return x.Value, true
	case *ast.LiteralNode:
		if x.Value != nil {
			return x.Value.Value, true
		}
	case *ast.TagNode:
		if isStrTag(x) && x.Value != nil {
			if s, ok := d.str(x.Value); ok {
				return s, true
			}
			if tok := d.resolve(x.Value).GetToken(); tok != nil {
				return tok.Value, true
			}
		}
	}
	return "", false
}

// field is the context of a typed value: where it sits in the document and
// which descriptor path it fills.
type field struct {
	e        entry
	name     string // dotted contract key path, for messages
	required bool
}

// wantString decodes a string field; a missing required value is CONTRACT-002,
// a value of another type CONTRACT-003.
func (d *decoder) wantString(f field) (string, bool) {
	if d.isNull(f.e.value) {
		if f.required {
			d.add(f.e.ktok, "CONTRACT-002", "", "%s is empty: a value is required", f.name)
		} else {
			d.add(f.e.valueToken(), "CONTRACT-003", "remove the key to leave "+f.name+" out, or give it a string value",
				"%s must be a string, got null", f.name)
		}
		return "", false
	}
	s, ok := d.str(f.e.value)
	if !ok {
		d.add(f.e.valueToken(), "CONTRACT-003", quoteHint(d, f), "%s must be a string, got %s", f.name, kindOf(d, f.e.value))
	}
	return s, ok
}

func quoteHint(d *decoder, f field) string {
	switch d.resolve(f.e.value).(type) {
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return fmt.Sprintf("quote the value of %s so YAML reads it as a string, e.g. %q", f.name, f.e.value.GetToken().Value)
	}
	return "give " + f.name + " a string value"
}

// wantList decodes a list of strings, calling item for each string with its
// index and token.
func (d *decoder) wantList(f field, item func(i int, s string, tok *token.Token)) (present bool) {
	if d.isNull(f.e.value) {
		if f.required {
			d.add(f.e.ktok, "CONTRACT-002", "", "%s is empty: at least one value is required", f.name)
		} else {
			d.add(f.e.valueToken(), "CONTRACT-003", "remove the key to leave "+f.name+" out, or write [] for an empty list",
				"%s must be a list, got null", f.name)
		}
		return false
	}
	seq, ok := d.resolve(f.e.value).(*ast.SequenceNode)
	if !ok {
		d.add(f.e.valueToken(), "CONTRACT-003", "write "+f.name+" as a list, e.g. [a, b] or one `- item` per line",
			"%s must be a list, got %s", f.name, kindOf(d, f.e.value))
		return false
	}
	for i, v := range seq.Values {
		s, isStr := d.str(v)
		tok := v.GetToken()
		if d.isNull(v) && tok != nil && tok.Type == token.ImplicitNullType {
			tok = f.e.ktok
		}
		if !isStr {
			d.add(tok, "CONTRACT-003", "", "%s[%d] must be a string, got %s", f.name, i, kindOf(d, v))
			continue
		}
		item(i, s, tok)
	}
	return true
}

func (d *decoder) wantMapping(f field, keys []string) ([]entry, bool) {
	if d.isNull(f.e.value) {
		if f.required {
			d.add(f.e.ktok, "CONTRACT-002", "", "%s is empty: required are %s", f.name, strings.Join(keys, ", "))
		} else {
			d.add(f.e.valueToken(), "CONTRACT-003", "remove the key to leave "+f.name+" out, or give it a mapping",
				"%s must be a mapping, got null", f.name)
		}
		return nil, false
	}
	es, ok := d.mapping(f.e.value)
	if !ok {
		d.add(f.e.valueToken(), "CONTRACT-003", "write "+f.name+" as a mapping of "+strings.Join(keys, ", "),
			"%s must be a mapping, got %s", f.name, kindOf(d, f.e.value))
		return nil, false
	}
	return d.known(f.name, es, keys, nil), true
}

// known keeps the entries whose keys are in keys and reports the others:
// forbidden ones as CONTRACT-005, unknown ones as CONTRACT-004 with a
// did-you-mean among keys.
func (d *decoder) known(parent string, es []entry, keys, forbidden []string) []entry {
	out := es[:0:0]
	for _, e := range es {
		switch {
		case slices.Contains(keys, e.key):
			out = append(out, e)
		case slices.Contains(forbidden, e.key):
			d.add(e.ktok, "CONTRACT-005", "", "%s is a forbidden declaration: a contract declares what a handler is, never how work flows", e.key)
		default:
			where := "the contract"
			if parent != "" {
				where = parent
			}
			hint := "remove " + strconv.Quote(e.key) + "; " + where + " takes " + strings.Join(keys, ", ")
			msg := fmt.Sprintf("unknown field %q in %s", e.key, where)
			if s, ok := suggest.Closest(e.key, keys); ok {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
				hint = "rename " + strconv.Quote(e.key) + " to " + strconv.Quote(s) + ", or remove it"
			}
			ve := d.add(e.ktok, "CONTRACT-004", hint, "%s", msg)
			ve.Details = map[string]any{"field": joinPath(parent, e.key), "valid": slices.Clone(keys)}
		}
	}
	return out
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// vocab decodes a string field of a closed vocabulary.
func vocab[T any](d *decoder, f field, parse func(string) (T, error), valid []string) (T, bool) {
	var zero T
	s, ok := d.wantString(f)
	if !ok {
		return zero, false
	}
	v, err := parse(s)
	if err != nil {
		hint := "use one of: " + strings.Join(valid, ", ")
		msg := fmt.Sprintf("%s: %v", f.name, err)
		if c, ok := suggest.Closest(s, valid); ok {
			msg += fmt.Sprintf(" (did you mean %q?)", c)
		}
		d.add(f.e.valueToken(), "CONTRACT-003", hint, "%s", msg)
		return zero, false
	}
	return v, true
}

func names[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// startToken is the first token of a document body: its first key for a
// mapping.
func startToken(body ast.Node) *token.Token {
	switch x := body.(type) {
	case *ast.MappingNode:
		if len(x.Values) > 0 && x.Values[0].Key != nil {
			return x.Values[0].Key.GetToken()
		}
	case *ast.MappingValueNode:
		if x.Key != nil {
			return x.Key.GetToken()
		}
	}
	return body.GetToken()
}

func (d *decoder) decodeTop(body ast.Node) *Contract {
	c := &Contract{Path: d.path, Locations: d.locs}
	start := startToken(body)
	d.locs[""] = location(start)
	top, ok := d.mapping(body)
	if !ok {
		d.add(start, "CONTRACT-003", "start from `onex contract init`, which writes a complete contract",
			"a contract must be a mapping of fields, got %s", kindOf(d, body))
		return nil
	}
	top = d.known("", top, topKeys, forbiddenKeys)
	have := map[string]bool{}
	var impl *entry
	for _, e := range top {
		have[e.key] = true
		f := field{e: e, name: e.key}
		switch e.key {
		case "contract_version":
			f.required = true
			if s, ok := d.wantString(f); ok {
				if major, valid := handler.VersionMajor(s); !valid {
					d.add(e.valueToken(), "CONTRACT-006", "", "contract_version %q is not a semantic version (MAJOR.MINOR.PATCH)", s)
				} else if major != SupportedMajor {
					d.add(e.valueToken(), "CONTRACT-006", fmt.Sprintf("write contract_version with major %d, e.g. \"1.0.0\"; this onex reads contract format %d.x", SupportedMajor, SupportedMajor),
						"contract_version %q has major %d: this onex reads major %d", s, major, SupportedMajor)
				}
				c.ContractVersion = s
			}
		case "handler_identity":
			f.required = true
			d.decodeIdentity(c, f)
		case "description":
			d.locs["description"] = e.pos()
			c.Description, _ = d.wantString(f)
		case "handler_type":
			f.required = true
			d.locs["handler_type"] = e.pos()
			c.Type, _ = vocab(d, f, handler.ParseHandlerType, handlerTypeNames)
		case "handler_type_category":
			f.required = true
			d.locs["handler_type_category"] = e.pos()
			c.Category, _ = vocab(d, f, handler.ParseCategory, categoryNames)
		case "is_adapter":
			d.locs["is_adapter"] = e.pos()
			b, isBool := d.resolve(e.value).(*ast.BoolNode)
			if !isBool {
				d.add(e.valueToken(), "CONTRACT-003", "write is_adapter: true or is_adapter: false", "is_adapter must be a boolean, got %s", kindOf(d, e.value))
			} else {
				c.IsAdapter = b.Value
			}
		case "capabilities":
			d.locs["capabilities"] = e.pos()
			c.Capabilities = []handler.Capability{}
			d.wantList(f, func(i int, s string, tok *token.Token) {
				d.locs[index("capabilities", i)] = location(tok)
				capability, err := handler.ParseCapability(s)
				if err != nil {
					msg := fmt.Sprintf("capabilities[%d]: %v", i, err)
					if x, ok := suggest.Closest(s, capabilityNames); ok {
						msg += fmt.Sprintf(" (did you mean %q?)", x)
					}
					d.add(tok, "CONTRACT-003", "use transform, validate, cache, retry, batch, stream, async, idempotent, or an extension x.<vendor>.<name>", "%s", msg)
					return
				}
				c.Capabilities = append(c.Capabilities, capability)
			})
		case "commands_accepted":
			f.required = true
			d.decodeCommands(c, f)
		case "implementation":
			impl = &e
		case "config":
			d.locs["config"] = e.pos()
			c.Config = d.decodeConfig(f)
		case "security":
			d.decodeSecurity(c, f)
		case "packaging":
			d.decodePackaging(c, f)
		}
	}
	d.decodeImplementation(c, impl, start)
	for _, k := range []string{"contract_version", "handler_identity", "handler_type", "handler_type_category", "commands_accepted"} {
		if !have[k] {
			d.add(start, "CONTRACT-002", missingHint(k), "required field %s is missing", k)
		}
	}
	return c
}

func missingHint(key string) string {
	switch key {
	case "contract_version":
		return `add contract_version: "1.0.0"`
	case "handler_identity":
		return "add handler_identity with a name and a version, e.g. {name: partner-api, version: \"1.0.0\"}"
	case "handler_type":
		return "add handler_type: one of infra_handler, node_handler, projection_handler, compute_handler"
	case "handler_type_category":
		return "add handler_type_category: compute, effect or nondeterministic_compute"
	case "commands_accepted":
		return "add commands_accepted with at least one <namespace>.<verb> operation"
	}
	return ""
}

func (d *decoder) decodeIdentity(c *Contract, f field) {
	es, ok := d.wantMapping(f, identityKeys)
	if !ok {
		return
	}
	var hasName, hasVersion bool
	for _, e := range es {
		sub := field{e: e, name: "handler_identity." + e.key, required: true}
		switch e.key {
		case "name":
			hasName = true
			d.locs["handler_name"] = e.pos()
			s, ok := d.wantString(sub)
			if !ok {
				continue
			}
			if s != "" {
				d.name = s
			}
			if !handler.ValidName(s) {
				d.add(e.valueToken(), "CONTRACT-003", "write the name in lowercase letters and digits, separated by single . _ or -, e.g. partner-api",
					"handler_identity.name %q does not match %s", s, handler.NamePattern)
				continue
			}
			c.Name = s
		case "version":
			hasVersion = true
			d.locs["handler_version"] = e.pos()
			s, ok := d.wantString(sub)
			if !ok {
				continue
			}
			if !handler.ValidVersion(s) {
				d.add(e.valueToken(), "CONTRACT-006", "", "handler_identity.version %q is not a semantic version (MAJOR.MINOR.PATCH)", s)
				continue
			}
			c.Version = s
		}
	}
	if !hasName {
		d.add(f.e.ktok, "CONTRACT-002", "add handler_identity.name, e.g. partner-api", "required field handler_identity.name is missing")
	}
	if !hasVersion {
		d.add(f.e.ktok, "CONTRACT-002", `add handler_identity.version, e.g. "1.0.0"`, "required field handler_identity.version is missing")
	}
}

func (d *decoder) decodeCommands(c *Contract, f field) {
	d.locs["commands_accepted"] = f.e.pos()
	seen := map[string]int{}
	n := 0
	present := d.wantList(f, func(i int, s string, tok *token.Token) {
		n++
		d.locs[index("commands_accepted", i)] = location(tok)
		cmd, err := handler.ParseCommand(s)
		if err != nil {
			d.add(tok, "CONTRACT-003", "write each command as <namespace>.<verb> in lowercase, e.g. orders.query", "commands_accepted[%d]: %v", i, err)
			return
		}
		if first, dup := seen[s]; dup {
			d.add(tok, "CONTRACT-003", "list each operation once in commands_accepted",
				"commands_accepted[%d]: command %q is already listed at commands_accepted[%d]", i, s, first)
			return
		}
		seen[s] = i
		c.Commands = append(c.Commands, cmd)
	})
	if present && n == 0 {
		if seq, ok := d.resolve(f.e.value).(*ast.SequenceNode); ok && len(seq.Values) == 0 {
			d.add(f.e.valueToken(), "CONTRACT-002", "list at least one operation, e.g. [orders.query]", "commands_accepted is empty: the handler would never be invoked")
		}
	}
}

func (d *decoder) decodeImplementation(c *Contract, impl *entry, start *token.Token) {
	const hint = "set exactly one of implementation.import_path (a factory compiled into this binary) or implementation.artifact_ref {uri, digest}"
	if impl == nil {
		d.add(start, "CONTRACT-013", hint, "implementation is missing: neither import_path nor artifact_ref is set")
		return
	}
	f := field{e: *impl, name: "implementation", required: true}
	d.locs["import_path"] = impl.pos()
	d.locs["artifact_ref"] = impl.pos()
	if d.isNull(impl.value) {
		d.add(impl.ktok, "CONTRACT-013", hint, "implementation is empty: neither import_path nor artifact_ref is set")
		return
	}
	es, ok := d.wantMapping(f, implementationKeys)
	if !ok {
		return
	}
	var imp, art *entry
	for i := range es {
		switch es[i].key {
		case "import_path":
			imp = &es[i]
		case "artifact_ref":
			art = &es[i]
		}
	}
	switch {
	case imp != nil && art != nil:
		d.add(art.ktok, "CONTRACT-013", hint, "implementation sets both import_path and artifact_ref")
	case imp == nil && art == nil:
		d.add(impl.ktok, "CONTRACT-013", hint, "implementation sets neither import_path nor artifact_ref")
	}
	if imp != nil {
		d.locs["import_path"] = imp.pos()
		if s, ok := d.wantString(field{e: *imp, name: "implementation.import_path", required: true}); ok {
			if !handler.ValidImportPath(s) {
				d.add(imp.valueToken(), "CONTRACT-003", "write import_path as a Go import path, e.g. github.com/onexhost/onex/handlers/httpout",
					"implementation.import_path %q is not an import path", s)
			} else {
				c.ImportPath = s
			}
		}
	}
	if art != nil {
		d.locs["artifact_ref"] = art.pos()
		aes, ok := d.wantMapping(field{e: *art, name: "implementation.artifact_ref", required: true}, artifactKeys)
		if !ok {
			return
		}
		ref := &handler.ArtifactRef{}
		var hasURI, hasDigest, good = false, false, true
		for _, e := range aes {
			sub := field{e: e, name: "implementation.artifact_ref." + e.key, required: true}
			switch e.key {
			case "uri":
				hasURI = true
				d.locs["artifact_ref.uri"] = e.pos()
				s, ok := d.wantString(sub)
				if ok && strings.TrimSpace(s) == "" {
					d.add(e.valueToken(), "CONTRACT-002", "", "implementation.artifact_ref.uri is empty")
					ok = false
				}
				good = good && ok
				ref.URI = s
			case "digest":
				hasDigest = true
				d.locs["artifact_ref.digest"] = e.pos()
				s, ok := d.wantString(sub)
				if ok && !handler.ValidDigest(s) {
					d.add(e.valueToken(), "CONTRACT-003", "pin the artifact by digest: sha256:<64 lowercase hex digits>",
						"implementation.artifact_ref.digest %q is not sha256:<64 lowercase hex>", s)
					ok = false
				}
				good = good && ok
				ref.Digest = s
			}
		}
		if !hasURI {
			d.add(art.ktok, "CONTRACT-002", "add artifact_ref.uri", "required field implementation.artifact_ref.uri is missing")
		}
		if !hasDigest {
			d.add(art.ktok, "CONTRACT-002", "add artifact_ref.digest: sha256:<64 hex>", "required field implementation.artifact_ref.digest is missing")
		}
		if good && hasURI && hasDigest {
			c.Artifact = ref
		}
	}
}

func (d *decoder) decodeSecurity(c *Contract, f field) {
	d.locs["security"] = f.e.pos()
	es, ok := d.wantMapping(f, securityKeys)
	if !ok {
		return
	}
	for _, e := range es {
		sub := field{e: e, name: "security." + e.key}
		path := "security." + e.key
		d.locs[path] = e.pos()
		switch e.key {
		case "secret_scopes", "allowed_domains":
			list := []string{}
			d.wantList(sub, func(i int, s string, tok *token.Token) {
				d.locs[index(path, i)] = location(tok)
				list = append(list, s)
			})
			if e.key == "secret_scopes" {
				c.Security.SecretScopes = list
			} else {
				c.Security.AllowedDomains = list
			}
		case "data_classification":
			c.Security.DataClassification, _ = vocab(d, sub, handler.ParseClassification, classificationNames)
		case "observability_level":
			c.Security.ObservabilityLevel, _ = vocab(d, sub, handler.ParseObservabilityLevel, observabilityNames)
		}
	}
}

// The wire values of the vocabularies, for messages and did-you-mean hints.
var (
	handlerTypeNames    = names(handler.HandlerTypes)
	categoryNames       = names(handler.Categories)
	capabilityNames     = names(handler.KnownCapabilities)
	observabilityNames  = names(handler.ObservabilityLevels)
	classificationNames = func() []string {
		out := make([]string, len(handler.Classifications))
		for i, c := range handler.Classifications {
			out[i] = c.String()
		}
		return out
	}()
)

// index renders path[i].
func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func (d *decoder) decodePackaging(c *Contract, f field) {
	d.locs["packaging"] = f.e.pos()
	es, ok := d.wantMapping(f, packagingKeys)
	if !ok {
		return
	}
	p := &handler.Packaging{}
	for _, e := range es {
		d.locs["packaging."+e.key] = e.pos()
		s, _ := d.wantString(field{e: e, name: "packaging." + e.key})
		switch e.key {
		case "module":
			p.Module = s
		case "module_version":
			p.ModuleVersion = s
		case "license":
			p.License = s
		}
	}
	c.Packaging = p
}

// decodeConfig converts the config mapping to a JSON object, keeping key order
// and recording the position of every key and item.
func (d *decoder) decodeConfig(f field) json.RawMessage {
	if d.isNull(f.e.value) {
		d.add(f.e.valueToken(), "CONTRACT-003", "remove the key to leave config out, or write config: {}", "config must be a mapping, got null")
		return nil
	}
	if _, ok := d.mapping(f.e.value); !ok {
		d.add(f.e.valueToken(), "CONTRACT-003", "write config as a mapping of the handler's keys", "config must be a mapping, got %s", kindOf(d, f.e.value))
		return nil
	}
	var buf bytes.Buffer
	if !d.jsonValue(&buf, f.e.value, "config", 0) {
		return nil
	}
	return buf.Bytes()
}

// jsonValue appends the JSON form of a YAML value. Values JSON cannot hold
// (.inf, .nan, unknown tags, non-scalar keys) are CONTRACT-003 at their position.
func (d *decoder) jsonValue(buf *bytes.Buffer, n ast.Node, path string, depth int) bool {
	if depth > MaxNesting {
		d.add(n.GetToken(), "CONTRACT-003", "flatten the config", "%s nests deeper than %d levels", path, MaxNesting)
		return false
	}
	switch x := d.resolve(n).(type) {
	case nil, *ast.NullNode:
		buf.WriteString("null")
	case *ast.StringNode, *ast.LiteralNode:
		s, _ := d.str(x)
		writeJSONString(buf, s)
	case *ast.IntegerNode:
		switch v := x.Value.(type) {
		case int64:
			buf.WriteString(strconv.FormatInt(v, 10))
		case uint64:
			buf.WriteString(strconv.FormatUint(v, 10))
		default:
			d.add(x.GetToken(), "CONTRACT-003", "quote the value to keep it as a string", "%s: integer %s cannot be represented", path, x.GetToken().Value)
			return false
		}
	case *ast.FloatNode:
		b, err := json.Marshal(x.Value)
		if err != nil {
			d.add(x.GetToken(), "CONTRACT-003", "quote the value to keep it as a string", "%s: number %s cannot be represented in JSON", path, x.GetToken().Value)
			return false
		}
		buf.Write(b)
	case *ast.InfinityNode, *ast.NanNode:
		d.add(x.GetToken(), "CONTRACT-003", "quote the value to keep it as a string", "%s: %s cannot be represented in JSON", path, x.GetToken().Value)
		return false
	case *ast.BoolNode:
		buf.WriteString(strconv.FormatBool(x.Value))
	case *ast.TagNode:
		if isStrTag(x) {
			s, _ := d.str(x)
			writeJSONString(buf, s)
			return true
		}
		if tag := x.Start; tag != nil && slices.Contains([]string{"!!map", "!!seq", "!!int", "!!float", "!!bool", "!!null"}, tag.Value) {
			return d.jsonValue(buf, x.Value, path, depth+1)
		}
		tag := ""
		if x.Start != nil {
			tag = x.Start.Value
		}
		d.add(x.GetToken(), "CONTRACT-003", "remove the tag; config holds plain YAML values", "%s: unsupported YAML tag %s", path, tag)
		return false
	case *ast.SequenceNode:
		buf.WriteByte('[')
		ok := true
		for i, v := range x.Values {
			if i > 0 {
				buf.WriteByte(',')
			}
			p := index(path, i)
			tok := v.GetToken()
			d.locs[p] = location(tok)
			ok = d.jsonValue(buf, v, p, depth+1) && ok
		}
		buf.WriteByte(']')
		return ok
	case *ast.MappingNode, *ast.MappingValueNode:
		es, _ := d.mapping(x)
		if ref, isRef := secretRef(es); isRef {
			return d.secretValue(buf, ref, path)
		}
		buf.WriteByte('{')
		ok := true
		for i, e := range es {
			if i > 0 {
				buf.WriteByte(',')
			}
			p := path + "." + e.key
			d.locs[p] = e.pos()
			writeJSONString(buf, e.key)
			buf.WriteByte(':')
			ok = d.jsonValue(buf, e.value, p, depth+1) && ok
		}
		buf.WriteByte('}')
		return ok
	default:
		d.add(n.GetToken(), "CONTRACT-003", "write config as plain YAML mappings, lists and scalars", "%s: unsupported YAML value", path)
		return false
	}
	return true
}

// secretRef reports whether a mapping is a secret reference: its only key is
// "secret".
func secretRef(es []entry) (entry, bool) {
	if len(es) == 1 && es[0].key == "secret" {
		return es[0], true
	}
	return entry{}, false
}

func (d *decoder) secretValue(buf *bytes.Buffer, e entry, path string) bool {
	const hint = `write a secret reference as {secret: "scope/key"}, with a scope declared in security.secret_scopes`
	s, ok := d.str(e.value)
	if !ok {
		d.add(e.valueToken(), "CONTRACT-003", hint, "%s: secret reference must be a \"scope/key\" string, got %s", path, kindOf(d, e.value))
		return false
	}
	if _, err := handler.ParseSecretRef(s); err != nil {
		d.add(e.valueToken(), "CONTRACT-003", hint, "%s: %v", path, err)
		return false
	}
	d.locs[path+".secret"] = e.pos()
	buf.WriteString(`{"secret":`)
	writeJSONString(buf, s)
	buf.WriteByte('}')
	return true
}

func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // a string always marshals
	buf.Write(b)
}
