package handler

// Vocabulary ownership: every closed set of wire values that onex understands is
// declared in this file and nowhere else. Each value is a named Go type with a
// Parse function, String, and text (un)marshalling; an unknown or blank value is a
// *VocabularyError naming the valid values, never a silent default.
//
// Extension rule: closed sets change only here, together with SPEC.md. The only
// open-ended sets are Capability (vendor extensions written x.<vendor>.<name>) and
// Command (<namespace>.<verb>); both are validated by their patterns.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// VocabularyError reports a value outside a closed vocabulary or not matching a
// vocabulary pattern.
type VocabularyError struct {
	Kind  string   // the vocabulary, e.g. "handler_type_category"
	Value string   // the rejected value
	Valid []string // the accepted values, or a single pattern description
}

func (e *VocabularyError) Error() string {
	valid := strings.Join(e.Valid, ", ")
	if strings.TrimSpace(e.Value) == "" {
		return fmt.Sprintf("%s is empty (valid: %s)", e.Kind, valid)
	}
	return fmt.Sprintf("unknown %s %q (valid: %s)", e.Kind, e.Value, valid)
}

// parseEnum is the one parser behind every closed string vocabulary.
func parseEnum[T ~string](kind, s string, values []T) (T, error) {
	for _, v := range values {
		if string(v) == s {
			return v, nil
		}
	}
	valid := make([]string, len(values))
	for i, v := range values {
		valid[i] = string(v)
	}
	return "", &VocabularyError{Kind: kind, Value: s, Valid: valid}
}

// SourceType names a handler source, and the host's mode.
type SourceType string

// Handler sources.
const (
	SourceBootstrap SourceType = "bootstrap"
	SourceContract  SourceType = "contract"
	SourceHybrid    SourceType = "hybrid"
	SourceRegistry  SourceType = "registry"
)

// SourceTypes lists every SourceType in wire order.
var SourceTypes = []SourceType{SourceBootstrap, SourceContract, SourceHybrid, SourceRegistry}

// ParseSourceType parses a wire value.
func ParseSourceType(s string) (SourceType, error) { return parseEnum("source type", s, SourceTypes) }

func (v SourceType) String() string { return string(v) }

// Valid reports whether v is a member of the vocabulary.
func (v SourceType) Valid() bool { return slices.Contains(SourceTypes, v) }

// MarshalText implements encoding.TextMarshaler; an invalid value is an error.
func (v SourceType) MarshalText() ([]byte, error) { return marshalEnum(v, v.Valid(), "source type") }

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *SourceType) UnmarshalText(b []byte) error { return unmarshalEnum(v, b, ParseSourceType) }

// HandlerType is the architectural role of a handler.
type HandlerType string

// Handler types.
const (
	TypeInfra      HandlerType = "infra_handler"
	TypeNode       HandlerType = "node_handler"
	TypeProjection HandlerType = "projection_handler"
	TypeCompute    HandlerType = "compute_handler"
)

// HandlerTypes lists every HandlerType in wire order.
var HandlerTypes = []HandlerType{TypeInfra, TypeNode, TypeProjection, TypeCompute}

// ParseHandlerType parses a wire value.
func ParseHandlerType(s string) (HandlerType, error) {
	return parseEnum("handler_type", s, HandlerTypes)
}

func (v HandlerType) String() string { return string(v) }

// Valid reports whether v is a member of the vocabulary.
func (v HandlerType) Valid() bool { return slices.Contains(HandlerTypes, v) }

// MarshalText implements encoding.TextMarshaler.
func (v HandlerType) MarshalText() ([]byte, error) {
	return marshalEnum(v, v.Valid(), "handler_type")
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *HandlerType) UnmarshalText(b []byte) error { return unmarshalEnum(v, b, ParseHandlerType) }

// Category is the behaviour of a handler. ADAPTER is not a category: it is the
// is_adapter policy tag on an effect handler.
type Category string

// Categories.
const (
	CategoryCompute                 Category = "compute"
	CategoryEffect                  Category = "effect"
	CategoryNondeterministicCompute Category = "nondeterministic_compute"
)

