// Package policy enforces the security policy of SPEC §6 in two layers.
//
// At registration, before any handler is constructed, the environment policy
// (onex.yaml environment:) is checked against every descriptor: SECURITY-300..309,
// SECURITY-311 for secret references in config whose scope is not declared, and
// the SECURITY-314 warning for an allowed_domains CIDR that covers a cloud
// metadata endpoint.
// Environment.Registration is the validate.Validator the host and `onex validate`
// plug into validate.Set.
//
// At invocation, policy is enforced by the capabilities an Enforcer grants, not
// by handler goodwill: an effect handler receives an egress-guarded dialer and an
// HTTP client built on it (SECURITY-310), and a secret reader limited to the
// scopes it declared (SECURITY-311). The guard matches the allowlist on the name,
// resolves the name once, checks every resolved address and dials only a checked
// address, so a second, different DNS answer can never be dialed. A cloud
// metadata or credential endpoint is dialed only when allowed_domains lists that
// exact IP address; an IPv6 address that embeds an IPv4 one (NAT64, 6to4,
// Teredo, IPv4-compatible, -translated) is refused when the IPv4 address would
// be, unless that exact IPv6 address is listed. The envelope
// classification check (SECURITY-312) belongs to the runtime's dispatch
// pipeline, which refuses the envelope before the handler runs.
//
// The sections of onex.yaml this package owns (every key optional):
//
//	environment:
//	  name: production                   # development (default), ci, staging, production
//	  permitted_secret_scopes: [db, partner-api]   # "*" = any; default "*", none in production
//	  max_data_classification: restricted          # default secret (no cap)
//	  require_explicit_domain_allowlist: true      # SECURITY-304 for every effect handler; default true in production
//	  adapter_secrets_override_allowed: false
//	  egress_private_networks: deny      # allow|deny; default deny in production, allow elsewhere
//	secrets:
//	  providers: [file, env]             # lookup order; default [env]
//	  file: {dir: /run/onex/secrets}     # <dir>/<scope>/<key>
//
// The env provider reads ONEX_SECRET_<SCOPE>_<KEY>; other provider kinds (vault)
// register themselves with RegisterProvider.
//
// Every denial is a *diag.ValidationError (reachable with errors.As through the
// wrappers of net/http and of handlers), is counted per rule, and is logged
// without secret values.
package policy
