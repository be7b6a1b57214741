package contract

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
)

// minimal is the smallest valid contract; cases below vary it.
const minimal = `contract_version: "1.0.0"
handler_identity:
  name: orders
  version: "1.2.0"
handler_type: infra_handler
handler_type_category: effect
commands_accepted: [orders.query]
implementation:
  import_path: example.com/test/echo
`

// at is an expected diagnostic: rule, line, column.
type at struct {
	rule      diag.RuleID
	line, col int
}

func (a at) String() string { return fmt.Sprintf("%s@%d:%d", a.rule, a.line, a.col) }

var decodeCases = []struct {
	name string
	doc  string
	want []at // nil: decodes clean
}{
	{"minimal", minimal, nil},
	{"full example of the spec", specExample, nil},
	{"syntax error", "contract_version: \"1.0.0\nhandler_identity: [\n", []at{{"CONTRACT-001", 1, 19}}},
	{"tab indentation", "handler_identity:\n\tname: x\n", []at{{"CONTRACT-001", 2, 1}}},
	{"duplicate key", minimal + "handler_type: node_handler\n", []at{{"CONTRACT-001", 10, 1}}},
	{"undefined alias", minimal + "description: *nope\n", []at{{"CONTRACT-001", 10, 14}}},
	{"deep flow nesting", "config: " + strings.Repeat("[", MaxNesting+1) + strings.Repeat("]", MaxNesting+1) + "\n", []at{{"CONTRACT-001", 1, 9 + MaxNesting}}},
	// A block sequence cannot start on the line of its key: the first - is
	// the mistake, however many follow.
	{"block entries on the line of their key", "config:\n  a: " + strings.Repeat("- ", MaxNesting+1) + "x\n", []at{{"CONTRACT-001", 2, 6}}},
	// Compact block sequences, one in the other on one line: the collection
	// past the bound (after the contract's mapping and config's) is refused.
	{"many block entries on a line", minimal + "config:\n  a:\n    " + strings.Repeat("- ", MaxNesting) + "x\n", []at{{"CONTRACT-001", 12, 5 + 2*(MaxNesting-2)}}},
	{"compact block entries within the bound", minimal + "config:\n  a:\n    " + strings.Repeat("- ", MaxNesting-2) + "x\n", nil},
	{"two documents", minimal + "---\n" + minimal, []at{{"CONTRACT-003", 11, 1}}},
	{"empty file", "", []at{{"CONTRACT-002", 1, 1}}},
	{"comment only", "# nothing here\n", []at{{"CONTRACT-002", 1, 1}}},
	{"not a mapping", "- a\n- b\n", []at{{"CONTRACT-003", 1, 1}}},
	{"required fields missing", "description: nothing else\n", []at{
		{"CONTRACT-002", 1, 1}, {"CONTRACT-002", 1, 1}, {"CONTRACT-002", 1, 1}, {"CONTRACT-002", 1, 1}, {"CONTRACT-002", 1, 1}, {"CONTRACT-013", 1, 1},
	}},
	{"identity fields missing", strings.Replace(minimal, "  name: orders\n  version: \"1.2.0\"\n", "  {}\n", 1), []at{{"CONTRACT-002", 2, 1}, {"CONTRACT-002", 2, 1}}},
	{"empty name", strings.Replace(minimal, "name: orders", "name:", 1), []at{{"CONTRACT-002", 3, 3}}},
	{"malformed name", strings.Replace(minimal, "name: orders", "name: Orders API", 1), []at{{"CONTRACT-003", 3, 9}}},
	{"name of the wrong type", strings.Replace(minimal, "name: orders", "name: [orders]", 1), []at{{"CONTRACT-003", 3, 9}}},
	{"unknown handler_type", strings.Replace(minimal, "infra_handler", "infra_handlr", 1), []at{{"CONTRACT-003", 5, 15}}},
	{"unknown category", strings.Replace(minimal, "category: effect", "category: adapter", 1), []at{{"CONTRACT-003", 6, 24}}},
	{"is_adapter as a string", minimal + "is_adapter: \"yes\"\n", []at{{"CONTRACT-003", 10, 13}}},
	{"unknown capability", minimal + "capabilities: [retry, teleport]\n", []at{{"CONTRACT-003", 10, 23}}},
	{"capabilities not a list", minimal + "capabilities: retry\n", []at{{"CONTRACT-003", 10, 15}}},
	{"malformed command", strings.Replace(minimal, "[orders.query]", "[orders.query, Orders]", 1), []at{{"CONTRACT-003", 7, 35}}},
	{"command listed twice", strings.Replace(minimal, "[orders.query]", "[orders.query, orders.query]", 1), []at{{"CONTRACT-003", 7, 35}}},
	{"no commands", strings.Replace(minimal, "[orders.query]", "[]", 1), []at{{"CONTRACT-002", 7, 20}}},
	{"commands null", strings.Replace(minimal, " [orders.query]", "", 1), []at{{"CONTRACT-002", 7, 1}}},
	{"command of the wrong type", strings.Replace(minimal, "[orders.query]", "[orders.query, 7]", 1), []at{{"CONTRACT-003", 7, 35}}},
	{"quoted keys", strings.NewReplacer("handler_type:", `"handler_type":`, "  name:", "  'name':").Replace(minimal), nil},
	{"unknown field with suggestion", minimal + "descripton: x\n", []at{{"CONTRACT-004", 10, 1}}},
	{"unknown quoted field", minimal + `"descripton": x` + "\n", []at{{"CONTRACT-004", 10, 1}}},
	{"unknown field without suggestion", minimal + "colour: red\n", []at{{"CONTRACT-004", 10, 1}}},
	{"unknown nested field", strings.Replace(minimal, "  version: \"1.2.0\"\n", "  version: \"1.2.0\"\n  verison: x\n", 1), []at{{"CONTRACT-004", 5, 3}}},
	{"unknown security field", minimal + "security:\n  allowed_domain: [a.example]\n", []at{{"CONTRACT-004", 11, 3}}},
	{"execution graph", minimal + "execution_graph:\n  nodes: [a, b]\n", []at{{"CONTRACT-005", 10, 1}}},
	{"dispatch rules", minimal + "dispatch_rules: []\n", []at{{"CONTRACT-005", 10, 1}}},
	{"publish declarations", minimal + "publish_declarations: [x]\npublishes: [y]\ntopics: [z]\n", []at{{"CONTRACT-005", 10, 1}, {"CONTRACT-005", 11, 1}, {"CONTRACT-005", 12, 1}}},
	{"contract_version major 2", strings.Replace(minimal, `"1.0.0"`, `"2.0.0"`, 1), []at{{"CONTRACT-006", 1, 19}}},
	{"contract_version not semver", strings.Replace(minimal, `"1.0.0"`, `"1.0"`, 1), []at{{"CONTRACT-006", 1, 19}}},
	{"contract_version as a number", strings.Replace(minimal, `"1.0.0"`, `1.0`, 1), []at{{"CONTRACT-003", 1, 19}}},
	{"handler version with v", strings.Replace(minimal, `"1.2.0"`, `v1.2.0`, 1), []at{{"CONTRACT-006", 4, 12}}},
	{"handler version leading zero", strings.Replace(minimal, `"1.2.0"`, `"1.02.0"`, 1), []at{{"CONTRACT-006", 4, 12}}},
	{"both implementations", strings.Replace(minimal, "  import_path: example.com/test/echo\n", "  import_path: example.com/test/echo\n  artifact_ref: {uri: \"oci://x/y\", digest: \"sha256:"+strings.Repeat("a", 64)+"\"}\n", 1), []at{{"CONTRACT-013", 10, 3}}},
	{"neither implementation", strings.Replace(minimal, "  import_path: example.com/test/echo\n", "  {}\n", 1), []at{{"CONTRACT-013", 8, 1}}},
	{"implementation null", strings.Replace(minimal, "  import_path: example.com/test/echo\n", "", 1), []at{{"CONTRACT-013", 8, 1}}},
	{"malformed import path", strings.Replace(minimal, "example.com/test/echo", "/abs/path", 1), []at{{"CONTRACT-003", 9, 16}}},
	{"artifact ref", strings.Replace(minimal, "  import_path: example.com/test/echo\n", "  artifact_ref: {uri: \"oci://x/y\", digest: \"sha256:"+strings.Repeat("a", 64)+"\"}\n", 1), nil},
	{"artifact ref bad digest", strings.Replace(minimal, "  import_path: example.com/test/echo\n", "  artifact_ref: {uri: \"oci://x/y\", digest: \"md5:00\"}\n", 1), []at{{"CONTRACT-003", 9, 44}}},
	{"artifact ref without uri", strings.Replace(minimal, "  import_path: example.com/test/echo\n", "  artifact_ref: {digest: \"sha256:"+strings.Repeat("a", 64)+"\"}\n", 1), []at{{"CONTRACT-002", 9, 3}}},
	{"alias bomb", minimal + billionLaughs, []at{{"CONTRACT-014", 14, 38}}},
	{"recursive alias", minimal + "config: &c {self: *c}\n", []at{{"CONTRACT-014", 10, 19}}},
	{"bounded aliases", minimal + "config:\n  a: &x {k: v}\n  b: *x\n", nil},
	{"merge keys", minimal + "config:\n  base: &b {timeout: 5s, retries: 2}\n  call:\n    <<: *b\n    retries: 3\n", nil},
	{"config not a mapping", minimal + "config: [a]\n", []at{{"CONTRACT-003", 10, 9}}},
	{"duplicate nested key", minimal + "config:\n  a: 1\n  a: 2\n", []at{{"CONTRACT-001", 12, 3}}},
	{"duplicate key in a large mapping", minimal + "config:\n" + largeMapping + "  k03: again\n", []at{{"CONTRACT-001", 31, 3}}},
	{"directive the loader refuses", "%FOO bar\n---\n" + minimal, []at{{"CONTRACT-001", 1, 5}}},
	{"deep block nesting", minimal + "config:\n" + deepBlocks(MaxNesting+5), []at{{"CONTRACT-001", 10 + MaxNesting, 2*MaxNesting + 4}}},
	{"empty documents around the contract", "---\n---\n" + minimal + "---\n", nil},
	{"unknown tag on a string field", minimal + "description: !custom x\n", []at{{"CONTRACT-003", 10, 14}}},
	{"plain timestamps are strings", minimal + "description: 2001-12-14\nconfig: {since: 2001-12-14}\n", nil},
	{"config number tag on a word", minimal + "config: {a: !!int x}\n", []at{{"CONTRACT-003", 10, 13}}},
	{"config nan", minimal + "config: {a: .nan}\n", []at{{"CONTRACT-003", 10, 13}}},
	{"config alias key", minimal + "config:\n  a: &k x\n  *k : y\n", nil},
	{"config alias key set twice", minimal + "config:\n  a: &k x\n  *k : y\n  x: z\n", []at{{"CONTRACT-001", 13, 3}}},
	{"config null key", minimal + "config:\n  ~: y\n", []at{{"CONTRACT-003", 11, 3}}},
	{"merge of a scalar", minimal + "config:\n  <<: x\n", []at{{"CONTRACT-003", 11, 7}}},
	{"config infinity", minimal + "config: {limit: .inf}\n", []at{{"CONTRACT-003", 10, 17}}},
	{"config unknown tag", minimal + "config: {a: !custom x}\n", []at{{"CONTRACT-003", 10, 13}}},
	{"config bad secret reference", minimal + "config: {token: {secret: nokey}}\n", []at{{"CONTRACT-003", 10, 26}}},
	{"config secret reference not a string", minimal + "config: {token: {secret: [a]}}\n", []at{{"CONTRACT-003", 10, 26}}},
	{"unknown classification", minimal + "security: {data_classification: topsecret}\n", []at{{"CONTRACT-003", 10, 33}}},
	{"unknown observability", minimal + "security: {observability_level: verbose}\n", []at{{"CONTRACT-003", 10, 33}}},
	{"scopes not strings", minimal + "security: {secret_scopes: [a, {b: c}]}\n", []at{{"CONTRACT-003", 10, 31}}},
	{"optional null", minimal + "description:\n", []at{{"CONTRACT-003", 10, 1}}},
	{"packaging unknown key", minimal + "packaging: {module: x, licence: MIT}\n", []at{{"CONTRACT-004", 10, 24}}},
	{"many errors at once", "contract_version: \"3.0.0\"\nhandler_identity: {name: \"A\", version: \"x\"}\nhandler_type: infra_handler\nhandler_type_category: effect\ncommands_accepted: [a.b]\nimplementation: {import_path: x/y}\npublishes: [t]\nfoo: 1\n", []at{
		{"CONTRACT-006", 1, 19}, {"CONTRACT-003", 2, 26}, {"CONTRACT-006", 2, 40}, {"CONTRACT-005", 7, 1}, {"CONTRACT-004", 8, 1},
	}},
}

