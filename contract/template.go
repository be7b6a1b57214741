package contract

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"text/template"

	"github.com/onexhost/onex/handler"
)

// Template names of `onex contract init`.
const (
	TemplateCompute       = "compute"
	TemplateEffect        = "effect"
	TemplateEffectAdapter = "effect-adapter"
)

// Templates lists the template names.
var Templates = []string{TemplateCompute, TemplateEffect, TemplateEffectAdapter}

// Default implementations of the templates: the standard compute handlers and the
// outbound HTTP handler compiled into onex.
const (
	DefaultComputeImportPath = "github.com/onexhost/onex/handlers/transform"
	DefaultEffectImportPath  = "github.com/onexhost/onex/handlers/httpout"
)

// TemplateOptions fill a template.
type TemplateOptions struct {
	// Name is the handler_name (required).
	Name string
	// ImportPath replaces the template's default factory. When the factory is
	// registered in this binary, the commands use its verbs.
	ImportPath string
}

type templateSpec struct {
	importPath string
	verbs      []string // preferred verbs, in order
	text       string
}

var templateSpecs = map[string]templateSpec{
	TemplateCompute: {DefaultComputeImportPath, []string{"transform"}, `# A compute handler: pure and deterministic, no I/O, no secrets.
contract_version: "1.0.0"
handler_identity:
  name: {{.Name}}
  version: "0.1.0"
description: Transforms the payload with a jq filter.
handler_type: compute_handler
handler_type_category: compute
is_adapter: false
capabilities: [transform]
commands_accepted: [{{.Commands}}]
implementation:
  import_path: {{.ImportPath}}
config:
  filter: "."
security:
  data_classification: internal
  observability_level: standard
`},
	TemplateEffect: {DefaultEffectImportPath, []string{"get", "post"}, `# An effect handler: side-effecting I/O, allowed only to the listed hosts.
contract_version: "1.0.0"
handler_identity:
  name: {{.Name}}
  version: "0.1.0"
description: Calls the partner API.
handler_type: infra_handler
handler_type_category: effect
is_adapter: false
capabilities: [retry]
commands_accepted: [{{.Commands}}]
implementation:
  import_path: {{.ImportPath}}
config:
  base_url: https://api.example.com
  timeout: 10s
  # A header from a secret of a declared scope:
  # headers: {Authorization: {secret: "{{.Name}}/token"}}
security:
  allowed_domains: [api.example.com]
  secret_scopes: []
  data_classification: internal
  observability_level: standard
`},
	TemplateEffectAdapter: {DefaultEffectImportPath, []string{"post"}, `# An adapter: an effect handler at the edge, with the stricter adapter policy:
# no secret scopes, an explicit domain allowlist, enhanced observability.
contract_version: "1.0.0"
handler_identity:
  name: {{.Name}}
  version: "0.1.0"
description: Forwards events to the partner webhook.
handler_type: infra_handler
handler_type_category: effect
is_adapter: true
capabilities: [retry, idempotent]
commands_accepted: [{{.Commands}}]
implementation:
  import_path: {{.ImportPath}}
config:
  base_url: https://hooks.example.com
  timeout: 5s
security:
  allowed_domains: [hooks.example.com]
  secret_scopes: []
  data_classification: internal
  observability_level: enhanced
`},
}

// Template renders the named template as a complete handler_contract.yaml.
func Template(name string, opts TemplateOptions) ([]byte, error) {
	spec, ok := templateSpecs[name]
	if !ok {
		return nil, fmt.Errorf("unknown template %q (valid: %s)", name, strings.Join(Templates, ", "))
	}
	if !handler.ValidName(opts.Name) {
		return nil, fmt.Errorf("handler name %q does not match %s", opts.Name, handler.NamePattern)
	}
	importPath := spec.importPath
	if opts.ImportPath != "" {
		if !handler.ValidImportPath(opts.ImportPath) {
			return nil, fmt.Errorf("import path %q is not a Go import path", opts.ImportPath)
		}
		importPath = opts.ImportPath
	}
	verbs := spec.verbs
	if f, registered := handler.Lookup(importPath); registered {
		verbs = slices.DeleteFunc(slices.Clone(spec.verbs), func(v string) bool { return !f.Implements(v) })
		if len(verbs) == 0 {
			verbs = f.Verbs[:1]
		}
	}
	ns := Namespace(opts.Name)
	cmds := make([]string, len(verbs))
	for i, v := range verbs {
		cmds[i] = ns + "." + v
	}
	var buf bytes.Buffer
	t := template.Must(template.New(name).Parse(spec.text))
	err := t.Execute(&buf, map[string]string{
		"Name": opts.Name, "ImportPath": importPath, "Commands": strings.Join(cmds, ", "),
	})
	if err != nil {
		return nil, fmt.Errorf("render template %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// Namespace derives a command namespace from a handler name: the separators a
// name allows but a command segment does not (. and -) become _.
func Namespace(name string) string {
	return strings.NewReplacer(".", "_", "-", "_").Replace(name)
}
