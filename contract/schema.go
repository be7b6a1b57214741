package contract

import (
	"bytes"
	_ "embed"
	"fmt"
	"slices"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schema.json is generated from schema.json.tmpl, with the pattern constants of
// the handler package; TestSchemaIsGenerated keeps it current.
//
//go:generate go test -run TestSchemaIsGenerated -update .
//go:embed schema.json
var schemaJSON []byte

// SchemaID is the $id of the embedded JSON Schema.
const SchemaID = "urn:onex:schema:handler_contract:1"

// Schema returns the JSON Schema (draft 2020-12) of handler_contract.yaml, as
// printed by `onex schema`. Editors use it through a modeline such as
// `# yaml-language-server: $schema=./handler_contract.schema.json`.
func Schema() []byte { return slices.Clone(schemaJSON) }

// CompileSchema compiles the embedded schema with santhosh-tekuri/jsonschema, for
// tools that validate contract documents already converted to JSON values. The
// decoder, not the schema, is what onex itself uses: it reports every problem
// with its rule id, line and column.
func CompileSchema() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("contract schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		return nil, fmt.Errorf("contract schema: %w", err)
	}
	s, err := c.Compile(SchemaID)
	if err != nil {
		return nil, fmt.Errorf("contract schema: %w", err)
	}
	return s, nil
}
