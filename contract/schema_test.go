package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v4"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
)

func compiled(t *testing.T) *jsonschema.Schema {
	t.Helper()
	s, err := CompileSchema()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// schemaVerdict converts a YAML document to a JSON value the way a tool that
// turns YAML into JSON does (go.yaml.in/yaml decoding into Go values,
// independently of the decoder's node walk) and validates it against the
// embedded schema. A stream of more than one document that is not empty, or a
// document JSON cannot hold (.inf, .nan, application-specific tags such as
// !vault, null mapping keys), is not a contract instance.
func schemaVerdict(s *jsonschema.Schema, doc []byte) error {
	l, err := yaml.NewLoader(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	var body *yaml.Node
	for {
		var n yaml.Node
		err := l.Load(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if len(n.Content) == 0 || (n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null" && n.Content[0].Value == "" && n.Content[0].Style == 0) {
			continue // an empty document
		}
		if body != nil {
			return errors.New("more than one YAML document")
		}
		body = &n
	}
	if body == nil {
		return errors.New("no YAML document")
	}
	if tag := foreignTag(body); tag != "" {
		return fmt.Errorf("tag %s has no JSON meaning", tag)
	}
	if key := keySetTwice(body); key != "" {
		return fmt.Errorf("mapping key %q set twice", key)
	}
	var v any
	if err := body.Decode(&v); err != nil {
		return err
	}
	v, err = jsonValue(v)
	if err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

// foreignTag returns the first explicit tag outside the YAML core schema.
func foreignTag(n *yaml.Node) string {
	if n.Style&yaml.TaggedStyle != 0 && !slices.Contains(coreTags, n.Tag) {
		return n.Tag
	}
	for _, c := range n.Content {
		if tag := foreignTag(c); tag != "" {
			return tag
		}
	}
	return ""
}

// keySetTwice returns a key that a mapping sets twice, one of the two
// through an alias: YAML forbids it, and decoding into Go values lets the
// later one win.
func keySetTwice(n *yaml.Node) string {
	if n.Kind == yaml.MappingNode {
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.AliasNode && k.Alias != nil {
				k = k.Alias
			}
			if k.Kind != yaml.ScalarNode {
				continue
			}
			if seen[k.Value] {
				return k.Value
			}
			seen[k.Value] = true
		}
	}
	for _, c := range n.Content {
		if key := keySetTwice(c); key != "" {
			return key
		}
	}
	return ""
}

// jsonValue turns the maps YAML decodes with keys other than strings into
// JSON objects, keys written as text; a null key has no JSON form.
func jsonValue(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			j, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			x[k] = j
		}
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if k == nil {
				return nil, errors.New("a null mapping key has no JSON form")
			}
			j, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = j
		}
		return out, nil
	case []any:
		for i, e := range x {
			j, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			x[i] = j
		}
	}
	return v, nil
}

// coreTags are the tags of the YAML core schema, which map onto JSON values.
var coreTags = []string{"!!str", "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq"}

// TestSchemaAgreesWithDecoder checks that no document is accepted by one of the
// schema and the decoder and rejected by the other, over the decoder's table,
// the golden contracts and the templates.
func TestSchemaAgreesWithDecoder(t *testing.T) {
	s := compiled(t)
	type doc struct {
		name string
		data []byte
	}
	var corpus []doc
	for _, tc := range decodeCases {
		corpus = append(corpus, doc{tc.name, []byte(tc.doc)})
	}
	golden := goldenContracts(t)
	for _, p := range golden {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // links and special files of the CONTRACT-007/010 cases
		}
		corpus = append(corpus, doc{p, b})
	}
	for _, name := range Templates {
		b, err := Template(name, TemplateOptions{Name: "sample-handler"})
		if err != nil {
			t.Fatal(err)
		}
		corpus = append(corpus, doc{"template " + name, b})
	}
	if len(corpus) < 50 {
		t.Fatalf("corpus too small: %d", len(corpus))
	}
	var accepted, rejected int
	for _, d := range corpus {
		_, errs := Decode("f.yaml", d.data)
		if overBounds(errs) {
			continue
		}
		serr := schemaVerdict(s, d.data)
		if (len(errs) == 0) != (serr == nil) {
			t.Errorf("%s: decoder errors %v, schema error %v", d.name, errs, serr)
		}
		if serr == nil {
			accepted++
		} else {
			rejected++
		}
	}
	if accepted < 5 || rejected < 20 {
		t.Errorf("corpus not varied enough: %d accepted, %d rejected", accepted, rejected)
	}
}

