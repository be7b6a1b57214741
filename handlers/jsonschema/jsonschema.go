// Package jsonschema is the JSON Schema validation handler: a compute handler
// that validates the payload against the schema in its config, with
// github.com/santhosh-tekuri/jsonschema/v6 (drafts 4 to 2020-12).
//
// Contract config:
//
//	config:
//	  schema: {type: object, required: [id], properties: {id: {type: string}}}
//	  assert_format: true    # also check "format" keywords
//
// Verb: validate. The result is {"valid": true} or {"valid": false, "errors":
// [{"instance_location", "keyword_location", "message"}]}: an invalid document is
// an answer, not a handler failure. References resolve only inside the schema;
// nothing is fetched or read from disk.
package jsonschema

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/onexhost/onex/handler"
)

// ImportPath is the factory's registry key.
const ImportPath = "github.com/onexhost/onex/handlers/jsonschema"

// Config is the handler's configuration.
type Config struct {
	// Schema is the JSON Schema (an object or a boolean).
	Schema json.RawMessage `json:"schema"`
	// AssertFormat makes the format keyword an assertion.
	AssertFormat bool `json:"assert_format,omitempty"`
}

func init() {
	handler.Register(handler.Factory{
		ImportPath: ImportPath,
		Verbs:      []string{"validate"},
		New:        New,
		Summary:    "JSON Schema validation of the payload",
	})
}

// Validator validates payloads against one compiled schema.
type Validator struct {
	schema *jsonschema.Schema
}

var _ handler.Handler = (*Validator)(nil)

// schemaURL names the config's schema for reference resolution.
const schemaURL = "urn:onex:config:schema"

// noLoader refuses every external reference: the handler is pure.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external reference %s: schemas may only reference themselves", url)
}

// New validates config and compiles the schema.
func New(config json.RawMessage) (handler.Handler, error) {
	var c Config
	if err := handler.DecodeStrict(config, &c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(bytes.TrimSpace(c.Schema)) == 0 {
		return nil, errors.New("config.schema: a JSON Schema is required")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(c.Schema))
	if err != nil {
		return nil, fmt.Errorf("config.schema: %w", err)
	}
	comp := jsonschema.NewCompiler()
	comp.UseLoader(noLoader{})
	if c.AssertFormat {
		comp.AssertFormat()
	}
	if err := comp.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("config.schema: %w", err)
	}
	s, err := comp.Compile(schemaURL)
	if err != nil {
		return nil, fmt.Errorf("config.schema: %w", err)
	}
	return &Validator{schema: s}, nil
}

// Problem is one validation failure.
type Problem struct {
	InstanceLocation string `json:"instance_location"`
	KeywordLocation  string `json:"keyword_location"`
	Message          string `json:"message"`
}

// Result is the handler's result.
type Result struct {
	Valid  bool      `json:"valid"`
	Errors []Problem `json:"errors,omitempty"`
}

// Handle validates the payload.
func (v *Validator) Handle(_ context.Context, inv *handler.Invocation) (handler.Output, error) {
	// The document is any JSON value, read by the SDK (numbers keep their
	// digits); an empty payload is validated as null, not as the {} that
	// Decode reads it as.
	var inst any
	if len(bytes.Trim(inv.Payload(), " \t\r\n")) > 0 {
		if err := inv.Decode(&inst); err != nil {
			return handler.Output{}, err
		}
	}
	err := v.schema.Validate(inst)
	if err == nil {
		return handler.Output{Result: Result{Valid: true}}, nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return handler.Output{}, handler.Failed(err, "validation failed: %v", err)
	}
	res := Result{}
	for _, u := range ve.BasicOutput().Errors {
		if u.Error == nil {
			continue
		}
		res.Errors = append(res.Errors, Problem{InstanceLocation: u.InstanceLocation, KeywordLocation: u.KeywordLocation, Message: u.Error.String()})
	}
	return handler.Output{Result: res}, nil
}
