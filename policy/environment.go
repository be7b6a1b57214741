package policy

import (
	"fmt"
	"slices"

	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/handler"
)

// AnyScope in permitted_secret_scopes permits every secret scope.
const AnyScope = "*"

// PrivateNetworks says whether an allowlisted name may resolve to a loopback,
// private or link-local address (egress_private_networks).
type PrivateNetworks string

// Values of egress_private_networks. The empty value means "the environment's
// default": deny in production, allow elsewhere.
const (
	PrivateNetworksAllow PrivateNetworks = "allow"
	PrivateNetworksDeny  PrivateNetworks = "deny"
)

// ParsePrivateNetworks parses allow or deny.
func ParsePrivateNetworks(s string) (PrivateNetworks, error) {
	switch v := PrivateNetworks(s); v {
	case PrivateNetworksAllow, PrivateNetworksDeny:
		return v, nil
	}
	return "", &handler.VocabularyError{Kind: "egress_private_networks", Value: s, Valid: []string{"allow", "deny"}}
}

// String returns the wire value.
func (p PrivateNetworks) String() string { return string(p) }

// MarshalText implements encoding.TextMarshaler.
func (p PrivateNetworks) MarshalText() ([]byte, error) {
	if _, err := ParsePrivateNetworks(string(p)); err != nil {
		return nil, err
	}
	return []byte(p), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *PrivateNetworks) UnmarshalText(b []byte) error {
	v, err := ParsePrivateNetworks(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Environment is the resolved environment policy: every field has its effective
// value (see DefaultEnvironment for the defaults).
type Environment struct {
	// Name is the deployment environment.
	Name handler.Environment
	// PermittedSecretScopes are the scopes handlers may declare; AnyScope permits
	// all of them.
	PermittedSecretScopes []string
	// MaxDataClassification is the highest classification a handler may declare.
	MaxDataClassification handler.Classification
	// RequireExplicitDomainAllowlist extends SECURITY-304 from adapters to every
	// effect handler.
	RequireExplicitDomainAllowlist bool
	// AdapterSecretsOverrideAllowed lets adapters declare secret scopes.
	AdapterSecretsOverrideAllowed bool
	// EgressPrivateNetworks is allow or deny.
	EgressPrivateNetworks PrivateNetworks
}

// DefaultEnvironment is the policy of an environment whose section of onex.yaml
// is empty. Production is strict by default: no secret scope is permitted until
// listed, every effect handler needs an explicit domain allowlist, and
// allowlisted names may not resolve to private networks. Elsewhere any scope is
// permitted and private networks are reachable, so a laptop or CI run works
// against local servers.
func DefaultEnvironment(name handler.Environment) Environment {
	if name == "" {
		name = handler.EnvDevelopment
	}
	env := Environment{
		Name:                  name,
		PermittedSecretScopes: []string{AnyScope},
		MaxDataClassification: handler.ClassificationSecret,
		EgressPrivateNetworks: PrivateNetworksAllow,
	}
	if name == handler.EnvProduction {
		env.PermittedSecretScopes = []string{}
		env.RequireExplicitDomainAllowlist = true
		env.EgressPrivateNetworks = PrivateNetworksDeny
	}
	return env
}

// ScopePermitted reports whether a handler may declare scope in this environment.
func (env Environment) ScopePermitted(scope string) bool {
	return slices.Contains(env.PermittedSecretScopes, AnyScope) || slices.Contains(env.PermittedSecretScopes, scope)
}

// EnvironmentConfig is the environment section of onex.yaml as written.
// Vocabulary values are kept as strings here and parsed by Resolve, so a bad
// value is reported at its key; pointer fields are nil when absent, so their
// defaults can depend on name.
type EnvironmentConfig struct {
	Name                           string    `yaml:"name"`
	PermittedSecretScopes          *[]string `yaml:"permitted_secret_scopes"`
	MaxDataClassification          string    `yaml:"max_data_classification"`
	RequireExplicitDomainAllowlist *bool     `yaml:"require_explicit_domain_allowlist"`
	AdapterSecretsOverrideAllowed  bool      `yaml:"adapter_secrets_override_allowed"`
	EgressPrivateNetworks          string    `yaml:"egress_private_networks"`
}

// Resolve validates the section and applies the defaults of the named
// environment to the fields left out. Errors are RUNTIME-002 located in f.
func (c EnvironmentConfig) Resolve(f *config.File) (Environment, []*diag.ValidationError) {
	var errs []*diag.ValidationError
	bad := func(key, hint string, err error) {
		e := f.Errorf("environment."+key, "%v", err)
		e.RemediationHint = hint
		errs = append(errs, e)
	}
	var name handler.Environment
	if c.Name != "" {
		n, err := handler.ParseEnvironment(c.Name)
		if err != nil {
			bad("name", "set environment.name to development, ci, staging or production", err)
		}
		name = n
	}
	env := DefaultEnvironment(name)
	if c.PermittedSecretScopes != nil {
		env.PermittedSecretScopes = append([]string{}, *c.PermittedSecretScopes...)
		for i, s := range env.PermittedSecretScopes {
			if s == AnyScope {
				continue
			}
			if reason := scopeProblem(s); reason != "" {
				bad(fmt.Sprintf("permitted_secret_scopes[%d]", i),
					"write each permitted scope as a secret scope name (e.g. partner-api), or \"*\" to permit every scope",
					fmt.Errorf("secret scope %q %s", s, reason))
			}
		}
	}
	if c.MaxDataClassification != "" {
		v, err := handler.ParseClassification(c.MaxDataClassification)
		if err != nil {
			bad("max_data_classification", "use public, internal, confidential, restricted or secret", err)
		}
		env.MaxDataClassification = v
	}
	if c.RequireExplicitDomainAllowlist != nil {
		env.RequireExplicitDomainAllowlist = *c.RequireExplicitDomainAllowlist
	}
	env.AdapterSecretsOverrideAllowed = c.AdapterSecretsOverrideAllowed
	if c.EgressPrivateNetworks != "" {
		v, err := ParsePrivateNetworks(c.EgressPrivateNetworks)
		if err != nil {
			bad("egress_private_networks", "set egress_private_networks to allow or deny (default: deny in production, allow elsewhere)", err)
		}
		env.EgressPrivateNetworks = v
	}
	if len(errs) > 0 {
		return Environment{}, errs
	}
	return env, nil
}

// LoadEnvironment decodes and validates the environment section of f.
func LoadEnvironment(f *config.File) (Environment, []*diag.ValidationError) {
	var c EnvironmentConfig
	if errs := f.Decode("environment", &c); len(errs) > 0 {
		return Environment{}, errs
	}
	return c.Resolve(f)
}