// largeMapping has 20 keys, k00 to k19, one a line: more than the decoder
// compares pairwise.
var largeMapping = func() string {
	var b strings.Builder
	for i := range 20 {
		fmt.Fprintf(&b, "  k%02d: %d\n", i, i)
	}
	return b.String()
}()

// deepBlocks nests n block mappings, one a line.
func deepBlocks(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%sk%d:\n", strings.Repeat("  ", i+1), i)
	}
	fmt.Fprintf(&b, "%sx: 1\n", strings.Repeat("  ", n+1))
	return b.String()
}

const billionLaughs = `config:
  a: &a [x, x, x, x, x, x, x, x, x, x]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
  i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
`

const specExample = `contract_version: "1.0.0"            # version of this contract format; major must be 1
handler_identity:
  name: partner-api
  version: "1.4.0"
description: Calls the partner REST API.
handler_type: infra_handler
handler_type_category: effect
is_adapter: false
capabilities: [retry, idempotent]
commands_accepted: [partner.get, partner.post]  # verbs of the http factory, in our namespace
implementation:
  import_path: github.com/onexhost/onex/handlers/httpout
  # artifact_ref: {uri: "oci://…", digest: "sha256:…"}   (one of the two)
config:                               # validated by the factory behind import_path
  base_url: https://api.partner.example   # payload path is relative to it
  timeout: 10s
  headers: {Authorization: {secret: "partner-api/bearer"}}
security:
  allowed_domains: [api.partner.example, "*.cdn.partner.example"]
  secret_scopes: [partner-api]
  data_classification: confidential
  observability_level: standard
packaging: {module: github.com/acme/handlers, module_version: v1.4.0}
`

