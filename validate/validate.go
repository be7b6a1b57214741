// Package validate is the one validation pipeline shared by the runtime host and
// `onex validate`: per-descriptor checks (run by every source on what it
// produces) and set checks (run by the host over the whole resolved set, with the
// registration validators of the security and architecture layers plugged in).
package validate

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/internal/suggest"
)

// Validator checks a resolved descriptor set at registration time, before any
// handler is constructed (e.g. the SECURITY-300..309 rules, the startup ARCH
// rules). It returns every violation, never stopping at the first.
type Validator interface {
	Validate(descs []*handler.Descriptor) []*diag.ValidationError
}

// Func adapts a function to Validator.
type Func func(descs []*handler.Descriptor) []*diag.ValidationError

// Validate calls f.
func (f Func) Validate(descs []*handler.Descriptor) []*diag.ValidationError { return f(descs) }

// Descriptor runs the checks of one descriptor: the descriptor invariants
// (DESCRIPTOR-xxx), then — when those pass — the factory checks: import_path
// registered in this binary (CONTRACT-009), artifact_ref loadable (CONTRACT-016),
// every command's verb implemented by the factory (CONTRACT-015), and config
// accepted by the factory (CONTRACT-011; secret references are replaced by a
// placeholder, since secrets are read only at initialisation).
func Descriptor(d *handler.Descriptor) []*diag.ValidationError {
	if errs := d.Validate(); len(errs) > 0 {
		return errs
	}
	if d.Artifact != nil {
		return []*diag.ValidationError{at(d, "artifact_ref", diag.New(ruleid.ContractArtifactUnsupported,
			"artifact_ref %s cannot be loaded: this host runs only handlers compiled into its binary", d.Artifact.URI))}
	}
	f, ok := handler.Lookup(d.ImportPath)
	if !ok {
		return []*diag.ValidationError{unregistered(d)}
	}
	var errs []*diag.ValidationError
	for i, c := range d.Commands {
		if !f.Implements(c.Verb()) {
			e := diag.New(ruleid.ContractVerbNotImplemented, "command %q: verb %q is not implemented by %s (its verbs: %s)",
				c, c.Verb(), f.ImportPath, strings.Join(f.Verbs, ", "))
			e.Details = map[string]any{"command": string(c), "verb": c.Verb(), "verbs": slices.Clone(f.Verbs)}
			errs = append(errs, at(d, fmt.Sprintf("commands_accepted[%d]", i), e))
		}
	}
	if e := checkConfig(d, f); e != nil {
		errs = append(errs, e)
	}
	return errs
}

func unregistered(d *handler.Descriptor) *diag.ValidationError {
	var known []string
	for _, f := range handler.List() {
		known = append(known, f.ImportPath)
	}
	msg := fmt.Sprintf("import_path %q is not registered in this binary", d.ImportPath)
	details := map[string]any{"import_path": d.ImportPath, "registered": known}
	if c, ok := suggest.Closest(d.ImportPath, known); ok {
		msg += fmt.Sprintf(" (did you mean %q?)", c)
		details["closest"] = c
	}
	if len(known) > 0 {
		msg += "; registered: " + strings.Join(known, ", ")
	} else {
		msg += "; no handler factory is registered"
	}
	e := diag.New(ruleid.ContractImportNotRegistered, "%s", msg)
	e.Details = details
	return at(d, "import_path", e)
}

func checkConfig(d *handler.Descriptor, f handler.Factory) *diag.ValidationError {
	cfg, err := handler.RedactSecretRefs(d.Config)
	if err == nil {
		err = callNew(f, cfg)
	}
	if err == nil {
		return nil
	}
	e := diag.New(ruleid.ContractConfigRejected, "config rejected by %s: %v", f.ImportPath, err)
	if ve, ok := err.(*diag.ValidationError); ok {
		e.CausedBy = ve
	}
	return at(d, "config", e)
}

// callNew runs a factory's New; a panic in third-party code is a rejection, not
// a crash of the validator.
func callNew(f handler.Factory, cfg json.RawMessage) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("factory panicked: %v", r)
		}
	}()
	h, err := f.New(cfg)
	if err == nil && h == nil {
		err = fmt.Errorf("factory returned no handler")
	}
	return err
}

// at fills in the handler identity, source type and position of path.
func at(d *handler.Descriptor, path string, e *diag.ValidationError) *diag.ValidationError {
	e.HandlerIdentity = d.Identity()
	e.SourceType = d.SourceType
	file, loc := d.Position(path)
	e.FilePath, e.Line, e.Column = file, loc.Line, loc.Column
	return e
}

// At is exported for validators: it fills in a ValidationError's handler identity,
// source type, file and position of a descriptor field path.
func At(d *handler.Descriptor, path string, e *diag.ValidationError) *diag.ValidationError {
	return at(d, path, e)
}

// Set runs the checks of a resolved descriptor set: one operation accepted by two
// handlers (CONTRACT-012), then every validator. The result is aggregated and
// sorted.
func Set(descs []*handler.Descriptor, validators ...Validator) *diag.Report {
	r := &diag.Report{}
	r.Add(Routes(descs)...)
	for _, v := range validators {
		r.Add(v.Validate(descs)...)
	}
	r.Sort()
	return r
}

// Routes reports every operation accepted by more than one handler
// (CONTRACT-012), located at the later handler's command.
func Routes(descs []*handler.Descriptor) []*diag.ValidationError {
	n := 0
	for _, d := range descs {
		n += len(d.Commands)
	}
	owner := make(map[handler.Command]*handler.Descriptor, n)
	var errs []*diag.ValidationError
	for _, d := range descs {
		for i, c := range d.Commands {
			first, taken := owner[c]
			if !taken {
				owner[c] = d
				continue
			}
			if first == d {
				continue // duplicates within one descriptor are DESCRIPTOR-007
			}
			e := diag.New(ruleid.ContractDuplicateOperation, "operation %q is accepted by both %q (%s) and %q", c, first.Name, first.Origin, d.Name)
			e.Details = map[string]any{"operation": string(c), "handlers": []string{first.Name, d.Name}}
			errs = append(errs, at(d, fmt.Sprintf("commands_accepted[%d]", i), e))
		}
	}
	return errs
}
