package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/validate"
)

// scopeProblem says what is wrong with a secret scope name, or "". A scope is the
// part of "scope/key" before the slash, and a directory of the file provider.
func scopeProblem(s string) string {
	switch {
	case strings.TrimSpace(s) == "":
		return "is empty"
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return "contains whitespace or control characters"
	case strings.Contains(s, "/"):
		return "contains / (a reference is scope/key, so the scope ends at the first /)"
	case s == "." || s == "..":
		return "is a relative path element"
	}
	return ""
}

// Registration returns the registration-time validator of this environment:
// SECURITY-300..309 for every descriptor, SECURITY-311 for a secret reference in
// config whose scope is not declared, and the SECURITY-314 warning for a CIDR
// that covers a cloud metadata endpoint it does not grant. Every violation is
// reported, each located at the offending descriptor field.
func (env Environment) Registration() validate.Validator {
	return validate.Func(func(descs []*handler.Descriptor) []*diag.ValidationError {
		var errs []*diag.ValidationError
		for _, d := range descs {
			errs = append(errs, env.Check(d)...)
		}
		return errs
	})
}

// Check returns every registration-time violation of one descriptor.
func (env Environment) Check(d *handler.Descriptor) []*diag.ValidationError {
	var errs []*diag.ValidationError
	add := func(rule handler.RuleID, path string, details map[string]any, format string, args ...any) {
		e := diag.New(rule, format, args...)
		e.Details = details
		errs = append(errs, validate.At(d, path, e))
	}
	sec := d.Security
	scopes, domains := sec.SecretScopes, sec.AllowedDomains

	if (d.Category == handler.CategoryEffect || d.Category == handler.CategoryNondeterministicCompute) && !sec.Declared() {
		add(ruleid.SecurityNoMetadata, "security", map[string]any{"handler_type_category": string(d.Category)},
			"%s handler declares no security metadata", d.Category)
	}
	if d.Category == handler.CategoryCompute {
		if len(scopes) > 0 {
			add(ruleid.SecurityComputeDeclares, "security.secret_scopes", map[string]any{"secret_scopes": slices.Clone(scopes)},
				"compute handler declares secret scopes %s; a compute handler is pure", quoteList(scopes))
		}
		if len(domains) > 0 {
			add(ruleid.SecurityComputeDeclares, "security.allowed_domains", map[string]any{"allowed_domains": slices.Clone(domains)},
				"compute handler declares allowed domains %s; a compute handler is pure", quoteList(domains))
		}
	}
	for i, s := range scopes {
		path := fmt.Sprintf("security.secret_scopes[%d]", i)
		if reason := scopeProblem(s); reason != "" {
			add(ruleid.SecurityMalformedScope, path, map[string]any{"scope": s}, "secret scope %q %s", s, reason)
			continue
		}
		if !env.ScopePermitted(s) {
			add(ruleid.SecurityScopeNotPermitted, path, map[string]any{"scope": s, "environment": string(env.Name), "permitted": slices.Clone(env.PermittedSecretScopes)},
				"secret scope %q is not permitted in environment %s", s, env.Name)
		}
	}
	if c := sec.Classification(); env.MaxDataClassification.Valid() && c.Exceeds(env.MaxDataClassification) {
		add(ruleid.SecurityClassificationTooHigh, "security.data_classification",
			map[string]any{"data_classification": c.String(), "max_data_classification": env.MaxDataClassification.String(), "environment": string(env.Name)},
			"data_classification %s is above %s, the maximum of environment %s", c, env.MaxDataClassification, env.Name)
	}
	if d.IsAdapter {
		if len(scopes) > 0 && !env.AdapterSecretsOverrideAllowed {
			add(ruleid.SecurityAdapterSecrets, "security.secret_scopes", map[string]any{"secret_scopes": slices.Clone(scopes), "environment": string(env.Name)},
				"adapter declares secret scopes %s and environment %s does not allow the override", quoteList(scopes), env.Name)
		}
		if d.Category != handler.CategoryEffect {
			add(ruleid.SecurityAdapterCategory, "handler_type_category", map[string]any{"handler_type_category": string(d.Category)},
				"adapter has category %q; an adapter is an effect handler", d.Category)
		}
		if lvl := sec.Observability(); lvl != handler.ObservabilityEnhanced {
			add(ruleid.SecurityAdapterObservability, "security.observability_level", map[string]any{"observability_level": string(lvl)},
				"adapter has observability_level %s; adapters need enhanced", lvl)
		}
	}
	if d.IsAdapter || env.RequireExplicitDomainAllowlist && d.Category == handler.CategoryEffect {
		why := "adapters always need one"
		if !d.IsAdapter {
			why = "environment " + string(env.Name) + " sets require_explicit_domain_allowlist"
		}
		if len(domains) == 0 {
			add(ruleid.SecurityDomainAllowlist, "security.allowed_domains", map[string]any{"is_adapter": d.IsAdapter},
				"no explicit domain allowlist: allowed_domains is empty (%s)", why)
		}
		for i, p := range domains {
			if host, _, err := splitPatternPort(p); err == nil && host == AnyHost {
				add(ruleid.SecurityDomainAllowlist, fmt.Sprintf("security.allowed_domains[%d]", i), map[string]any{"pattern": p, "is_adapter": d.IsAdapter},
					"no explicit domain allowlist: allowed_domains contains %q (%s)", p, why)
			}
		}
	}
	for i, p := range domains {
		path := fmt.Sprintf("security.allowed_domains[%d]", i)
		pat, err := ParsePattern(p)
		if err != nil {
			add(ruleid.SecurityMalformedDomain, path, map[string]any{"pattern": p}, "allowed domain %q %v", p, err)
			continue
		}
		if pat.Kind != PatternPrefix {
			continue
		}
		if covered := metadataInRange(pat.Prefix, domains); len(covered) > 0 {
			addrs, named := make([]string, len(covered)), make([]string, len(covered))
			for j, m := range covered {
				addrs[j] = m.addr.String()
				named[j] = addrs[j] + " (" + m.what + ")"
			}
			add(ruleid.SecurityMetadataInRange, path, map[string]any{"pattern": p, "endpoints": addrs},
				"allowed domain %q covers the cloud metadata or credential endpoint(s) %s, which a CIDR does not grant: list the exact address, e.g. %q, if the handler must reach it",
				p, strings.Join(named, "; "), addrs[0])
		}
	}
	errs = append(errs, undeclaredConfigSecrets(d)...)
	return errs
}

