package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v4"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/suggest"
	"github.com/onexhost/onex/internal/yamldoc"
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

	// keyPaths are the dotted paths of the nested keys, by prefix, in the
	// order of their keys: subPath looks them up instead of building them.
	keyPaths = func() map[string][]string {
		out := map[string][]string{}
		for prefix, keys := range map[string][]string{
			"handler_identity.": identityKeys, "implementation.artifact_ref.": artifactKeys,
			"security.": securityKeys, "packaging.": packagingKeys,
		} {
			for _, k := range keys {
				out[prefix] = append(out[prefix], prefix+k)
			}
		}
		return out
	}()

	// requiredKeys are the top-level keys every contract sets (implementation
	// too, reported as CONTRACT-013).
	requiredKeys = []string{"contract_version", "handler_identity", "handler_type", "handler_type_category", "commands_accepted"}
)

// Decode decodes one handler_contract.yaml document named path. It collects every
// problem, never stopping at the first, and returns the contract only when there
// is none. Every error is a *diag.ValidationError with the handler identity (the
// name, or unknown@<path>), source type contract, the file, line and column, and
// a remediation hint. Decode never panics on any input.
func Decode(path string, data []byte) (*Contract, []*diag.ValidationError) {
	d := decoders.Get().(*decoder)
	defer d.release()
	d.path, d.locs = path, make(map[string]handler.Location, 32)
	d.entries = d.buf[:0]
	c := d.decode(data)
	if errs := d.finish(d.errs...); len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

// decoders are reused from one Decode to the next: a discovery decodes
// thousands of contracts, and the entry buffer and config scratch of a
// decoder are the same for all of them.
var decoders = sync.Pool{New: func() any { return new(decoder) }}

// release returns d to the pool, holding on to nothing of the document.
func (d *decoder) release() {
	if d.config.Cap() > 64<<10 {
		d.config = bytes.Buffer{} // a huge config is not kept for the next
	}
	d.config.Reset()
	*d = decoder{config: d.config}
	decoders.Put(d)
}

// decoder walks the node tree of go.yaml.in/yaml, which keeps the line and
// column of every node, anchors as node attributes and aliases as pointers to
// the anchored node.
type decoder struct {
	path string
	name string // handler_identity.name once known, for HandlerIdentity
	errs []*diag.ValidationError
	locs map[string]handler.Location

	// entries holds the entries of the mappings decoded so far: each mapping
	// takes the next stretch, so a typical contract needs no other allocation
	// for them.
	entries []entry
	buf     [32]entry

	// config is where decodeConfig writes the config's JSON, copied out at
	// its size.
	config bytes.Buffer
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

func (d *decoder) add(at handler.Location, rule diag.RuleID, hint string, format string, args ...any) *diag.ValidationError {
	e := diag.New(rule, format, args...)
	e.FilePath = d.path
	e.Line, e.Column = max(at.Line, 1), max(at.Column, 1)
	if hint != "" {
		e.RemediationHint = hint
	}
	d.errs = append(d.errs, e)
	return e
}

// location is the position of a node.
func location(n *yaml.Node) handler.Location {
	if n == nil {
		return handler.Location{}
	}
	return handler.Location{Line: n.Line, Column: n.Column}
}

// load reads every document of data and returns the bodies of the first two
// that are not empty (a contract has one); a document the loader refuses is a
// CONTRACT-001, wherever it is in the file.
func (d *decoder) load(data []byte) (body, second *yaml.Node, ok bool) {
	body, second, err := yamldoc.Load(data, loadOptions)
	if err != nil {
		d.syntaxError(err)
		return nil, nil, false
	}
	return body, second, true
}

func (d *decoder) decode(data []byte) *Contract {
	body, second, ok := d.load(data)
	if !ok {
		return nil
	}
	if second != nil {
		d.add(startLocation(second), ruleid.ContractInvalidValue, "write one handler per handler_contract.yaml, in a single YAML document",
			"the file holds more than one YAML document")
		return nil
	}
	if body == nil {
		d.add(handler.Location{Line: 1, Column: 1}, ruleid.ContractMissingField, "",
			"the contract is empty: required are contract_version, handler_identity, handler_type, handler_type_category, commands_accepted and implementation")
		return nil
	}
	d.peekName(body)
	if !d.check(body) {
		return nil
	}
	return d.decodeTop(body)
}

// startLocation is where a document body starts: its first key for a plain
// mapping.
func startLocation(body *yaml.Node) handler.Location {
	if body.Kind == yaml.MappingNode && body.Anchor == "" && !explicitTag(body) && len(body.Content) > 0 {
		return location(body.Content[0])
	}
	return location(body)
}

// peekName reads handler_identity.name, when it is a plain string, before
// anything else is checked: errors that stop decoding early (duplicate keys,
// aliases) still carry the handler's identity, so a hybrid source never falls
// back to a built-in handler of that name.
func (d *decoder) peekName(body *yaml.Node) {
	if body.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(body.Content); i += 2 {
		if k := body.Content[i]; k.Kind != yaml.ScalarNode || k.Value != "handler_identity" {
			continue
		}
		id := body.Content[i+1]
		if id.Kind != yaml.MappingNode {
			return
		}
		for j := 0; j+1 < len(id.Content); j += 2 {
			k, v := id.Content[j], id.Content[j+1]
			if k.Kind == yaml.ScalarNode && k.Value == "name" && v.Kind == yaml.ScalarNode && v.Tag == "!!str" {
				d.name = v.Value
			}
		}
	}
}

// check looks at the whole tree before anything is decoded: a key set twice in
// one mapping is a syntax error (CONTRACT-001), and the nodes that aliases add
// when expanded are bounded (CONTRACT-014). It reports false when decoding
// must stop.
func (d *decoder) check(root *yaml.Node) bool {
	var aliases []*yaml.Node
	var dup *yaml.Node
	var first *yaml.Node
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if dup != nil {
			return
		}
		switch n.Kind {
		case yaml.AliasNode:
			aliases = append(aliases, n)
			return
		case yaml.MappingNode:
			if k, prev := yamldoc.DuplicateKey(n); k != nil {
				dup, first = k, prev
				return
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
	if dup != nil {
		d.add(location(dup), ruleid.ContractSyntax, "remove or rename one of the two keys: a mapping sets each key once",
			"YAML syntax error: mapping key %q is already defined at line %d, column %d", yamldoc.Resolve(dup).Value, first.Line, first.Column)
		return false
	}
	if len(aliases) == 0 {
		return true
	}
	// size is the node count of a subtree with aliases expanded, saturating just
	// over the bound; memoised per anchored node so that a bomb costs linear
	// time.
	const limit = MaxAliasExpansion + 1
	memo := map[*yaml.Node]int{}
	active := map[*yaml.Node]bool{}
	var recursive *yaml.Node
	var size func(n *yaml.Node) int
	size = func(n *yaml.Node) int {
		if n.Kind == yaml.AliasNode {
			a := n.Alias
			if a == nil {
				return 1
			}
			if active[a] {
				if recursive == nil {
					recursive = n
				}
				return limit
			}
			if s, done := memo[a]; done {
				return s
			}
			active[a] = true
			s := size(a)
			active[a] = false
			memo[a] = s
			return s
		}
		total := 1
		for _, c := range n.Content {
			total = min(total+size(c), limit)
		}
		return total
	}
	added := 0
	for _, al := range aliases {
		added = min(added+size(al), limit)
		if recursive != nil {
			d.add(location(recursive), ruleid.ContractAliasExpansion, "", "alias *%s refers to the node that contains it: its expansion never ends", recursive.Value)
			return false
		}
		if added > MaxAliasExpansion {
			d.add(location(al), ruleid.ContractAliasExpansion, "", "YAML aliases expand to more than %d nodes", MaxAliasExpansion)
			return false
		}
	}
	return true
}

// explicitTag reports whether the document tags n (!!str, !custom, ...)
// rather than leaving its type to YAML's resolution.
func explicitTag(n *yaml.Node) bool { return n.Style&yaml.TaggedStyle != 0 }

// unsupportedTag reports whether n carries an explicit tag outside the YAML
// core schema (or one that does not fit its kind): a value JSON cannot hold.
func unsupportedTag(n *yaml.Node) bool {
	if !explicitTag(n) {
		return false
	}
	switch n.Kind {
	case yaml.MappingNode:
		return n.Tag != "!!map"
	case yaml.SequenceNode:
		return n.Tag != "!!seq"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str", "!!int", "!!float", "!!bool", "!!null":
			return false
		}
	}
	return true
}

// isNull reports whether n is absent or null.
func isNull(n *yaml.Node) bool {
	r := yamldoc.Resolve(n)
	return r == nil || (r.Kind == yaml.ScalarNode && r.Tag == "!!null")
}

// str returns the string value of a scalar string node (plain, quoted, block, or
// tagged !!str). A plain scalar YAML reads as a timestamp is a string here.
func str(n *yaml.Node) (string, bool) {
	r := yamldoc.Resolve(n)
	if r == nil || r.Kind != yaml.ScalarNode {
		return "", false
	}
	if r.Tag == "!!str" || (r.Tag == "!!timestamp" && !explicitTag(r)) {
		return r.Value, true
	}
	return "", false
}

// entry is one key of a mapping, merge keys (<<) already applied.
type entry struct {
	key   string
	k     *yaml.Node // the key
	value *yaml.Node
}

// pos is the position of the key.
func (e entry) pos() handler.Location { return location(e.k) }

// valuePos is where an error about e's value points: the value, or the key
// when the value is implicit (key: with nothing after it).
func (e entry) valuePos() handler.Location {
	if e.value == nil || yamldoc.ImplicitNull(e.value) {
		return e.pos()
	}
	return location(e.value)
}

// mapping returns the entries of a mapping node, or ok=false when n is not one.
// Merge keys (<<: *anchor or <<: [*a, *b]) add the keys of the merged mappings
// that the mapping does not set itself; earlier merged mappings win.
func (d *decoder) mapping(n *yaml.Node) (entries []entry, ok bool) {
	m := yamldoc.Resolve(n)
	if m == nil || m.Kind != yaml.MappingNode || unsupportedTag(m) {
		return nil, false
	}
	var merges []*yaml.Node
	start := len(d.entries)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		key, ok := yamldoc.KeyText(k)
		if !ok {
			d.add(location(k), ruleid.ContractInvalidValue, "write mapping keys as plain or quoted strings",
				"mapping key must be a scalar, got %s", kindOf(k))
			continue
		}
		d.entries = append(d.entries, entry{key: key, k: k, value: v})
	}
	// The stretch of this mapping ends here: the capacity limit keeps appends
	// to it (merged keys below) from overwriting the next mapping's.
	entries = d.entries[start:len(d.entries):len(d.entries)]
	if len(merges) == 0 {
		return entries, true
	}
	var merged [][]entry
	for _, v := range merges {
		merged = append(merged, d.mergeSources(v)...)
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

func (d *decoder) mergeSources(v *yaml.Node) [][]entry {
	srcs := []*yaml.Node{v}
	if seq := yamldoc.Resolve(v); seq != nil && seq.Kind == yaml.SequenceNode && !unsupportedTag(seq) {
		srcs = seq.Content
	}
	var out [][]entry
	for _, s := range srcs {
		es, ok := d.mapping(s)
		if !ok {
			d.add(location(s), ruleid.ContractInvalidValue, "merge (<<) only mappings, e.g. <<: *defaults",
				"merge key << needs a mapping or a list of mappings, got %s", kindOf(s))
			continue
		}
		out = append(out, es)
	}
	return out
}

// kindOf names the YAML kind of a node for messages.
func kindOf(n *yaml.Node) string {
	r := yamldoc.Resolve(n)
	if r == nil {
		return "null"
	}
	if unsupportedTag(r) {
		return "a value tagged " + r.Tag
	}
	switch r.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch r.Tag {
		case "!!null":
			return "null"
		case "!!str", "!!timestamp":
			return "a string"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		}
	}
	return "an unsupported YAML node"
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
	if isNull(f.e.value) {
		if f.required {
			d.add(f.e.pos(), ruleid.ContractMissingField, "", "%s is empty: a value is required", f.name)
		} else {
			d.add(f.e.valuePos(), ruleid.ContractInvalidValue, "remove the key to leave "+f.name+" out, or give it a string value",
				"%s must be a string, got null", f.name)
		}
		return "", false
	}
	s, ok := str(f.e.value)
	if !ok {
		d.add(f.e.valuePos(), ruleid.ContractInvalidValue, quoteHint(f), "%s must be a string, got %s", f.name, kindOf(f.e.value))
	}
	return s, ok
}

func quoteHint(f field) string {
	if r := yamldoc.Resolve(f.e.value); r.Kind == yaml.ScalarNode && !unsupportedTag(r) {
		switch r.Tag {
		case "!!int", "!!float", "!!bool":
			return fmt.Sprintf("quote the value of %s so YAML reads it as a string, e.g. %q", f.name, r.Value)
		}
	}
	return "give " + f.name + " a string value"
}

// seqLen is the length of a list, 0 for anything else: the capacity to give
// the slice a list decodes to.
func seqLen(n *yaml.Node) int {
	if r := yamldoc.Resolve(n); r != nil && r.Kind == yaml.SequenceNode {
		return len(r.Content)
	}
	return 0
}

// wantList decodes a list of strings, calling item for each string with its
// index and position.
func (d *decoder) wantList(f field, item func(i int, s string, at handler.Location)) (present bool) {
	if isNull(f.e.value) {
		if f.required {
			d.add(f.e.pos(), ruleid.ContractMissingField, "", "%s is empty: at least one value is required", f.name)
		} else {
			d.add(f.e.valuePos(), ruleid.ContractInvalidValue, "remove the key to leave "+f.name+" out, or write [] for an empty list",
				"%s must be a list, got null", f.name)
		}
		return false
	}
	seq := yamldoc.Resolve(f.e.value)
	if seq.Kind != yaml.SequenceNode || unsupportedTag(seq) {
		d.add(f.e.valuePos(), ruleid.ContractInvalidValue, "write "+f.name+" as a list, e.g. [a, b] or one `- item` per line",
			"%s must be a list, got %s", f.name, kindOf(f.e.value))
		return false
	}
	for i, v := range seq.Content {
		at := location(v)
		if yamldoc.ImplicitNull(v) {
			at = f.e.pos()
		}
		s, isStr := str(v)
		if !isStr {
			d.add(at, ruleid.ContractInvalidValue, "", "%s[%d] must be a string, got %s", f.name, i, kindOf(v))
			continue
		}
		item(i, s, at)
	}
	return true
}

func (d *decoder) wantMapping(f field, keys []string) ([]entry, bool) {
	if isNull(f.e.value) {
		if f.required {
			d.add(f.e.pos(), ruleid.ContractMissingField, "", "%s is empty: required are %s", f.name, strings.Join(keys, ", "))
		} else {
			d.add(f.e.valuePos(), ruleid.ContractInvalidValue, "remove the key to leave "+f.name+" out, or give it a mapping",
				"%s must be a mapping, got null", f.name)
		}
		return nil, false
	}
	es, ok := d.mapping(f.e.value)
	if !ok {
		d.add(f.e.valuePos(), ruleid.ContractInvalidValue, "write "+f.name+" as a mapping of "+strings.Join(keys, ", "),
			"%s must be a mapping, got %s", f.name, kindOf(f.e.value))
		return nil, false
	}
	return d.known(f.name, es, keys, nil), true
}

// known keeps the entries whose keys are in keys and reports the others:
// forbidden ones as CONTRACT-005, unknown ones as CONTRACT-004 with a
// did-you-mean among keys. It filters es in place.
func (d *decoder) known(parent string, es []entry, keys, forbidden []string) []entry {
	out := es[:0]
	for _, e := range es {
		switch {
		case slices.Contains(keys, e.key):
			out = append(out, e)
		case slices.Contains(forbidden, e.key):
			d.add(e.pos(), ruleid.ContractForbiddenDeclaration, "", "%s is a forbidden declaration: a contract declares what a handler is, never how work flows", e.key)
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
			ve := d.add(e.pos(), ruleid.ContractUnknownField, hint, "%s", msg)
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
		d.add(f.e.valuePos(), ruleid.ContractInvalidValue, hint, "%s", msg)
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

func (d *decoder) decodeTop(body *yaml.Node) *Contract {
	c := &Contract{Path: d.path, Locations: d.locs}
	start := startLocation(body)
	d.locs[""] = start
	top, ok := d.mapping(body)
	if !ok {
		d.add(start, ruleid.ContractInvalidValue, "start from `onex contract init`, which writes a complete contract",
			"a contract must be a mapping of fields, got %s", kindOf(body))
		return nil
	}
	top = d.known("", top, topKeys, forbiddenKeys)
	var impl *entry
	for i, e := range top {
		f := field{e: e, name: e.key}
		switch e.key {
		case "contract_version":
			f.required = true
			if s, ok := d.wantString(f); ok {
				if major, valid := handler.VersionMajor(s); !valid {
					d.add(e.valuePos(), ruleid.ContractVersion, "", "contract_version %q is not a semantic version (MAJOR.MINOR.PATCH)", s)
				} else if major != SupportedMajor {
					d.add(e.valuePos(), ruleid.ContractVersion, fmt.Sprintf("write contract_version with major %d, e.g. \"1.0.0\"; this onex reads contract format %d.x", SupportedMajor, SupportedMajor),
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
			b, isBool := boolValue(e.value)
			if !isBool {
				d.add(e.valuePos(), ruleid.ContractInvalidValue, "write is_adapter: true or is_adapter: false", "is_adapter must be a boolean, got %s", kindOf(e.value))
			} else {
				c.IsAdapter = b
			}
		case "capabilities":
			d.locs["capabilities"] = e.pos()
			c.Capabilities = make([]handler.Capability, 0, seqLen(e.value))
			d.wantList(f, func(i int, s string, at handler.Location) {
				d.locs[index("capabilities", i)] = at
				capability, err := handler.ParseCapability(s)
				if err != nil {
					msg := fmt.Sprintf("capabilities[%d]: %v", i, err)
					if x, ok := suggest.Closest(s, capabilityNames); ok {
						msg += fmt.Sprintf(" (did you mean %q?)", x)
					}
					d.add(at, ruleid.ContractInvalidValue, "use transform, validate, cache, retry, batch, stream, async, idempotent, or an extension x.<vendor>.<name>", "%s", msg)
					return
				}
				c.Capabilities = append(c.Capabilities, capability)
			})
		case "commands_accepted":
			f.required = true
			d.decodeCommands(c, f)
		case "implementation":
			impl = &top[i]
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
	for _, k := range requiredKeys {
		if !slices.ContainsFunc(top, func(e entry) bool { return e.key == k }) {
			d.add(start, ruleid.ContractMissingField, missingHint(k), "required field %s is missing", k)
		}
	}
	return c
}

// boolValue returns the value of a boolean node.
func boolValue(n *yaml.Node) (value, ok bool) {
	r := yamldoc.Resolve(n)
	if r == nil || r.Kind != yaml.ScalarNode || r.Tag != "!!bool" {
		return false, false
	}
	if !explicitTag(r) { // resolved by YAML: true, True, TRUE, false, False, FALSE
		return r.Value[0] == 't' || r.Value[0] == 'T', true
	}
	if err := r.Decode(&value); err != nil {
		return false, false
	}
	return value, true
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
		sub := field{e: e, name: subPath("handler_identity.", identityKeys, e.key), required: true}
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
				d.add(e.valuePos(), ruleid.ContractInvalidValue, "write the name in lowercase letters and digits, separated by single . _ or -, e.g. partner-api",
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
				d.add(e.valuePos(), ruleid.ContractVersion, "", "handler_identity.version %q is not a semantic version (MAJOR.MINOR.PATCH)", s)
				continue
			}
			c.Version = s
		}
	}
	if !hasName {
		d.add(f.e.pos(), ruleid.ContractMissingField, "add handler_identity.name, e.g. partner-api", "required field handler_identity.name is missing")
	}
	if !hasVersion {
		d.add(f.e.pos(), ruleid.ContractMissingField, `add handler_identity.version, e.g. "1.0.0"`, "required field handler_identity.version is missing")
	}
}

func (d *decoder) decodeCommands(c *Contract, f field) {
	d.locs["commands_accepted"] = f.e.pos()
	n := 0
	c.Commands = make([]handler.Command, 0, seqLen(f.e.value))
	listedAt := make([]int, 0, cap(c.Commands)) // the index in the list of each command of c.Commands
	present := d.wantList(f, func(i int, s string, at handler.Location) {
		n++
		d.locs[index("commands_accepted", i)] = at
		cmd, err := handler.ParseCommand(s)
		if err != nil {
			d.add(at, ruleid.ContractInvalidValue, "write each command as <namespace>.<verb> in lowercase, e.g. orders.query", "commands_accepted[%d]: %v", i, err)
			return
		}
		if first := slices.Index(c.Commands, cmd); first >= 0 {
			d.add(at, ruleid.ContractInvalidValue, "list each operation once in commands_accepted",
				"commands_accepted[%d]: command %q is already listed at commands_accepted[%d]", i, s, listedAt[first])
			return
		}
		c.Commands = append(c.Commands, cmd)
		listedAt = append(listedAt, i)
	})
	if present && n == 0 {
		if seq := yamldoc.Resolve(f.e.value); seq.Kind == yaml.SequenceNode && len(seq.Content) == 0 {
			d.add(f.e.valuePos(), ruleid.ContractMissingField, "list at least one operation, e.g. [orders.query]", "commands_accepted is empty: the handler would never be invoked")
		}
	}
}

func (d *decoder) decodeImplementation(c *Contract, impl *entry, start handler.Location) {
	const hint = "set exactly one of implementation.import_path (a factory compiled into this binary) or implementation.artifact_ref {uri, digest}"
	if impl == nil {
		d.add(start, ruleid.ContractImplementation, hint, "implementation is missing: neither import_path nor artifact_ref is set")
		return
	}
	f := field{e: *impl, name: "implementation", required: true}
	d.locs["import_path"] = impl.pos()
	d.locs["artifact_ref"] = impl.pos()
	if isNull(impl.value) {
		d.add(impl.pos(), ruleid.ContractImplementation, hint, "implementation is empty: neither import_path nor artifact_ref is set")
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
		d.add(art.pos(), ruleid.ContractImplementation, hint, "implementation sets both import_path and artifact_ref")
	case imp == nil && art == nil:
		d.add(impl.pos(), ruleid.ContractImplementation, hint, "implementation sets neither import_path nor artifact_ref")
	}
	if imp != nil {
		d.locs["import_path"] = imp.pos()
		if s, ok := d.wantString(field{e: *imp, name: "implementation.import_path", required: true}); ok {
			if !handler.ValidImportPath(s) {
				d.add(imp.valuePos(), ruleid.ContractInvalidValue, "write import_path as a Go import path, e.g. github.com/onexhost/onex/handlers/httpout",
					"implementation.import_path %q is not an import path", s)
			} else {
				c.ImportPath = s
			}
		}
	}
	if art != nil {
		d.locs["artifact_ref"] = art.pos()
		d.decodeArtifact(c, *art)
	}
}

func (d *decoder) decodeArtifact(c *Contract, art entry) {
	aes, ok := d.wantMapping(field{e: art, name: "implementation.artifact_ref", required: true}, artifactKeys)
	if !ok {
		return
	}
	ref := &handler.ArtifactRef{}
	var hasURI, hasDigest, good = false, false, true
	for _, e := range aes {
		sub := field{e: e, name: subPath("implementation.artifact_ref.", artifactKeys, e.key), required: true}
		switch e.key {
		case "uri":
			hasURI = true
			d.locs["artifact_ref.uri"] = e.pos()
			s, ok := d.wantString(sub)
			if ok && strings.TrimSpace(s) == "" {
				d.add(e.valuePos(), ruleid.ContractMissingField, "", "implementation.artifact_ref.uri is empty")
				ok = false
			}
			good = good && ok
			ref.URI = s
		case "digest":
			hasDigest = true
			d.locs["artifact_ref.digest"] = e.pos()
			s, ok := d.wantString(sub)
			if ok && !handler.ValidDigest(s) {
				d.add(e.valuePos(), ruleid.ContractInvalidValue, "pin the artifact by digest: sha256:<64 lowercase hex digits>",
					"implementation.artifact_ref.digest %q is not sha256:<64 lowercase hex>", s)
				ok = false
			}
			good = good && ok
			ref.Digest = s
		}
	}
	if !hasURI {
		d.add(art.pos(), ruleid.ContractMissingField, "add artifact_ref.uri", "required field implementation.artifact_ref.uri is missing")
	}
	if !hasDigest {
		d.add(art.pos(), ruleid.ContractMissingField, "add artifact_ref.digest: sha256:<64 hex>", "required field implementation.artifact_ref.digest is missing")
	}
	if good && hasURI && hasDigest {
		c.Artifact = ref
	}
}

func (d *decoder) decodeSecurity(c *Contract, f field) {
	d.locs["security"] = f.e.pos()
	es, ok := d.wantMapping(f, securityKeys)
	if !ok {
		return
	}
	for _, e := range es {
		path := subPath("security.", securityKeys, e.key)
		sub := field{e: e, name: path}
		d.locs[path] = e.pos()
		switch e.key {
		case "secret_scopes", "allowed_domains":
			list := make([]string, 0, seqLen(e.value))
			d.wantList(sub, func(i int, s string, at handler.Location) {
				d.locs[index(path, i)] = at
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

// subPath renders prefix+key for a key of keys, the known keys under prefix.
func subPath(prefix string, keys []string, key string) string {
	if i := slices.Index(keys, key); i >= 0 {
		return keyPaths[prefix][i]
	}
	return prefix + key
}

// index renders path[i].
func index(path string, i int) string {
	if i < len(listPaths[0].items) {
		for _, l := range listPaths {
			if l.path == path {
				return l.items[i]
			}
		}
	}
	return path + "[" + strconv.Itoa(i) + "]"
}

// listPaths are the rendered first items of the lists of the format, so that
// locating them allocates nothing.
var listPaths = func() []struct {
	path  string
	items [8]string
} {
	paths := []string{"capabilities", "commands_accepted", "security.secret_scopes", "security.allowed_domains"}
	out := make([]struct {
		path  string
		items [8]string
	}, len(paths))
	for i, p := range paths {
		out[i].path = p
		for j := range out[i].items {
			out[i].items[j] = p + "[" + strconv.Itoa(j) + "]"
		}
	}
	return out
}()

func (d *decoder) decodePackaging(c *Contract, f field) {
	d.locs["packaging"] = f.e.pos()
	es, ok := d.wantMapping(f, packagingKeys)
	if !ok {
		return
	}
	p := &handler.Packaging{}
	for _, e := range es {
		path := subPath("packaging.", packagingKeys, e.key)
		d.locs[path] = e.pos()
		s, _ := d.wantString(field{e: e, name: path})
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
	if isNull(f.e.value) {
		d.add(f.e.valuePos(), ruleid.ContractInvalidValue, "remove the key to leave config out, or write config: {}", "config must be a mapping, got null")
		return nil
	}
	if m := yamldoc.Resolve(f.e.value); m.Kind != yaml.MappingNode || unsupportedTag(m) {
		d.add(f.e.valuePos(), ruleid.ContractInvalidValue, "write config as a mapping of the handler's keys", "config must be a mapping, got %s", kindOf(f.e.value))
		return nil
	}
	buf := &d.config
	buf.Reset()
	if !d.jsonValue(buf, f.e.value, "config", 0) {
		return nil
	}
	return bytes.Clone(buf.Bytes())
}

// jsonValue appends the JSON form of a YAML value. Values JSON cannot hold
// (.inf, .nan, unknown tags, non-scalar keys) are CONTRACT-003 at their position.
func (d *decoder) jsonValue(buf *bytes.Buffer, n *yaml.Node, path string, depth int) bool {
	if depth > MaxNesting {
		d.add(location(n), ruleid.ContractInvalidValue, "flatten the config", "%s nests deeper than %d levels", path, MaxNesting)
		return false
	}
	x := yamldoc.Resolve(n)
	if x == nil {
		buf.WriteString("null")
		return true
	}
	if unsupportedTag(x) {
		d.add(location(x), ruleid.ContractInvalidValue, "remove the tag; config holds plain YAML values", "%s: unsupported YAML tag %s", path, x.Tag)
		return false
	}
	switch x.Kind {
	case yaml.ScalarNode:
		return d.jsonScalar(buf, x, path)
	case yaml.SequenceNode:
		buf.WriteByte('[')
		ok := true
		for i, v := range x.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			p := index(path, i)
			d.locs[p] = location(v)
			ok = d.jsonValue(buf, v, p, depth+1) && ok
		}
		buf.WriteByte(']')
		return ok
	case yaml.MappingNode:
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
	}
	d.add(location(x), ruleid.ContractInvalidValue, "write config as plain YAML mappings, lists and scalars", "%s: unsupported YAML value", path)
	return false
}

// jsonScalar appends the JSON form of a scalar: strings as they are, numbers
// and booleans as YAML reads them.
func (d *decoder) jsonScalar(buf *bytes.Buffer, x *yaml.Node, path string) bool {
	switch x.Tag {
	case "!!null":
		buf.WriteString("null")
		return true
	case "!!str", "!!timestamp":
		writeJSONString(buf, x.Value)
		return true
	case "!!bool":
		b, ok := boolValue(x)
		if !ok {
			d.add(location(x), ruleid.ContractInvalidValue, "quote the value to keep it as a string", "%s: %s is not a boolean", path, x.Value)
			return false
		}
		buf.WriteString(strconv.FormatBool(b))
		return true
	}
	var v any
	if err := x.Decode(&v); err != nil {
		d.add(location(x), ruleid.ContractInvalidValue, "quote the value to keep it as a string", "%s: %q is not a valid %s", path, x.Value, x.Tag)
		return false
	}
	b, err := json.Marshal(v)
	if err != nil {
		d.add(location(x), ruleid.ContractInvalidValue, "quote the value to keep it as a string", "%s: %s cannot be represented in JSON", path, x.Value)
		return false
	}
	buf.Write(b)
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
	s, ok := str(e.value)
	if !ok {
		d.add(e.valuePos(), ruleid.ContractInvalidValue, hint, "%s: secret reference must be a \"scope/key\" string, got %s", path, kindOf(e.value))
		return false
	}
	if _, err := handler.ParseSecretRef(s); err != nil {
		d.add(e.valuePos(), ruleid.ContractInvalidValue, hint, "%s: %v", path, err)
		return false
	}
	d.locs[path+".secret"] = e.pos()
	buf.WriteString(`{"secret":`)
	writeJSONString(buf, s)
	buf.WriteByte('}')
	return true
}

// writeJSONString appends s as encoding/json writes a string.
func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // a string always marshals
	buf.Write(b)
}
