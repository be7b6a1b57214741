package policy

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/validate"
)

// Config is the policy's part of onex.yaml: the environment and secrets sections.
type Config struct {
	Environment Environment
	Secrets     []Provider
}

// LoadConfig decodes and validates the environment and secrets sections of f,
// returning every error of both.
func LoadConfig(f *config.File) (Config, []*diag.ValidationError) {
	env, errs := LoadEnvironment(f)
	providers, perrs := LoadSecretProviders(f)
	errs = append(errs, perrs...)
	if len(errs) > 0 {
		return Config{}, errs
	}
	return Config{Environment: env, Secrets: providers}, nil
}

// Options configure an Enforcer. Only Environment and Secrets come from onex.yaml;
// the rest exist for embedding and tests.
type Options struct {
	// Environment is the environment policy; the zero value is
	// DefaultEnvironment(development).
	Environment Environment
	// Secrets are the secret providers, in lookup order.
	Secrets []Provider
	// Resolver resolves allowlisted names; default net.DefaultResolver.
	Resolver Resolver
	// Dial opens checked connections; default a net.Dialer with a 30s timeout.
	Dial DialFunc
	// TLSConfig is the base TLS configuration of granted HTTP clients (e.g. a
	// private CA); default TLS 1.2 minimum with the system roots.
	TLSConfig *tls.Config
	// Logger receives one warning per denial (never a secret value); default
	// discard.
	Logger *slog.Logger
	// OnDenial, when set, is called for every denial, e.g. to count it in
	// Prometheus. It must be fast and safe for concurrent use.
	OnDenial func(Denial)
}

// Denial describes one refused action, for metrics and audit. It never holds a
// secret value.
type Denial struct {
	Rule    handler.RuleID
	Handler string
	// Target is what was refused: host:port (SECURITY-310) or scope/key
	// (SECURITY-311).
	Target string
}

// deniedRules are the invocation-time rules enforced, and counted, by the
// capabilities an Enforcer grants. SECURITY-312 is the runtime's: it refuses
// the envelope before a handler (or a capability) is involved.
var deniedRules = [...]handler.RuleID{ruleid.SecurityEgress, ruleid.SecuritySecretScope}

// Enforcer grants handlers the capabilities their descriptors earned, enforces
// the invocation-time rules through them, and holds the registration rules of the
// environment. It is safe for concurrent use.
type Enforcer struct {
	env       Environment
	secrets   []Provider
	resolver  Resolver
	dial      DialFunc
	tlsConfig *tls.Config
	logger    *slog.Logger
	onDenial  func(Denial)
	counts    [len(deniedRules)]atomic.Uint64

	mu         sync.Mutex
	transports []*http.Transport
}

