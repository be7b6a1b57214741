package contract

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"text/template"

	"github.com/onexhost/onex/handler"
)

// The "pattern" keywords of the schema are generated from the pattern
// constants of the handler package: schema.json.tmpl is the schema with a
// placeholder for each, and schema.json (embedded, and read by editors through
// the examples' modelines) is its rendering, kept current by
// TestSchemaIsGenerated and rewritten by go generate.

var updateSchema = flag.Bool("update", false, "rewrite schema.json from schema.json.tmpl")

const schemaTemplate = "schema.json.tmpl"

// schemaPatterns maps each placeholder name to its pattern.
func schemaPatterns() map[string]string {
	return map[string]string{
		"contract_version":     handler.MajorVersionPattern(SupportedMajor),
		"name":                 handler.NamePattern,
		"version":              handler.VersionPattern,
		"capability_extension": handler.CapabilityExtensionPattern,
		"command":              handler.CommandPattern,
		"import_path":          handler.ImportPathPattern,
		"digest":               handler.DigestPattern,
	}
}

// renderSchema executes the schema template, writing each {{pattern "name"}}
// as a JSON string. Every pattern must be used, so none is left out of the
// schema unnoticed.
func renderSchema(tmpl []byte, patterns map[string]string) ([]byte, error) {
	used := map[string]bool{}
	t, err := template.New(schemaTemplate).Funcs(template.FuncMap{
		"pattern": func(name string) (string, error) {
			p, ok := patterns[name]
			if !ok {
				return "", fmt.Errorf("no pattern named %q", name)
			}
			used[name] = true
			var b strings.Builder
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(p); err != nil {
				return "", err
			}
			return strings.TrimSuffix(b.String(), "\n"), nil
		},
	}).Parse(string(tmpl))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := t.Execute(&out, nil); err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(patterns)) {
		if !used[name] {
			return nil, fmt.Errorf("pattern %q is not in the template", name)
		}
	}
	return out.Bytes(), nil
}

func TestSchemaIsGenerated(t *testing.T) {
	tmpl, err := os.ReadFile(schemaTemplate)
	if err != nil {
		t.Fatal(err)
	}
	got, err := renderSchema(tmpl, schemaPatterns())
	if err != nil {
		t.Fatal(err)
	}
	if *updateSchema {
		if err := os.WriteFile("schema.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, Schema()) {
		t.Error("schema.json is not the rendering of schema.json.tmpl: run go generate ./contract")
	}
	if !json.Valid(got) {
		t.Error("the rendered schema is not JSON")
	}
}

func TestRenderSchemaRefusesMismatch(t *testing.T) {
	cases := []struct {
		name, tmpl string
		patterns   map[string]string
	}{
		{"unknown placeholder", `{"pattern": {{pattern "nope"}}}`, map[string]string{}},
		{"unused pattern", `{}`, map[string]string{"name": "^a$"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if out, err := renderSchema([]byte(tc.tmpl), tc.patterns); err == nil {
				t.Errorf("rendered %s", out)
			}
		})
	}
	out, err := renderSchema([]byte(`{"pattern": {{pattern "p"}}}`), map[string]string{"p": `^a\.b<$`})
	if want := `{"pattern": "^a\\.b<$"}`; err != nil || string(out) != want {
		t.Errorf("rendered %s, %v; want %s", out, err, want)
	}
}

// TestSchemaPatternsAreTheSDKs reads each pattern back from the embedded schema
// by its JSON pointer and compares it with the handler package's constant.
func TestSchemaPatternsAreTheSDKs(t *testing.T) {
	var doc any
	if err := json.Unmarshal(Schema(), &doc); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		pointer string
		want    string
	}{
		{"/properties/contract_version/pattern", handler.MajorVersionPattern(SupportedMajor)},
		{"/properties/handler_identity/properties/name/pattern", handler.NamePattern},
		{"/$defs/semver/pattern", handler.VersionPattern},
		{"/properties/capabilities/items/anyOf/1/pattern", handler.CapabilityExtensionPattern},
		{"/properties/commands_accepted/items/pattern", handler.CommandPattern},
		{"/properties/implementation/properties/import_path/pattern", handler.ImportPathPattern},
		{"/properties/implementation/properties/artifact_ref/properties/digest/pattern", handler.DigestPattern},
	}
	for _, tc := range cases {
		if got := jsonPointer(t, doc, tc.pointer); got != tc.want {
			t.Errorf("%s = %v, want %s", tc.pointer, got, tc.want)
		}
	}
	if ref := jsonPointer(t, doc, "/properties/handler_identity/properties/version/$ref"); ref != "#/$defs/semver" {
		t.Errorf("handler_identity.version refers to %v", ref)
	}
}

// jsonPointer resolves an RFC 6901 pointer without escapes in doc.
func jsonPointer(t *testing.T, doc any, pointer string) any {
	t.Helper()
	cur := doc
	for _, tok := range strings.Split(pointer, "/")[1:] {
		switch v := cur.(type) {
		case map[string]any:
			cur = v[tok]
		case []any:
			var i int
			if _, err := fmt.Sscan(tok, &i); err != nil || i >= len(v) {
				t.Fatalf("%s: no item %s", pointer, tok)
			}
			cur = v[i]
		default:
			t.Fatalf("%s: %s is not inside a container", pointer, tok)
		}
	}
	return cur
}
