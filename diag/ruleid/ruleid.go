// Package ruleid is the one place a rule id is spelled: one typed constant per
// rule of the catalog. It imports nothing of this module, so the SDK (package
// handler), which checks the DESCRIPTOR rules itself, can use it; package diag
// holds the rest of each rule (title, error type, severity, remediation).
//
// Ids are wire values: they are never reused for another meaning and never
// renamed. The constants are named for what the rule refuses, so a call site
// reads as its meaning; each constant's comment gives its id.
package ruleid

import "regexp"

// ID identifies a rule of the catalog, e.g. CONTRACT-004.
type ID string

var idRE = regexp.MustCompile(`^[A-Z]+-\d+$`)

// Valid reports whether id has the form ^[A-Z]+-\d+$.
func (id ID) Valid() bool { return idRE.MatchString(string(id)) }

func (id ID) String() string { return string(id) }

// CONTRACT: reading and checking handler_contract.yaml.
const (
	// ContractSyntax is CONTRACT-001: YAML syntax error.
	ContractSyntax ID = "CONTRACT-001"
	// ContractMissingField is CONTRACT-002: required field missing.
	ContractMissingField ID = "CONTRACT-002"
	// ContractInvalidValue is CONTRACT-003: wrong type, or a value outside the vocabulary.
	ContractInvalidValue ID = "CONTRACT-003"
	// ContractUnknownField is CONTRACT-004: unknown field.
	ContractUnknownField ID = "CONTRACT-004"
	// ContractForbiddenDeclaration is CONTRACT-005: execution graph, dispatch rules or publish declarations.
	ContractForbiddenDeclaration ID = "CONTRACT-005"
	// ContractVersion is CONTRACT-006: invalid semantic version or unsupported contract_version major.
	ContractVersion ID = "CONTRACT-006"
	// ContractUnreadable is CONTRACT-007: file too large, not a regular file, or unreadable.
	ContractUnreadable ID = "CONTRACT-007"
	// ContractDuplicateName is CONTRACT-008: duplicate handler_name within one source.
	ContractDuplicateName ID = "CONTRACT-008"
	// ContractImportNotRegistered is CONTRACT-009: import_path not registered in this binary.
	ContractImportNotRegistered ID = "CONTRACT-009"
	// ContractSymlinkEscape is CONTRACT-010: symlink escapes the contract root.
	ContractSymlinkEscape ID = "CONTRACT-010"
	// ContractConfigRejected is CONTRACT-011: handler config rejected by its factory.
	ContractConfigRejected ID = "CONTRACT-011"
	// ContractDuplicateOperation is CONTRACT-012: one operation accepted by two handlers.
	ContractDuplicateOperation ID = "CONTRACT-012"
	// ContractImplementation is CONTRACT-013: both or neither of import_path and artifact_ref.
	ContractImplementation ID = "CONTRACT-013"
	// ContractAliasExpansion is CONTRACT-014: YAML alias expansion over the bound.
	ContractAliasExpansion ID = "CONTRACT-014"
	// ContractVerbNotImplemented is CONTRACT-015: a command's verb is not implemented by the factory.
	ContractVerbNotImplemented ID = "CONTRACT-015"
	// ContractArtifactUnsupported is CONTRACT-016: artifact_ref cannot be loaded by this host.
	ContractArtifactUnsupported ID = "CONTRACT-016"
	// ContractDigestMismatch is CONTRACT-017: registry document does not match its pinned digest.
	ContractDigestMismatch ID = "CONTRACT-017"
	// ContractIndexMalformed is CONTRACT-018: registry index malformed.
	ContractIndexMalformed ID = "CONTRACT-018"
	// ContractRegistryUnreachable is CONTRACT-019: registry unreachable and no cached copy.
	ContractRegistryUnreachable ID = "CONTRACT-019"
	// ContractNoneFound is CONTRACT-020: no handler_contract.yaml under a configured directory.
	ContractNoneFound ID = "CONTRACT-020"
)

