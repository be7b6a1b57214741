// Package diag holds the structured-error model shared by every validation path:
// the rule catalog, report aggregation, and the text, JSON, SARIF 2.1.0 and GitHub
// annotation renderers.
package diag

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
)

// ValidationError is the structured error of SPEC §7. It is defined in the SDK
// (handler authors see it in descriptor and config validation) and aliased here.
type ValidationError = handler.ValidationError

// RuleID is a catalog id such as CONTRACT-004. Package ruleid spells every id
// as a typed constant; nothing else spells one.
type RuleID = ruleid.ID

// Rule is one entry of the catalog.
type Rule struct {
	ID          RuleID            `json:"id"`
	ErrorType   handler.ErrorType `json:"error_type"`
	Severity    handler.Severity  `json:"severity"`
	Title       string            `json:"title"`
	Remediation string            `json:"remediation"`
}

const (
	etParse    = handler.ErrContractParse
	etContract = handler.ErrContractValidation
	etDiscover = handler.ErrDiscovery
	etSecurity = handler.ErrSecurityValidation
	etArch     = handler.ErrArchitectureViolation
	etConfig   = handler.ErrConfiguration
	etRegister = handler.ErrRegistration
	etEnvelope = handler.ErrEnvelope
	etInvoke   = handler.ErrInvocation
	errSev     = handler.SeverityError
)

