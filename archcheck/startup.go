package archcheck

import (
	"fmt"
	"slices"
	"strings"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/validate"
)

// Startup returns the registration-time architecture rules, for the host's and
// `onex validate`'s validate.Set: each descriptor is checked against the
// factory its import_path names (descriptors whose factory is not registered
// are left to CONTRACT-009):
//
//   - ARCH-005: a pure handler (compute or nondeterministic_compute) whose
//     factory declares Uses.Egress or Uses.Secrets. A pure handler is granted no
//     I/O, so such a handler either cannot work or is not pure.
//   - ARCH-006 (warning): a descriptor granting a capability its factory does
//     not use: allowed_domains for a factory without Uses.Egress, a secret scope
//     for a factory without Uses.Secrets that no secret reference in config
//     names. Least privilege: a grant nobody uses is only attack surface.
//     Compute handlers are left to SECURITY-306, which forbids both grants.
func Startup() validate.Validator { return validate.Func(startupRules) }

func startupRules(descs []*handler.Descriptor) []*diag.ValidationError {
	var errs []*diag.ValidationError
	for _, d := range descs {
		if d == nil || d.ImportPath == "" {
			continue
		}
		f, ok := handler.Lookup(d.ImportPath)
		if !ok {
			continue
		}
		if d.Category == handler.CategoryCompute || d.Category == handler.CategoryNondeterministicCompute {
			if e := pureUsesIO(d, f); e != nil {
				errs = append(errs, e)
			}
		}
		if d.Category != handler.CategoryCompute {
			errs = append(errs, unusedGrants(d, f)...)
		}
	}
	return errs
}

func pureUsesIO(d *handler.Descriptor, f handler.Factory) *diag.ValidationError {
	var uses []string
	if f.Uses.Egress {
		uses = append(uses, "egress")
	}
	if f.Uses.Secrets {
		uses = append(uses, "secrets")
	}
	if len(uses) == 0 {
		return nil
	}
	e := diag.New(ruleid.ArchPureHandlerIO, "%s handler uses factory %s, which needs %s; a pure handler is granted no I/O",
		d.Category, f.ImportPath, strings.Join(uses, " and "))
	e.Details = map[string]any{"handler_type_category": string(d.Category), "import_path": f.ImportPath, "uses": uses}
	return validate.At(d, "handler_type_category", e)
}

func unusedGrants(d *handler.Descriptor, f handler.Factory) []*diag.ValidationError {
	var errs []*diag.ValidationError
	if !f.Uses.Egress && len(d.Security.AllowedDomains) > 0 {
		e := diag.New(ruleid.ArchUnusedGrant, "security.allowed_domains grants egress to %s, but factory %s makes no outbound connections",
			strings.Join(d.Security.AllowedDomains, ", "), f.ImportPath)
		e.RemediationHint = "remove security.allowed_domains: the handler's factory never dials"
		e.Details = map[string]any{"import_path": f.ImportPath, "allowed_domains": slices.Clone(d.Security.AllowedDomains)}
		errs = append(errs, validate.At(d, "security.allowed_domains", e))
	}
	if f.Uses.Secrets || len(d.Security.SecretScopes) == 0 {
		return errs
	}
	referenced := map[string]bool{}
	if refs, err := handler.FindSecretRefs(d.Config); err == nil {
		for _, r := range refs {
			referenced[r.Ref.Scope] = true
		}
	}
	for i, scope := range d.Security.SecretScopes {
		if referenced[scope] {
			continue
		}
		e := diag.New(ruleid.ArchUnusedGrant, "secret scope %q is granted, but factory %s reads no secrets and config references none of that scope",
			scope, f.ImportPath)
		e.RemediationHint = fmt.Sprintf("remove %q from security.secret_scopes, or reference it in config as {secret: \"%s/<key>\"}", scope, scope)
		e.Details = map[string]any{"import_path": f.ImportPath, "secret_scope": scope}
		errs = append(errs, validate.At(d, fmt.Sprintf("security.secret_scopes[%d]", i), e))
	}
	return errs
}