// New builds an Enforcer.
func New(o Options) *Enforcer {
	e := &Enforcer{
		env:       o.Environment,
		secrets:   slices.Clone(o.Secrets),
		resolver:  o.Resolver,
		dial:      o.Dial,
		tlsConfig: o.TLSConfig,
		logger:    o.Logger,
		onDenial:  o.OnDenial,
	}
	if e.env.Name == "" {
		e.env = DefaultEnvironment(handler.EnvDevelopment)
	}
	if e.resolver == nil {
		e.resolver = net.DefaultResolver
	}
	if e.dial == nil {
		e.dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	if e.logger == nil {
		e.logger = slog.New(slog.DiscardHandler)
	}
	return e
}

// Environment returns the environment policy.
func (e *Enforcer) Environment() Environment { return e.env }

// Registration returns the registration-time validator (SECURITY-300..309,
// SECURITY-311 for undeclared config secret scopes, the SECURITY-314 warning)
// for validate.Set.
func (e *Enforcer) Registration() validate.Validator { return e.env.Registration() }

// Grant returns the capabilities d earned: an effect handler gets an
// egress-guarded dialer and HTTP client limited to its allowed_domains (an empty
// list allows no outbound connection at all) and a secret reader; any other
// handler that declares secret scopes gets the secret reader only. The reader
// reads only scopes that are declared and permitted by the environment. An
// allowlist that cannot be compiled is an error (SECURITY-308): no guard is
// better than a wrong one.
func (e *Enforcer) Grant(d *handler.Descriptor) (handler.Capabilities, error) {
	g := &grant{e: e, d: d.Clone()}
	var caps handler.Capabilities
	if d.Category == handler.CategoryEffect {
		allow, perrs := CompileAllowlist(d.Security.AllowedDomains)
		if len(perrs) > 0 {
			errs := make([]error, len(perrs))
			for i, pe := range perrs {
				ve := diag.New(ruleid.SecurityMalformedDomain, "allowed domain %q %v", pe.Pattern, pe.Err)
				errs[i] = validate.At(g.d, fmt.Sprintf("security.allowed_domains[%d]", pe.Index), ve)
			}
			return handler.Capabilities{}, fmt.Errorf("grant %s: %w", d.Identity(), errors.Join(errs...))
		}
		gd := &guard{g: g, allow: allow, private: e.env.EgressPrivateNetworks}
		client, transport := gd.httpClient(e.tlsConfig)
		e.mu.Lock()
		e.transports = append(e.transports, transport)
		e.mu.Unlock()
		caps.Dialer, caps.HTTPClient = gd, client
	}
	if d.Category == handler.CategoryEffect || len(d.Security.SecretScopes) > 0 {
		r := &scopedReader{g: g}
		for _, s := range d.Security.SecretScopes {
			if scopeProblem(s) == "" && e.env.ScopePermitted(s) && !slices.Contains(r.scopes, s) {
				r.scopes = append(r.scopes, s)
			}
		}
		caps.Secrets = r
	}
	return caps, nil
}

// Denials returns how many times each invocation-time rule refused something.
func (e *Enforcer) Denials() map[handler.RuleID]uint64 {
	out := make(map[handler.RuleID]uint64, len(deniedRules))
	for i, r := range deniedRules {
		out[r] = e.counts[i].Load()
	}
	return out
}

// Close drops the idle connections of every granted HTTP client and closes the
// secret providers that hold resources.
func (e *Enforcer) Close() error {
	e.mu.Lock()
	ts := e.transports
	e.transports = nil
	e.mu.Unlock()
	for _, t := range ts {
		t.CloseIdleConnections()
	}
	var errs []error
	for _, p := range e.secrets {
		if c, ok := p.SecretProvider.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close secret provider %s: %w", p.Kind, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (e *Enforcer) record(rule handler.RuleID, name, target, message string) {
	if i := slices.Index(deniedRules[:], rule); i >= 0 {
		e.counts[i].Add(1)
	}
	e.logger.Warn("policy denial", "rule_id", string(rule), "handler", name, "target", target, "reason", message)
	if e.onDenial != nil {
		e.onDenial(Denial{Rule: rule, Handler: name, Target: target})
	}
}

// grant is what one handler was granted: the capabilities share it to report
// denials with the handler's identity.
type grant struct {
	e *Enforcer
	d *handler.Descriptor
}

func (g *grant) deny(rule handler.RuleID, path, target string, details map[string]any, format string, args ...any) *diag.ValidationError {
	ve := diag.New(rule, format, args...)
	ve.Details = details
	validate.At(g.d, path, ve)
	g.e.record(rule, g.d.Identity(), target, ve.Message)
	return ve
}

// scopedReader reads secrets of the declared (and permitted) scopes only.
type scopedReader struct {
	g      *grant
	scopes []string
}

var _ handler.SecretReader = (*scopedReader)(nil)

// ReadSecret refuses a scope outside the declared ones (SECURITY-311), then asks
// the providers in order.
func (r *scopedReader) ReadSecret(ctx context.Context, ref handler.SecretRef) (handler.Secret, error) {
	if !slices.Contains(r.scopes, ref.Scope) {
		declared := r.g.d.Security.SecretScopes
		why := "declared"
		if slices.Contains(declared, ref.Scope) {
			why = "permitted in environment " + string(r.g.e.env.Name)
		}
		return handler.Secret{}, r.g.deny(ruleid.SecuritySecretScope, "security.secret_scopes", ref.String(),
			map[string]any{"scope": ref.Scope, "key": ref.Key, "secret_scopes": slices.Clone(declared)},
			"secret %s: scope %q is not %s", ref, ref.Scope, why)
	}
	if ref.Key == "" {
		return handler.Secret{}, fmt.Errorf("secret %s: empty key", ref)
	}
	kinds := make([]string, 0, len(r.g.e.secrets))
	for _, p := range r.g.e.secrets {
		s, err := p.Lookup(ctx, ref)
		if errors.Is(err, ErrSecretNotFound) {
			kinds = append(kinds, p.Kind)
			continue
		}
		if err != nil {
			return handler.Secret{}, fmt.Errorf("secret %s from %s provider: %w", ref, p.Kind, err)
		}
		r.g.e.logger.Debug("secret read", "handler", r.g.d.Identity(), "scope", ref.Scope, "key", ref.Key, "provider", p.Kind)
		return s, nil
	}
	if len(kinds) == 0 {
		return handler.Secret{}, fmt.Errorf("secret %s: no secret provider is configured: %w", ref, ErrSecretNotFound)
	}
	return handler.Secret{}, fmt.Errorf("secret %s: not found in providers %v: %w", ref, kinds, ErrSecretNotFound)
}

// ResolveConfig returns config with every {"secret": "scope/key"} reference
// replaced by the secret's value, read through r (the scoped reader Grant
// returned). The result holds secret values: hand it to the handler's Init and
// never log it. Errors name the config path and the reference, never a value.
func ResolveConfig(ctx context.Context, r handler.SecretReader, config json.RawMessage) (json.RawMessage, error) {
	return handler.ResolveSecretRefs(config, func(path string, ref handler.SecretRef) (string, error) {
		if r == nil {
			return "", fmt.Errorf("%s: secret %s: the handler was granted no secret reader", path, ref)
		}
		s, err := r.ReadSecret(ctx, ref)
		if err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		return s.Reveal(), nil
	})
}