// The catalog. Extend it with a new constant in package ruleid; never reuse an id
// for another meaning; every rule has a test that triggers it (the tests of this
// package check all three). DESCRIPTOR rules come from the SDK, which checks them.
var catalog = func() []Rule {
	rules := []Rule{
		{ruleid.ContractSyntax, etParse, errSev, "YAML syntax error", "fix the YAML syntax at the reported line and column"},
		{ruleid.ContractMissingField, etContract, errSev, "required field missing", "add the missing field; `onex contract init` writes a complete contract to start from"},
		{ruleid.ContractInvalidValue, etContract, errSev, "wrong type or value not in the vocabulary", "use a value of the expected type, from the listed vocabulary"},
		{ruleid.ContractUnknownField, etContract, errSev, "unknown field", "remove the field or correct its spelling (see the did-you-mean suggestion)"},
		{ruleid.ContractForbiddenDeclaration, etContract, errSev, "forbidden declaration (execution graph, dispatch rules, publish declarations)", "a contract declares what a handler is, never how work flows: remove the declaration; the runtime routes by commands_accepted and publishes results itself"},
		{ruleid.ContractVersion, etContract, errSev, "invalid semantic version or unsupported contract_version major", "write versions as MAJOR.MINOR.PATCH (SemVer 2.0.0); contract_version must have major 1"},
		{ruleid.ContractUnreadable, etDiscover, errSev, "file too large, not a regular file, or unreadable", "keep each handler_contract.yaml a readable regular file under 10 MiB"},
		{ruleid.ContractDuplicateName, etContract, errSev, "duplicate handler_name within one source", "give every handler a unique handler_identity.name"},
		{ruleid.ContractImportNotRegistered, etRegister, errSev, "import_path not registered in this binary", "use one of the registered import paths (`onex handlers` lists them), or build a host binary that imports the handler package"},
		{ruleid.ContractSymlinkEscape, etDiscover, errSev, "symlink escapes the contract root", "point the symlink at a file inside a configured contract path, or add the target's directory to contract_paths"},
		{ruleid.ContractConfigRejected, etRegister, errSev, "handler config rejected by its factory", "fix config as the factory's message says; the handler's documentation lists its keys"},
		{ruleid.ContractDuplicateOperation, etRegister, errSev, "one operation accepted by two handlers", "route each operation to exactly one handler: give one of the handlers its own command namespace"},
		{ruleid.ContractImplementation, etContract, errSev, "both or neither of import_path / artifact_ref", "set exactly one of implementation.import_path or implementation.artifact_ref"},
		{ruleid.ContractAliasExpansion, etParse, errSev, "YAML alias expansion over the bound", "remove the nested aliases and anchors; write the values out"},
		{ruleid.ContractVerbNotImplemented, etRegister, errSev, "a command's verb is not implemented by the handler's factory", "end each command with one of the factory's verbs (listed in the message); the namespace before it is yours to choose"},
		{ruleid.ContractArtifactUnsupported, etRegister, errSev, "artifact_ref cannot be loaded by this host", "out-of-process artifacts are reserved: use implementation.import_path with a factory compiled into the host binary"},
		{ruleid.ContractDigestMismatch, etDiscover, errSev, "registry document does not match its pinned sha256 digest", "the registry serves something other than what its index pins: publish the intended document again, or update the index entry's digest to the document's sha256 after reviewing the change"},
		{ruleid.ContractIndexMalformed, etDiscover, errSev, "registry index malformed (not a JSON list of {name, url, digest}, a bad entry, or a name that differs from its contract's)", "serve the index as a JSON list of {\"name\", \"url\", \"digest\": \"sha256:<64 hex>\"}, one entry per contract, each name equal to its contract's handler_identity.name"},
		{ruleid.ContractRegistryUnreachable, etDiscover, errSev, "registry index or contract document cannot be fetched and no cached copy exists", "check handler_source.registry.url and that the registry is reachable from this host; keep handler_source.registry.cache_dir so a restart can use the last good set"},
		{ruleid.ContractNoneFound, etDiscover, errSev, "no handler_contract.yaml found under a configured contract directory", "point the path at a directory holding handler_contract.yaml files (searched recursively) or at a contract file, and check its spelling; `onex contract init` writes a contract to start from"},
	}
	for _, r := range handler.DescriptorRules() {
		rules = append(rules, Rule{r.ID, handler.ErrDescriptorValidation, errSev, r.Title, r.Remediation})
	}
	rules = append(rules,
		Rule{ruleid.SecurityScopeNotPermitted, etSecurity, errSev, "secret scope not permitted by the environment", "remove the scope from security.secret_scopes, or add it to environment.permitted_secret_scopes"},
		Rule{ruleid.SecurityClassificationTooHigh, etSecurity, errSev, "handler classification above the environment maximum", "lower security.data_classification, or run the handler in an environment whose max_data_classification allows it"},
		Rule{ruleid.SecurityAdapterSecrets, etSecurity, errSev, "adapter declares secret scopes", "adapters take no secrets: remove security.secret_scopes, or set environment.adapter_secrets_override_allowed: true"},
		Rule{ruleid.SecurityAdapterCategory, etSecurity, errSev, "adapter whose category is not effect", "set handler_type_category: effect, or set is_adapter: false"},
		Rule{ruleid.SecurityDomainAllowlist, etSecurity, errSev, "adapter (or handler where required) without an explicit domain allowlist", "list every host the handler may reach in security.allowed_domains, without a bare *"},
		Rule{ruleid.SecurityNoMetadata, etSecurity, errSev, "effect or nondeterministic handler with no security metadata", "declare a security block: at least data_classification, secret_scopes and allowed_domains"},
		Rule{ruleid.SecurityComputeDeclares, etSecurity, errSev, "compute handler declaring secret scopes or allowed domains", "a compute handler is pure: remove secret_scopes and allowed_domains, or make it an effect handler"},
		Rule{ruleid.SecurityMalformedScope, etSecurity, errSev, "malformed secret scope", "write each secret scope as a non-empty name without whitespace, e.g. partner-api"},
		Rule{ruleid.SecurityMalformedDomain, etSecurity, errSev, "malformed domain pattern", "write host names (api.example.com), one-label wildcards (*.example.com), IPs, CIDRs or host:port, without a scheme or path"},
		Rule{ruleid.SecurityAdapterObservability, etSecurity, errSev, "adapter whose observability_level is not enhanced", "set security.observability_level: enhanced on the adapter"},
		Rule{ruleid.SecurityEgress, etSecurity, errSev, "outbound connection to a host outside allowed_domains", "add the host to security.allowed_domains if the handler should reach it; private addresses also need environment.egress_private_networks: allow; a cloud metadata endpoint, or an IPv6 address carrying a refused IPv4 address, is reached only by listing that exact IP address"},
		Rule{ruleid.SecuritySecretScope, etSecurity, errSev, "secret read outside the declared secret_scopes", "declare the scope in security.secret_scopes (and permit it in the environment), or read a secret of a declared scope"},
		Rule{ruleid.SecurityClassification, etSecurity, errSev, "envelope classification above the handler's classification", "send the data to a handler cleared for its classification, or raise the handler's security.data_classification"},
		Rule{ruleid.SecurityMetadataInRange, etSecurity, handler.SeverityWarning, "CIDR in allowed_domains covers a cloud metadata or credential endpoint, which it does not grant", "a CIDR, wildcard or name never reaches a cloud metadata or credential endpoint: if the handler must reach one, list its exact IP address in security.allowed_domains (e.g. 169.254.169.254); otherwise nothing needs to change"},
		Rule{ruleid.ArchDirectDispatch, etArch, errSev, "handler dispatched directly, bypassing the runtime", "send an envelope to the runtime instead of calling Handle; only the runtime invokes handlers"},
		Rule{ruleid.ArchHandlerPublish, etArch, errSev, "handler publishing (holds or uses a bus or publisher)", "return the result in Output; the runtime publishes it. Remove the bus/publisher from the handler"},
		Rule{ruleid.ArchOrchestratorFSM, etArch, errSev, "workflow FSM in an orchestrator", "move the state machine into a reducer (…Reducer or handler.Reducer); orchestrators only coordinate"},
		Rule{ruleid.ArchCapabilityIO, etArch, errSev, "handler I/O outside its granted capabilities", "use the capabilities of the Invocation/InitEnv (HTTPClient, Dialer, Secrets) instead of dialing, executing or opening on your own"},
		Rule{ruleid.ArchPureHandlerIO, etArch, errSev, "pure (compute or nondeterministic_compute) handler whose factory needs egress or secrets", "a pure handler is granted no I/O: declare it handler_type_category: effect with a security block, or point it at a factory that needs neither egress nor secrets"},
		Rule{ruleid.ArchUnusedGrant, etArch, handler.SeverityWarning, "descriptor grants a capability its factory does not use", "grant only what the factory uses: remove the unused security.allowed_domains or secret_scopes entries (a secret scope is used when the factory reads secrets or config references it)"},
		Rule{ruleid.RuntimeNoHandlers, etRegister, errSev, "no handler could be registered", "add contracts under contract_paths (or choose a mode with handlers) and fix the reported errors"},
		Rule{ruleid.RuntimeConfig, etConfig, errSev, "invalid runtime configuration", "fix the named key of onex.yaml (see the did-you-mean suggestion)"},
		Rule{ruleid.RuntimeBootstrapOverride, etConfig, errSev, "bootstrap override expired, or bootstrap mode in production without override", "move the handlers to contracts (mode: contract), or renew bootstrap_expires_at / set allow_bootstrap_override deliberately"},
		Rule{ruleid.RuntimeInitFailed, etRegister, errSev, "required handler failed to initialise", "fix the cause in the message (config, secrets, reachability), or mark the handler optional"},
		Rule{ruleid.EnvelopeMalformed, etEnvelope, errSev, "malformed envelope (not JSON, or a field of the wrong type)", "send one JSON object per envelope with the fields of the envelope format"},
		Rule{ruleid.EnvelopeNoOperation, etEnvelope, errSev, "operation missing", "set operation to a command such as db.query"},
		Rule{ruleid.EnvelopeUnknownOperation, etEnvelope, errSev, "unknown operation", "use an operation that a registered handler accepts (`onex handlers` lists them)"},
		Rule{ruleid.EnvelopeWrongHandler, etEnvelope, errSev, "handler does not accept the operation", "leave handler out, or name the handler that accepts the operation"},
		Rule{ruleid.EnvelopeTooLarge, etEnvelope, errSev, "envelope too large", "keep envelopes under runtime.max_envelope_bytes, or raise the limit"},
		Rule{ruleid.EnvelopeClassification, etEnvelope, errSev, "unknown data_classification", "use public, internal, confidential, restricted or secret"},
		Rule{ruleid.EnvelopeGatewayRefused, etEnvelope, errSev, "request refused by the HTTP gateway (unknown path, method other than POST, or a body that is not JSON)", "POST one JSON envelope to /v1/envelopes with Content-Type: application/json"},
		Rule{ruleid.HandlerError, etInvoke, errSev, "handler error", "see the message; retry when retryable is true"},
		Rule{ruleid.HandlerTimeout, etInvoke, errSev, "handler timed out", "raise the handler's timeout, or make the work smaller"},
		Rule{ruleid.HandlerPanic, etInvoke, errSev, "handler panicked", "this is a bug in the handler: report it with the correlation id"},
		Rule{ruleid.HandlerUnavailable, etInvoke, errSev, "handler unavailable", "the handler failed to initialise or is unhealthy: check `onex handlers` and the logs"},
		Rule{ruleid.HandlerCircuitOpen, etInvoke, errSev, "circuit open", "the handler's dependency is failing; retry after the cool-down"},
		Rule{ruleid.HandlerPayloadRejected, etInvoke, errSev, "payload rejected by the handler", "fix the named payload field"},
	)
	return rules
}()