// DESCRIPTOR: the invariants of a handler.Descriptor, checked by the SDK.
const (
	// DescriptorName is DESCRIPTOR-001: handler_name missing or malformed.
	DescriptorName ID = "DESCRIPTOR-001"
	// DescriptorVersion is DESCRIPTOR-002: handler_version is not a semantic version.
	DescriptorVersion ID = "DESCRIPTOR-002"
	// DescriptorType is DESCRIPTOR-003: handler_type missing or unknown.
	DescriptorType ID = "DESCRIPTOR-003"
	// DescriptorCategory is DESCRIPTOR-004: handler_type_category missing or unknown.
	DescriptorCategory ID = "DESCRIPTOR-004"
	// DescriptorNoCommands is DESCRIPTOR-005: commands_accepted is empty.
	DescriptorNoCommands ID = "DESCRIPTOR-005"
	// DescriptorCommand is DESCRIPTOR-006: malformed command.
	DescriptorCommand ID = "DESCRIPTOR-006"
	// DescriptorDupCommand is DESCRIPTOR-007: command listed twice.
	DescriptorDupCommand ID = "DESCRIPTOR-007"
	// DescriptorImpl is DESCRIPTOR-008: both or neither of import_path and artifact_ref.
	DescriptorImpl ID = "DESCRIPTOR-008"
	// DescriptorCapability is DESCRIPTOR-009: unknown capability.
	DescriptorCapability ID = "DESCRIPTOR-009"
	// DescriptorImplRef is DESCRIPTOR-010: malformed import_path or artifact_ref.
	DescriptorImplRef ID = "DESCRIPTOR-010"
	// DescriptorSecurity is DESCRIPTOR-011: security value outside the vocabulary.
	DescriptorSecurity ID = "DESCRIPTOR-011"
	// DescriptorProvenance is DESCRIPTOR-012: descriptor without provenance.
	DescriptorProvenance ID = "DESCRIPTOR-012"
	// DescriptorConfigObject is DESCRIPTOR-013: config is not a JSON object.
	DescriptorConfigObject ID = "DESCRIPTOR-013"
)

// SECURITY: registration against the environment, and the runtime guards.
const (
	// SecurityScopeNotPermitted is SECURITY-300: secret scope not permitted by the environment.
	SecurityScopeNotPermitted ID = "SECURITY-300"
	// SecurityClassificationTooHigh is SECURITY-301: handler classification above the environment maximum.
	SecurityClassificationTooHigh ID = "SECURITY-301"
	// SecurityAdapterSecrets is SECURITY-302: adapter declares secret scopes.
	SecurityAdapterSecrets ID = "SECURITY-302"
	// SecurityAdapterCategory is SECURITY-303: adapter whose category is not effect.
	SecurityAdapterCategory ID = "SECURITY-303"
	// SecurityDomainAllowlist is SECURITY-304: no explicit domain allowlist where one is required.
	SecurityDomainAllowlist ID = "SECURITY-304"
	// SecurityNoMetadata is SECURITY-305: effect or nondeterministic handler without security metadata.
	SecurityNoMetadata ID = "SECURITY-305"
	// SecurityComputeDeclares is SECURITY-306: compute handler declaring secret scopes or allowed domains.
	SecurityComputeDeclares ID = "SECURITY-306"
	// SecurityMalformedScope is SECURITY-307: malformed secret scope.
	SecurityMalformedScope ID = "SECURITY-307"
	// SecurityMalformedDomain is SECURITY-308: malformed domain pattern.
	SecurityMalformedDomain ID = "SECURITY-308"
	// SecurityAdapterObservability is SECURITY-309: adapter whose observability_level is not enhanced.
	SecurityAdapterObservability ID = "SECURITY-309"
	// SecurityEgress is SECURITY-310: outbound connection to a host outside allowed_domains.
	SecurityEgress ID = "SECURITY-310"
	// SecuritySecretScope is SECURITY-311: secret read outside the declared secret_scopes.
	SecuritySecretScope ID = "SECURITY-311"
	// SecurityClassification is SECURITY-312: envelope classification above the handler's.
	SecurityClassification ID = "SECURITY-312"
	// SecurityMetadataInRange is SECURITY-314: a CIDR in allowed_domains covers a metadata endpoint.
	SecurityMetadataInRange ID = "SECURITY-314"
)