// Categories lists every Category in wire order.
var Categories = []Category{CategoryCompute, CategoryEffect, CategoryNondeterministicCompute}

// ParseCategory parses a wire value.
func ParseCategory(s string) (Category, error) {
	return parseEnum("handler_type_category", s, Categories)
}

func (v Category) String() string { return string(v) }

// Valid reports whether v is a member of the vocabulary.
func (v Category) Valid() bool { return slices.Contains(Categories, v) }

// MarshalText implements encoding.TextMarshaler.
func (v Category) MarshalText() ([]byte, error) {
	return marshalEnum(v, v.Valid(), "handler_type_category")
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *Category) UnmarshalText(b []byte) error { return unmarshalEnum(v, b, ParseCategory) }

// Capability is a declared behavioural capability: one of the controlled set, or a
// namespaced extension x.<vendor>.<name>.
type Capability string

// The controlled capability set.
const (
	CapTransform  Capability = "transform"
	CapValidate   Capability = "validate"
	CapCache      Capability = "cache"
	CapRetry      Capability = "retry"
	CapBatch      Capability = "batch"
	CapStream     Capability = "stream"
	CapAsync      Capability = "async"
	CapIdempotent Capability = "idempotent"
)

// KnownCapabilities lists the controlled capability set in wire order.
var KnownCapabilities = []Capability{CapTransform, CapValidate, CapCache, CapRetry, CapBatch, CapStream, CapAsync, CapIdempotent}

// CapabilityExtensionPattern is the pattern of a vendor extension capability,
// x.<vendor>.<name>.
const CapabilityExtensionPattern = `^x\.[a-z][a-z0-9-]*\.[a-z][a-z0-9_-]*$`

var capabilityExtensionRE = regexp.MustCompile(CapabilityExtensionPattern)

// ParseCapability parses a wire value: a member of the controlled set or an
// extension matching x.<vendor>.<name>.
func ParseCapability(s string) (Capability, error) {
	c := Capability(s)
	if c.Valid() {
		return c, nil
	}
	valid := make([]string, 0, len(KnownCapabilities)+1)
	for _, v := range KnownCapabilities {
		valid = append(valid, string(v))
	}
	valid = append(valid, "x.<vendor>.<name>")
	return "", &VocabularyError{Kind: "capability", Value: s, Valid: valid}
}

func (v Capability) String() string { return string(v) }

// Valid reports whether v is in the controlled set or a well-formed extension.
func (v Capability) Valid() bool {
	return slices.Contains(KnownCapabilities, v) || capabilityExtensionRE.MatchString(string(v))
}

// IsExtension reports whether v is a vendor extension.
func (v Capability) IsExtension() bool { return capabilityExtensionRE.MatchString(string(v)) }

// MarshalText implements encoding.TextMarshaler.
func (v Capability) MarshalText() ([]byte, error) { return marshalEnum(v, v.Valid(), "capability") }

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *Capability) UnmarshalText(b []byte) error { return unmarshalEnum(v, b, ParseCapability) }

// Command is an operation identifier, <namespace>.<verb>, e.g. db.query.
type Command string

// CommandPattern is the pattern every Command matches; VerbPattern the pattern
// of its last segment, the verb a factory implements.
const (
	CommandPattern = `^` + commandSegment + `(\.` + commandSegment + `)+$`
	VerbPattern    = `^` + commandSegment + `$`
)

const commandSegment = `[a-z][a-z0-9_]*`

var commandRE = regexp.MustCompile(CommandPattern)

// ParseCommand parses an operation identifier.
func ParseCommand(s string) (Command, error) {
	if !commandRE.MatchString(s) {
		return "", &VocabularyError{Kind: "command", Value: s, Valid: []string{"<namespace>.<verb> matching " + CommandPattern}}
	}
	return Command(s), nil
}

func (c Command) String() string { return string(c) }

// Valid reports whether c matches CommandPattern.
func (c Command) Valid() bool { return commandRE.MatchString(string(c)) }

// Verb is the last dot-separated segment: what the factory implements.
func (c Command) Verb() string {
	i := strings.LastIndexByte(string(c), '.')
	return string(c[i+1:])
}