// metadataInRange returns the metadata and credential endpoints inside prefix
// that domains does not list as exact IP literals: the guard refuses them
// although the CIDR covers them (SECURITY-314).
func metadataInRange(prefix netip.Prefix, domains []string) []metadataEndpoint {
	var out []metadataEndpoint
	for _, m := range metadataEndpoints {
		if !prefix.Contains(m.addr) {
			continue
		}
		listed := slices.ContainsFunc(domains, func(s string) bool {
			p, err := ParsePattern(s)
			return err == nil && p.Kind == PatternAddr && p.Prefix.Addr() == m.addr
		})
		if !listed {
			out = append(out, m)
		}
	}
	return out
}

// undeclaredConfigSecrets reports every {secret: "scope/key"} in config whose
// scope is not declared (SECURITY-311). Malformed references are the factory
// check's to report (CONTRACT-011).
func undeclaredConfigSecrets(d *handler.Descriptor) []*diag.ValidationError {
	refs, err := handler.FindSecretRefs(d.Config)
	if err != nil {
		return nil
	}
	var errs []*diag.ValidationError
	for _, r := range refs {
		if slices.Contains(d.Security.SecretScopes, r.Ref.Scope) {
			continue
		}
		e := diag.New(ruleid.SecuritySecretScope, "config %s references secret scope %q, which security.secret_scopes does not declare", r.Path, r.Ref.Scope)
		e.Details = map[string]any{"path": r.Path, "scope": r.Ref.Scope, "key": r.Ref.Key, "secret_scopes": slices.Clone(d.Security.SecretScopes)}
		errs = append(errs, validate.At(d, r.Path+".secret", e))
	}
	return errs
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = fmt.Sprintf("%q", x)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