func TestDecode(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			c, errs := Decode("dir/handler_contract.yaml", []byte(tc.doc))
			var got []at
			for _, e := range errs {
				checkError(t, e)
				got = append(got, at{e.RuleID, e.Line, e.Column})
			}
			slices.SortFunc(got, func(a, b at) int { return strings.Compare(a.String(), b.String()) })
			want := slices.Clone(tc.want)
			slices.SortFunc(want, func(a, b at) int { return strings.Compare(a.String(), b.String()) })
			if !slices.Equal(got, want) {
				for _, e := range errs {
					t.Log(e)
				}
				t.Fatalf("got %v, want %v", got, want)
			}
			if tc.want == nil && c == nil {
				t.Fatal("no contract for a clean document")
			}
		})
	}
}

func TestDecodeIdentityOfErrors(t *testing.T) {
	_, errs := Decode("a/handler_contract.yaml", []byte(strings.Replace(minimal, "infra_handler", "nope", 1)))
	if len(errs) != 1 || errs[0].HandlerIdentity != "orders" {
		t.Fatalf("want one error of handler orders, got %v", errs)
	}
	// Errors that stop decoding early still carry the name.
	_, errs = Decode("a/handler_contract.yaml", []byte(minimal+"config: &c {self: *c}\n"))
	if len(errs) != 1 || errs[0].RuleID != "CONTRACT-014" || errs[0].HandlerIdentity != "orders" {
		t.Fatalf("want one CONTRACT-014 of handler orders, got %v", errs)
	}
	_, errs = Decode("a/handler_contract.yaml", []byte("handler_type: nope\n"))
	for _, e := range errs {
		if e.HandlerIdentity != "unknown@a/handler_contract.yaml" {
			t.Errorf("identity %q, want unknown@a/handler_contract.yaml", e.HandlerIdentity)
		}
	}
}