// Namespace is everything before the verb: the contract's to choose.
func (c Command) Namespace() string {
	i := strings.LastIndexByte(string(c), '.')
	if i < 0 {
		return ""
	}
	return string(c[:i])
}

// MarshalText implements encoding.TextMarshaler.
func (c Command) MarshalText() ([]byte, error) { return marshalEnum(c, c.Valid(), "command") }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Command) UnmarshalText(b []byte) error { return unmarshalEnum(c, b, ParseCommand) }

// Classification is a data classification. It is ordered: Public < Internal <
// Confidential < Restricted < Secret. The zero value means "not declared".
type Classification uint8

// Classifications, in order.
const (
	ClassificationUnset Classification = iota
	ClassificationPublic
	ClassificationInternal
	ClassificationConfidential
	ClassificationRestricted
	ClassificationSecret
)

// DefaultClassification applies where none is declared.
const DefaultClassification = ClassificationInternal

var classificationNames = [...]string{"", "public", "internal", "confidential", "restricted", "secret"}

// Classifications lists every declared classification in ascending order.
var Classifications = []Classification{ClassificationPublic, ClassificationInternal, ClassificationConfidential, ClassificationRestricted, ClassificationSecret}

// ParseClassification parses a wire value.
func ParseClassification(s string) (Classification, error) {
	for i := 1; i < len(classificationNames); i++ {
		if classificationNames[i] == s {
			return Classification(i), nil
		}
	}
	return ClassificationUnset, &VocabularyError{Kind: "data_classification", Value: s, Valid: classificationNames[1:]}
}

func (c Classification) String() string {
	if int(c) < len(classificationNames) {
		return classificationNames[c]
	}
	return fmt.Sprintf("Classification(%d)", uint8(c))
}

// Valid reports whether c is a declared classification (not Unset).
func (c Classification) Valid() bool { return c >= ClassificationPublic && c <= ClassificationSecret }

// OrDefault returns c, or DefaultClassification when c is Unset.
func (c Classification) OrDefault() Classification {
	if c == ClassificationUnset {
		return DefaultClassification
	}
	return c
}

// Exceeds reports whether c is strictly more sensitive than limit (both defaulted).
func (c Classification) Exceeds(limit Classification) bool { return c.OrDefault() > limit.OrDefault() }

