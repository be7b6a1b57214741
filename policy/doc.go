// Package policy enforces the security policy of SPEC §6 in two layers.
//
// At registration, before any handler is constructed, the environment policy
// (onex.yaml environment:) is checked against every descriptor: SECURITY-300..309,
// and SECURITY-311 for secret references in config whose scope is not declared.
// Environment.Registration is the validate.Validator the host and `onex validate`
// plug into validate.Set.
//
// At invocation, policy is enforced by the capabilities an Enforcer grants, not
// by handler goodwill: an effect handler receives an egress-guarded dialer and an
// HTTP client built on it (SECURITY-310), and a secret reader limited to the
// scopes it declared (SECURITY-311). The guard matches the allowlist on the name,
// resolves the name once, checks every resolved address and dials only a checked
// address, so a second, different DNS answer can never be dialed. The envelope
// classification check (SECURITY-312) belongs to the runtime's dispatch
// pipeline, which refuses the envelope before the handler runs.
//
// Every denial is a *diag.ValidationError (reachable with errors.As through the
// wrappers of net/http and of handlers), is counted per rule, and is logged
// without secret values.
package policy