func TestDecodeMessages(t *testing.T) {
	for _, tc := range []struct {
		doc       string
		rule      diag.RuleID
		inMessage string
		inHint    string
	}{
		{minimal + "descripton: x\n", "CONTRACT-004", `did you mean "description"?`, `rename "descripton" to "description"`},
		{minimal + "colour: x\n", "CONTRACT-004", `unknown field "colour"`, "contract_version, handler_identity"},
		{strings.Replace(minimal, "category: effect", "category: efect", 1), "CONTRACT-003", `did you mean "effect"?`, "compute, effect, nondeterministic_compute"},
		{minimal + "execution_graph: {}\n", "CONTRACT-005", "forbidden declaration", "never how work flows"},
		{strings.Replace(minimal, `"1.0.0"`, `"2.1.0"`, 1), "CONTRACT-006", "major 2", "major 1"},
		{minimal + billionLaughs, "CONTRACT-014", "more than 10000 nodes", "aliases"},
		{strings.Replace(minimal, `"1.0.0"`, `1.0`, 1), "CONTRACT-003", "must be a string, got a number", `quote the value`},
	} {
		_, errs := Decode("f.yaml", []byte(tc.doc))
		if len(errs) != 1 || errs[0].RuleID != tc.rule {
			t.Errorf("%q: want one %s, got %v", tc.doc, tc.rule, errs)
			continue
		}
		if !strings.Contains(errs[0].Message, tc.inMessage) || !strings.Contains(errs[0].RemediationHint, tc.inHint) {
			t.Errorf("%s: message %q / hint %q, want %q / %q", tc.rule, errs[0].Message, errs[0].RemediationHint, tc.inMessage, tc.inHint)
		}
	}
}