// overBounds reports whether the decoder rejected a document for a resource
// bound (alias expansion, nesting), on which the schema has no verdict.
func overBounds(errs []*diag.ValidationError) bool {
	for _, e := range errs {
		if e.RuleID == "CONTRACT-014" || strings.Contains(e.Message, "nesting deeper") {
			return true
		}
	}
	return false
}

// goldenContracts lists the contract files under testdata/contracts.
func goldenContracts(t *testing.T) []string {
	t.Helper()
	var out []string
	root := filepath.Join("..", "testdata", "contracts")
	_ = filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err == nil && !de.IsDir() && strings.HasSuffix(p, ".yaml") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestSchemaVocabulariesMatchSDK keeps the schema's vocabularies and top-level
// keys equal to the SDK's, so the two cannot drift (TestSchemaPatternsAreTheSDKs
// does the same for the patterns).
func TestSchemaVocabulariesMatchSDK(t *testing.T) {
	var doc struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(Schema(), &doc); err != nil {
		t.Fatal(err)
	}
	prop := func(path ...string) map[string]any {
		var cur any
		if err := json.Unmarshal(doc.Properties[path[0]], &cur); err != nil {
			t.Fatal(err)
		}
		for _, p := range path[1:] {
			cur = cur.(map[string]any)[p]
		}
		return cur.(map[string]any)
	}
	checks := []struct {
		got  any
		want any
	}{
		{strings.Join(toStrings(prop("handler_type")["enum"]), ","), strings.Join(names(handler.HandlerTypes), ",")},
		{strings.Join(toStrings(prop("handler_type_category")["enum"]), ","), strings.Join(names(handler.Categories), ",")},
		{strings.Join(toStrings(prop("security", "properties", "data_classification")["enum"]), ","), strings.Join(classificationNames, ",")},
		{strings.Join(toStrings(prop("security", "properties", "observability_level")["enum"]), ","), strings.Join(names(handler.ObservabilityLevels), ",")},
		{strings.Join(toStrings(prop("capabilities", "items")["anyOf"].([]any)[0].(map[string]any)["enum"]), ","), strings.Join(names(handler.KnownCapabilities), ",")},
	}
	for i, c := range checks {
		if c.got != c.want {
			t.Errorf("check %d: schema has %v, SDK has %v", i, c.got, c.want)
		}
	}
	keys := make([]string, 0, len(doc.Properties))
	for k := range doc.Properties {
		keys = append(keys, k)
	}
	for _, k := range topKeys {
		if _, ok := doc.Properties[k]; !ok {
			t.Errorf("schema lacks top-level key %s", k)
		}
	}
	if len(keys) != len(topKeys) {
		t.Errorf("schema keys %v, decoder keys %v", keys, topKeys)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestExamplesAndTemplatesMatchSchema validates every shipped contract (the
// examples directory, when present, and every template) against the schema.
func TestExamplesAndTemplatesMatchSchema(t *testing.T) {
	s := compiled(t)
	var n int
	_ = filepath.WalkDir(filepath.Join("..", "examples"), func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() || de.Name() != FileName {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := schemaVerdict(s, b); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		n++
		return nil
	})
	for _, name := range Templates {
		b, err := Template(name, TemplateOptions{Name: "sample.handler-1"})
		if err != nil {
			t.Fatal(err)
		}
		if err := schemaVerdict(s, b); err != nil {
			t.Errorf("template %s: %v", name, err)
		}
		n++
	}
	if n < len(Templates) {
		t.Fatalf("validated %d documents", n)
	}
}

// FuzzSchemaAgreement looks for a document the schema and the decoder judge
// differently. Documents rejected for the decoder's resource bounds have no
// schema verdict and are skipped.
func FuzzSchemaAgreement(f *testing.F) {
	for _, tc := range decodeCases {
		f.Add([]byte(tc.doc))
	}
	s, err := CompileSchema()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, errs := Decode("f.yaml", data)
		if overBounds(errs) {
			return
		}
		serr := schemaVerdict(s, data)
		if (len(errs) == 0) != (serr == nil) {
			t.Fatalf("decoder errors %v, schema error %v", errs, serr)
		}
	})
}