// ARCH: architecture rules, static (onex vet) and at start or run time.
const (
	// ArchDirectDispatch is ARCH-001: handler dispatched directly, bypassing the runtime.
	ArchDirectDispatch ID = "ARCH-001"
	// ArchHandlerPublish is ARCH-002: handler publishing.
	ArchHandlerPublish ID = "ARCH-002"
	// ArchOrchestratorFSM is ARCH-003: workflow FSM in an orchestrator.
	ArchOrchestratorFSM ID = "ARCH-003"
	// ArchCapabilityIO is ARCH-004: handler I/O outside its granted capabilities.
	ArchCapabilityIO ID = "ARCH-004"
	// ArchPureHandlerIO is ARCH-005: pure handler whose factory needs egress or secrets.
	ArchPureHandlerIO ID = "ARCH-005"
	// ArchUnusedGrant is ARCH-006: descriptor grants a capability its factory does not use.
	ArchUnusedGrant ID = "ARCH-006"
)

// RUNTIME: configuration and start of the host.
const (
	// RuntimeNoHandlers is RUNTIME-001: no handler could be registered.
	RuntimeNoHandlers ID = "RUNTIME-001"
	// RuntimeConfig is RUNTIME-002: invalid runtime configuration.
	RuntimeConfig ID = "RUNTIME-002"
	// RuntimeBootstrapOverride is RUNTIME-003: bootstrap mode not allowed, or its override expired.
	RuntimeBootstrapOverride ID = "RUNTIME-003"
	// RuntimeInitFailed is RUNTIME-004: required handler failed to initialise.
	RuntimeInitFailed ID = "RUNTIME-004"
)

// ENVELOPE: envelopes refused before any handler runs.
const (
	// EnvelopeMalformed is ENVELOPE-001: not JSON, or a field of the wrong type.
	EnvelopeMalformed ID = "ENVELOPE-001"
	// EnvelopeNoOperation is ENVELOPE-002: operation missing.
	EnvelopeNoOperation ID = "ENVELOPE-002"
	// EnvelopeUnknownOperation is ENVELOPE-003: unknown operation.
	EnvelopeUnknownOperation ID = "ENVELOPE-003"
	// EnvelopeWrongHandler is ENVELOPE-004: the named handler does not accept the operation.
	EnvelopeWrongHandler ID = "ENVELOPE-004"
	// EnvelopeTooLarge is ENVELOPE-005: envelope too large.
	EnvelopeTooLarge ID = "ENVELOPE-005"
	// EnvelopeClassification is ENVELOPE-006: unknown data_classification.
	EnvelopeClassification ID = "ENVELOPE-006"
	// EnvelopeGatewayRefused is ENVELOPE-007: request refused by the HTTP gateway.
	EnvelopeGatewayRefused ID = "ENVELOPE-007"
)

// HANDLER: the outcome of an invocation.
const (
	// HandlerError is HANDLER-001: the handler returned an error.
	HandlerError ID = "HANDLER-001"
	// HandlerTimeout is HANDLER-002: handler timed out.
	HandlerTimeout ID = "HANDLER-002"
	// HandlerPanic is HANDLER-003: handler panicked.
	HandlerPanic ID = "HANDLER-003"
	// HandlerUnavailable is HANDLER-004: handler unavailable.
	HandlerUnavailable ID = "HANDLER-004"
	// HandlerCircuitOpen is HANDLER-005: circuit open.
	HandlerCircuitOpen ID = "HANDLER-005"
	// HandlerPayloadRejected is HANDLER-006: payload rejected by the handler.
	HandlerPayloadRejected ID = "HANDLER-006"
)