// MarshalText implements encoding.TextMarshaler.
func (c Classification) MarshalText() ([]byte, error) {
	if !c.Valid() {
		return nil, fmt.Errorf("invalid data_classification %d", uint8(c))
	}
	return []byte(classificationNames[c]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Classification) UnmarshalText(b []byte) error {
	v, err := ParseClassification(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// ObservabilityLevel is how much a handler's invocations are observed.
type ObservabilityLevel string

// Observability levels.
const (
	ObservabilityStandard ObservabilityLevel = "standard"
	ObservabilityEnhanced ObservabilityLevel = "enhanced"
)

// ObservabilityLevels lists every level in wire order.
var ObservabilityLevels = []ObservabilityLevel{ObservabilityStandard, ObservabilityEnhanced}

// ParseObservabilityLevel parses a wire value.
func ParseObservabilityLevel(s string) (ObservabilityLevel, error) {
	return parseEnum("observability_level", s, ObservabilityLevels)
}

func (v ObservabilityLevel) String() string { return string(v) }

// Valid reports whether v is a member of the vocabulary.
func (v ObservabilityLevel) Valid() bool { return slices.Contains(ObservabilityLevels, v) }

// OrDefault returns v, or ObservabilityStandard when v is empty.
func (v ObservabilityLevel) OrDefault() ObservabilityLevel {
	if v == "" {
		return ObservabilityStandard
	}
	return v
}

// MarshalText implements encoding.TextMarshaler.
func (v ObservabilityLevel) MarshalText() ([]byte, error) {
	return marshalEnum(v, v.Valid(), "observability_level")
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *ObservabilityLevel) UnmarshalText(b []byte) error {
	return unmarshalEnum(v, b, ParseObservabilityLevel)
}

// Environment is the deployment environment a host runs in.
type Environment string

// Environments.
const (
	EnvDevelopment Environment = "development"
	EnvCI          Environment = "ci"
	EnvStaging     Environment = "staging"
	EnvProduction  Environment = "production"
)

// Environments lists every Environment in wire order.
var Environments = []Environment{EnvDevelopment, EnvCI, EnvStaging, EnvProduction}

// ParseEnvironment parses a wire value.
func ParseEnvironment(s string) (Environment, error) {
	return parseEnum("environment", s, Environments)
}

func (v Environment) String() string { return string(v) }

// Valid reports whether v is a member of the vocabulary.
func (v Environment) Valid() bool { return slices.Contains(Environments, v) }

// MarshalText implements encoding.TextMarshaler.
func (v Environment) MarshalText() ([]byte, error) {
	return marshalEnum(v, v.Valid(), "environment")
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *Environment) UnmarshalText(b []byte) error { return unmarshalEnum(v, b, ParseEnvironment) }

// ErrorType classifies a ValidationError by the stage that found it.
type ErrorType string

// Error types.
const (
	ErrContractParse         ErrorType = "contract_parse_error"
	ErrContractValidation    ErrorType = "contract_validation_error"
	ErrDescriptorValidation  ErrorType = "descriptor_validation_error"
	ErrDiscovery             ErrorType = "discovery_error"
	ErrSecurityValidation    ErrorType = "security_validation_error"
	ErrArchitectureViolation ErrorType = "architecture_violation"
	ErrConfiguration         ErrorType = "configuration_error"
	ErrRegistration          ErrorType = "registration_error"
	ErrEnvelope              ErrorType = "envelope_error"
	ErrInvocation            ErrorType = "invocation_error"
)

// ErrorTypes lists every ErrorType in wire order.
var ErrorTypes = []ErrorType{
	ErrContractParse, ErrContractValidation, ErrDescriptorValidation, ErrDiscovery,
	ErrSecurityValidation, ErrArchitectureViolation, ErrConfiguration, ErrRegistration,
	ErrEnvelope, ErrInvocation,
}

// ParseErrorType parses a wire value.
func ParseErrorType(s string) (ErrorType, error) { return parseEnum("error_type", s, ErrorTypes) }

func (v ErrorType) String() string { return string(v) }

// Valid reports whether v is a member of the vocabulary.
func (v ErrorType) Valid() bool { return slices.Contains(ErrorTypes, v) }

// MarshalText implements encoding.TextMarshaler.
func (v ErrorType) MarshalText() ([]byte, error) { return marshalEnum(v, v.Valid(), "error_type") }

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *ErrorType) UnmarshalText(b []byte) error { return unmarshalEnum(v, b, ParseErrorType) }

// Severity says whether a ValidationError blocks: only SeverityError does.
type Severity string

// Severities, most severe first.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// Severities lists every Severity, most severe first.
var Severities = []Severity{SeverityError, SeverityWarning, SeverityInfo}

// ParseSeverity parses a wire value.
func ParseSeverity(s string) (Severity, error) { return parseEnum("severity", s, Severities) }

func (v Severity) String() string { return string(v) }

// Valid reports whether v is a member of the vocabulary.
func (v Severity) Valid() bool { return slices.Contains(Severities, v) }

// Blocking reports whether this severity refuses start.
func (v Severity) Blocking() bool { return v == SeverityError }

// MarshalText implements encoding.TextMarshaler.
func (v Severity) MarshalText() ([]byte, error) { return marshalEnum(v, v.Valid(), "severity") }

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *Severity) UnmarshalText(b []byte) error { return unmarshalEnum(v, b, ParseSeverity) }

func marshalEnum[T ~string](v T, valid bool, kind string) ([]byte, error) {
	if !valid {
		return nil, fmt.Errorf("invalid %s %q", kind, string(v))
	}
	return []byte(v), nil
}

func unmarshalEnum[T ~string](dst *T, b []byte, parse func(string) (T, error)) error {
	v, err := parse(string(b))
	if err != nil {
		return err
	}
	*dst = v
	return nil
}