var byID = func() map[RuleID]int {
	m := make(map[RuleID]int, len(catalog))
	for i, r := range catalog {
		if !r.ID.Valid() {
			panic("diag: malformed rule id " + string(r.ID))
		}
		if _, dup := m[r.ID]; dup {
			panic("diag: duplicate rule id " + string(r.ID))
		}
		m[r.ID] = i
	}
	return m
}()

// Rules returns the catalog, sorted by rule family and number.
func Rules() []Rule {
	out := slices.Clone(catalog)
	slices.SortStableFunc(out, func(a, b Rule) int { return CompareRuleIDs(a.ID, b.ID) })
	return out
}

// Lookup returns the catalog entry of id.
func Lookup(id RuleID) (Rule, bool) {
	i, ok := byID[id]
	if !ok {
		return Rule{}, false
	}
	return catalog[i], true
}

// familyOrder is the order of rule families in listings.
var familyOrder = []string{"CONTRACT", "DESCRIPTOR", "SECURITY", "ARCH", "RUNTIME", "ENVELOPE", "HANDLER"}

// CompareRuleIDs orders ids by family (in catalog order) and then numerically.
func CompareRuleIDs(a, b RuleID) int {
	fa, na := splitID(a)
	fb, nb := splitID(b)
	if fa != fb {
		ia, ib := slices.Index(familyOrder, fa), slices.Index(familyOrder, fb)
		if ia < 0 || ib < 0 {
			return strings.Compare(fa, fb)
		}
		return ia - ib
	}
	return na - nb
}

func splitID(id RuleID) (string, int) {
	fam, num, _ := strings.Cut(string(id), "-")
	n, _ := strconv.Atoi(num)
	return fam, n
}

// New makes a ValidationError of rule id with the catalog's error type, severity
// and default remediation; set the other fields on the result. An id outside the
// catalog is a programmer error and panics.
func New(id RuleID, format string, args ...any) *ValidationError {
	r, ok := Lookup(id)
	if !ok {
		panic("diag: rule " + string(id) + " is not in the catalog")
	}
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &ValidationError{
		ErrorType:       r.ErrorType,
		RuleID:          id,
		Message:         msg,
		RemediationHint: r.Remediation,
		Severity:        r.Severity,
	}
}

// ArchitectureViolationError is returned when code breaks an architecture rule at
// run time, e.g. a bus publish attempted from inside a handler invocation (ARCH-002).
type ArchitectureViolationError struct {
	*ValidationError
}

// Unwrap exposes the ValidationError.
func (e *ArchitectureViolationError) Unwrap() error { return e.ValidationError }