func TestDescriptorTransform(t *testing.T) {
	c, errs := Decode("contracts/partner/handler_contract.yaml", []byte(specExample))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	d := c.Descriptor()
	want := &handler.Descriptor{
		Name: "partner-api", Version: "1.4.0", Description: "Calls the partner REST API.",
		Type: handler.TypeInfra, Category: handler.CategoryEffect,
		Capabilities: []handler.Capability{handler.CapRetry, handler.CapIdempotent},
		Commands:     []handler.Command{"partner.get", "partner.post"},
		ImportPath:   "github.com/onexhost/onex/handlers/httpout",
		Security: handler.Security{
			SecretScopes: []string{"partner-api"}, AllowedDomains: []string{"api.partner.example", "*.cdn.partner.example"},
			DataClassification: handler.ClassificationConfidential, ObservabilityLevel: handler.ObservabilityStandard,
		},
		Packaging:  &handler.Packaging{Module: "github.com/acme/handlers", ModuleVersion: "v1.4.0"},
		Config:     json.RawMessage(`{"base_url":"https://api.partner.example","timeout":"10s","headers":{"Authorization":{"secret":"partner-api/bearer"}}}`),
		SourceType: handler.SourceContract, Origin: "contracts/partner/handler_contract.yaml",
	}
	gotJSON, _ := json.Marshal(d)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Fatalf("descriptor\n got %s\nwant %s", gotJSON, wantJSON)
	}
	if verrs := d.Validate(); len(verrs) > 0 {
		t.Fatal(verrs)
	}
	// The transform copies: changing the descriptor leaves the contract alone.
	d.Commands[0] = "x.y"
	d.Locations["handler_name"] = handler.Location{}
	if c.Commands[0] != "partner.get" || c.Locations["handler_name"].Line == 0 {
		t.Fatal("descriptor shares memory with the contract")
	}
}

// TestLocations checks that every key of the spec example is located, under
// its descriptor field path, at the right line and column.
func TestLocations(t *testing.T) {
	c, errs := Decode("f.yaml", []byte(specExample))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := map[string]handler.Location{
		"":                                    loc(1, 1),
		"handler_name":                        loc(3, 3),
		"handler_version":                     loc(4, 3),
		"description":                         loc(5, 1),
		"handler_type":                        loc(6, 1),
		"handler_type_category":               loc(7, 1),
		"is_adapter":                          loc(8, 1),
		"capabilities":                        loc(9, 1),
		"capabilities[0]":                     loc(9, 16),
		"capabilities[1]":                     loc(9, 23),
		"commands_accepted":                   loc(10, 1),
		"commands_accepted[0]":                loc(10, 21),
		"commands_accepted[1]":                loc(10, 34),
		"import_path":                         loc(12, 3),
		"artifact_ref":                        loc(11, 1),
		"config":                              loc(14, 1),
		"config.base_url":                     loc(15, 3),
		"config.timeout":                      loc(16, 3),
		"config.headers":                      loc(17, 3),
		"config.headers.Authorization":        loc(17, 13),
		"config.headers.Authorization.secret": loc(17, 29),
		"security":                            loc(18, 1),
		"security.allowed_domains":            loc(19, 3),
		"security.allowed_domains[0]":         loc(19, 21),
		"security.allowed_domains[1]":         loc(19, 42),
		"security.secret_scopes":              loc(20, 3),
		"security.secret_scopes[0]":           loc(20, 19),
		"security.data_classification":        loc(21, 3),
		"security.observability_level":        loc(22, 3),
		"packaging":                           loc(23, 1),
		"packaging.module":                    loc(23, 13),
		"packaging.module_version":            loc(23, 47),
	}
	for path, l := range want {
		if got, ok := c.Locations[path]; !ok || got != l {
			t.Errorf("Locations[%q] = %v (present %v), want %v", path, got, ok, l)
		}
	}
	for path := range c.Locations {
		if _, ok := want[path]; !ok {
			t.Errorf("unexpected location %q", path)
		}
	}
	// The descriptor resolves a path to its file and position, falling back to
	// the nearest located ancestor.
	file, l := c.Descriptor().Position("security.allowed_domains[1]")
	if file != "f.yaml" || l != loc(19, 42) {
		t.Errorf("Position = %s %v", file, l)
	}
}

func loc(line, col int) handler.Location { return handler.Location{Line: line, Column: col} }

func TestDecodeConfigValues(t *testing.T) {
	doc := minimal + `config:
  s: plain
  q: "quoted"
  n: 42
  neg: -7
  big: 18446744073709551615
  f: 1.5
  b: true
  z: null
  lit: |
    two
    lines
  list: [1, "two", {three: 3}]
  tagged: !!str 123
  base: &b {x: 1}
  merged: {<<: *b, y: 2}
  ref: {secret: "scope/key"}
`
	c, errs := Decode("f.yaml", []byte(doc))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := `{"s":"plain","q":"quoted","n":42,"neg":-7,"big":18446744073709551615,"f":1.5,"b":true,"z":null,"lit":"two\nlines\n","list":[1,"two",{"three":3}],"tagged":"123","base":{"x":1},"merged":{"y":2,"x":1},"ref":{"secret":"scope/key"}}`
	if string(c.Config) != want {
		t.Fatalf("config\n got %s\nwant %s", c.Config, want)
	}
	if !json.Valid(c.Config) {
		t.Fatal("config is not valid JSON")
	}
}

// TestDecodeConfigNumbers checks that config numbers are read the YAML way
// and written as JSON numbers.
func TestDecodeConfigNumbers(t *testing.T) {
	for _, tc := range []struct{ yaml, json string }{
		{"42", "42"}, {"-7", "-7"}, {"+5", "5"}, {"0x1F", "31"}, {"0o17", "15"}, {"1_000", "1000"},
		{"1.5", "1.5"}, {"1e3", "1000"}, {"-.5", "-0.5"}, {"18446744073709551615", "18446744073709551615"},
		{"!!float 1", "1"}, {"!!str 1", `"1"`}, {"!!int \"12\"", "12"}, {"!!bool true", "true"}, {"TRUE", "true"},
	} {
		c, errs := Decode("f.yaml", []byte(minimal+"config: {n: "+tc.yaml+"}\n"))
		if len(errs) > 0 {
			t.Errorf("%s: %v", tc.yaml, errs)
			continue
		}
		if want := `{"n":` + tc.json + `}`; string(c.Config) != want {
			t.Errorf("%s: config %s, want %s", tc.yaml, c.Config, want)
		}
	}
}

func TestDecodeSecurityPresence(t *testing.T) {
	// Absent lists stay nil ("not declared"); empty ones are declared as none.
	c, errs := Decode("f.yaml", []byte(minimal+"security: {secret_scopes: []}\n"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if c.Security.SecretScopes == nil || len(c.Security.SecretScopes) != 0 || c.Security.AllowedDomains != nil {
		t.Fatalf("security = %#v", c.Security)
	}
	if !c.Descriptor().Security.Declared() {
		t.Fatal("an empty secret_scopes list is a declaration")
	}
	c, _ = Decode("f.yaml", []byte(minimal))
	if c.Descriptor().Security.Declared() {
		t.Fatal("no security block declares nothing")
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	write(t, good, minimal)
	big := filepath.Join(dir, "big.yaml")
	write(t, big, minimal+"description: "+strings.Repeat("x", MaxFileBytes)+"\n")
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling.yaml")
	if err := os.Symlink(filepath.Join(dir, "missing"), dangling); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path      string
		rule      diag.RuleID
		inMessage string
	}{
		{good, "", ""},
		{big, "CONTRACT-007", "over the 10485760 byte limit"},
		{dir, "CONTRACT-007", "not a regular file (a directory)"},
		{fifo, "CONTRACT-007", "not a regular file (a named pipe)"},
		{dangling, "CONTRACT-007", "no such file or directory"},
		{filepath.Join(dir, "absent.yaml"), "CONTRACT-007", "no such file or directory"},
	} {
		data, e := ReadFile(tc.path)
		if tc.rule == "" {
			if e != nil || string(data) != minimal {
				t.Errorf("%s: %v", tc.path, e)
			}
			continue
		}
		if e == nil || e.RuleID != tc.rule || !strings.Contains(e.Message, tc.inMessage) {
			t.Errorf("%s: got %v, want %s containing %q", tc.path, e, tc.rule, tc.inMessage)
			continue
		}
		if e.FilePath != tc.path || e.RemediationHint == "" || e.HandlerIdentity != "unknown@"+tc.path || e.ErrorType != handler.ErrDiscovery {
			t.Errorf("%s: incomplete error %+v", tc.path, e)
		}
	}
}

// TestReadFileContents checks that ReadFile returns a file's bytes whatever
// its size under the limit, an empty file included.
func TestReadFileContents(t *testing.T) {
	dir := t.TempDir()
	for _, content := range []string{"", minimal, minimal + "description: " + strings.Repeat("y", 1<<20) + "\n"} {
		p := filepath.Join(dir, fmt.Sprintf("f%d.yaml", len(content)))
		write(t, p, content)
		data, e := ReadFile(p)
		if e != nil || string(data) != content {
			t.Errorf("%d bytes: got %d bytes, %v", len(content), len(data), e)
		}
	}
}

func TestReadFileUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("permission bits do not stop root; unreadable files are covered by the dangling-link case of TestReadFile")
	}
	p := filepath.Join(t.TempDir(), "handler_contract.yaml")
	write(t, p, minimal)
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	if _, e := ReadFile(p); e == nil || e.RuleID != "CONTRACT-007" || !strings.Contains(e.Message, "permission denied") {
		t.Fatalf("got %v", e)
	}
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDecodeDescriptor checks that the one-step transform of the sources gives
// the descriptor of Decode then Descriptor, and the same errors.
func TestDecodeDescriptor(t *testing.T) {
	for _, tc := range decodeCases {
		c, errs := Decode("dir/handler_contract.yaml", []byte(tc.doc))
		d, derrs := DecodeDescriptor("dir/handler_contract.yaml", []byte(tc.doc))
		if len(errs) != len(derrs) || (c == nil) != (d == nil) {
			t.Fatalf("%s: Decode gave %d errors, DecodeDescriptor %d", tc.name, len(errs), len(derrs))
		}
		for i := range errs {
			if errs[i].Error() != derrs[i].Error() {
				t.Errorf("%s: error %d: %v, want %v", tc.name, i, derrs[i], errs[i])
			}
		}
		if c == nil {
			continue
		}
		want, _ := json.Marshal(c.Descriptor())
		got, _ := json.Marshal(d)
		if string(got) != string(want) || !maps.Equal(d.Locations, c.Locations) {
			t.Errorf("%s: descriptor\n got %s\nwant %s", tc.name, got, want)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, FileName)
	write(t, p, specExample)
	d, errs := LoadDescriptor(p)
	if len(errs) > 0 || d.Name != "partner-api" || d.Origin != p || d.Locations["handler_name"] != loc(3, 3) {
		t.Fatalf("LoadDescriptor: %+v %v", d, errs)
	}
	if d, errs := LoadDescriptor(filepath.Join(dir, "absent", FileName)); d != nil || len(errs) != 1 || errs[0].RuleID != "CONTRACT-007" {
		t.Fatalf("LoadDescriptor of a missing file: %v %v", d, errs)
	}
}
