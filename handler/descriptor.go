package handler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/semver"

	"github.com/onexhost/onex/diag/ruleid"
)

// Descriptor is the canonical runtime object of a handler. Every source produces
// descriptors; the runtime consumes nothing else (contract → descriptor is one-way).
type Descriptor struct {
	Name         string       `json:"handler_name"`
	Version      string       `json:"handler_version"`
	Description  string       `json:"description,omitempty"`
	Type         HandlerType  `json:"handler_type"`
	Category     Category     `json:"handler_type_category"`
	IsAdapter    bool         `json:"is_adapter"`
	Capabilities []Capability `json:"capabilities"`
	Commands     []Command    `json:"commands_accepted"`
	ImportPath   string       `json:"import_path,omitempty"`
	Artifact     *ArtifactRef `json:"artifact_ref,omitempty"`
	Security     Security     `json:"security"`
	Packaging    *Packaging   `json:"packaging,omitempty"`
	// Config is the handler-specific configuration, a JSON object validated by the
	// factory behind ImportPath. String values may be secret references
	// {"secret":"scope/key"}, resolved at initialisation through the scoped reader.
	Config     json.RawMessage `json:"config,omitempty"`
	SourceType SourceType      `json:"source_type"`
	// Origin says where the descriptor came from: "builtin", a file path or a URL.
	Origin string `json:"origin"`
	// Locations maps descriptor field paths (JSON names, dotted, with [i] for list
	// items, e.g. "security.allowed_domains[1]") to their position in Origin, for
	// descriptors decoded from a document. Nil for built-in descriptors.
	Locations map[string]Location `json:"-"`
	// LocationsFile is the document Locations refer to when it is not Origin,
	// e.g. the onex.yaml that configures a built-in descriptor.
	LocationsFile string `json:"-"`
}

// OriginBuiltin is the Origin of descriptors compiled into the binary.
const OriginBuiltin = "builtin"

// ArtifactRef names an out-of-process handler artifact, pinned by digest.
type ArtifactRef struct {
	URI    string `json:"uri"`
	Digest string `json:"digest"`
}

// Packaging is optional provenance of the handler's code.
type Packaging struct {
	Module        string `json:"module,omitempty"`
	ModuleVersion string `json:"module_version,omitempty"`
	License       string `json:"license,omitempty"`
}

// Security is the policy a handler declares. Zero values mean "not declared";
// use the accessors for the effective defaults.
type Security struct {
	SecretScopes       []string           `json:"secret_scopes"`
	AllowedDomains     []string           `json:"allowed_domains"`
	DataClassification Classification     `json:"data_classification,omitempty"`
	ObservabilityLevel ObservabilityLevel `json:"observability_level,omitempty"`
}

// Declared reports whether any security metadata was declared at all.
func (s Security) Declared() bool {
	return s.SecretScopes != nil || s.AllowedDomains != nil ||
		s.DataClassification != ClassificationUnset || s.ObservabilityLevel != ""
}

// Classification returns the declared classification or the default (internal).
func (s Security) Classification() Classification { return s.DataClassification.OrDefault() }

// Observability returns the declared level or the default (standard).
func (s Security) Observability() ObservabilityLevel { return s.ObservabilityLevel.OrDefault() }

// Identity is the handler identity used in errors: the name, or unknown@<origin>.
func (d *Descriptor) Identity() string {
	if d.Name != "" {
		return d.Name
	}
	return "unknown@" + d.Origin
}

// Position returns the file and position of a descriptor field path, falling back
// to the nearest ancestor path that has one. The file is empty for built-in
// descriptors.
func (d *Descriptor) Position(path string) (file string, loc Location) {
	if d.Locations == nil {
		return "", Location{}
	}
	file = d.Origin
	if d.LocationsFile != "" {
		file = d.LocationsFile
	}
	for p := path; p != ""; p = parentPath(p) {
		if l, ok := d.Locations[p]; ok {
			return file, l
		}
	}
	return file, d.Locations[""]
}

func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// AcceptsCommand reports whether c is in Commands.
func (d *Descriptor) AcceptsCommand(c Command) bool {
	for _, x := range d.Commands {
		if x == c {
			return true
		}
	}
	return false
}

// Clone returns a deep copy, so sources can hand out descriptors that callers may
// modify.
func (d *Descriptor) Clone() *Descriptor {
	c := *d
	c.Capabilities = cloneSlice(d.Capabilities)
	c.Commands = cloneSlice(d.Commands)
	c.Security.SecretScopes = cloneSlice(d.Security.SecretScopes)
	c.Security.AllowedDomains = cloneSlice(d.Security.AllowedDomains)
	if d.Artifact != nil {
		a := *d.Artifact
		c.Artifact = &a
	}
	if d.Packaging != nil {
		p := *d.Packaging
		c.Packaging = &p
	}
	if d.Config != nil {
		c.Config = append(json.RawMessage(nil), d.Config...)
	}
	if d.Locations != nil {
		c.Locations = make(map[string]Location, len(d.Locations))
		for k, v := range d.Locations {
			c.Locations[k] = v
		}
	}
	return &c
}

func cloneSlice[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

// The patterns of the identifiers a descriptor carries. They are the single
// statement of these rules: the checks below compile them, and the "pattern"
// keywords of the contract schema are generated from them.
const (
	// NamePattern is the pattern of a handler_name.
	NamePattern = `^[a-z][a-z0-9]*([._-][a-z0-9]+)*$`
	// ImportPathPattern is the pattern of a factory's import path (Go import
	// path style; the first element does not take +).
	ImportPathPattern = `^[A-Za-z0-9][A-Za-z0-9._~-]*(/[A-Za-z0-9._~+-]+)*$`
	// DigestPattern is the pattern of an artifact digest.
	DigestPattern = `^sha256:[0-9a-f]{64}$`
	// VersionPattern is the SemVer 2.0.0 grammar of a handler_version, for
	// schemas: ValidVersion decides with golang.org/x/mod/semver, and a test
	// holds the two to the same verdicts.
	VersionPattern = `^` + semverNumber + semverAfterMajor
)

// The pieces of VersionPattern, so that MajorVersionPattern can fix the major.
const (
	semverNumber     = `(0|[1-9][0-9]*)`
	semverPreIdent   = `(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)`
	semverAfterMajor = `\.` + semverNumber + `\.` + semverNumber +
		`(-` + semverPreIdent + `(\.` + semverPreIdent + `)*)?` +
		`(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?$`
)

// MajorVersionPattern is VersionPattern with the major component fixed to major,
// e.g. the contract_version a reader of format major accepts.
func MajorVersionPattern(major int) string {
	return `^` + strconv.Itoa(major) + semverAfterMajor
}

var (
	nameRE       = regexp.MustCompile(NamePattern)
	importPathRE = regexp.MustCompile(ImportPathPattern)
	digestRE     = regexp.MustCompile(DigestPattern)
)

// ValidName reports whether s is a well-formed handler_name (NamePattern).
func ValidName(s string) bool { return nameRE.MatchString(s) }

// ValidImportPath reports whether s is a well-formed import path
// (ImportPathPattern).
func ValidImportPath(s string) bool { return importPathRE.MatchString(s) }

// ValidDigest reports whether s is sha256:<64 lowercase hex digits>
// (DigestPattern).
func ValidDigest(s string) bool { return digestRE.MatchString(s) }

// ValidVersion reports whether s is a semantic version under the SemVer 2.0.0
// rules: MAJOR.MINOR.PATCH, optional pre-release and build metadata, no "v"
// prefix, no leading zeros.
func ValidVersion(s string) bool { return fullSemver("v" + s) }

// fullSemver reports whether v, a version in the form golang.org/x/mod/semver
// reads (with a leading "v"), is valid and complete. That package also accepts
// the shorthands v1 and v1.2, which SemVer 2.0.0 does not: a complete version
// is its own canonical form, less any build metadata.
func fullSemver(v string) bool {
	c := semver.Canonical(v) // "" when v is not valid
	return c != "" && c == strings.TrimSuffix(v, semver.Build(v))
}

// CompareVersions compares two valid semantic versions (-1, 0, +1), with SemVer
// precedence (build metadata ignored).
func CompareVersions(a, b string) int { return semver.Compare("v"+a, "v"+b) }

// VersionMajor returns the major component of a valid semantic version; ok is
// false for an invalid version and for a major beyond int.
func VersionMajor(s string) (major int, ok bool) {
	v := "v" + s
	if !fullSemver(v) {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(semver.Major(v), "v"))
	return n, err == nil
}

// RuleInfo describes one rule of the catalog: the package diag assembles the full
// catalog, and takes the DESCRIPTOR rules from DescriptorRules.
type RuleInfo struct {
	ID          RuleID
	Title       string
	Remediation string
}

// descriptorRules are the descriptor invariants, in the order Validate checks them.
var descriptorRules = []RuleInfo{
	{ruleid.DescriptorName, "handler_name missing or malformed", "set handler_name to a lowercase identity matching " + NamePattern + ", e.g. partner-api"},
	{ruleid.DescriptorVersion, "handler_version is not a semantic version", "set handler_version to MAJOR.MINOR.PATCH (SemVer 2.0.0), e.g. 1.0.0, without a leading v"},
	{ruleid.DescriptorType, "handler_type missing or unknown", "set handler_type to one of infra_handler, node_handler, projection_handler, compute_handler"},
	{ruleid.DescriptorCategory, "handler_type_category missing or unknown", "set handler_type_category to compute, effect or nondeterministic_compute"},
	{ruleid.DescriptorNoCommands, "commands_accepted is empty", "list at least one operation in commands_accepted, e.g. [orders.query]"},
	{ruleid.DescriptorCommand, "malformed command", "write each command as <namespace>.<verb> in lowercase, e.g. db.query"},
	{ruleid.DescriptorDupCommand, "command listed twice", "list each operation once in commands_accepted"},
	{ruleid.DescriptorImpl, "both or neither of import_path and artifact_ref", "set exactly one of import_path (a factory compiled into this binary) or artifact_ref"},
	{ruleid.DescriptorCapability, "unknown capability", "use transform, validate, cache, retry, batch, stream, async, idempotent, or an extension x.<vendor>.<name>"},
	{ruleid.DescriptorImplRef, "malformed import_path or artifact_ref", "write import_path as a Go import path, and artifact_ref as {uri, digest: sha256:<64 hex>}"},
	{ruleid.DescriptorSecurity, "security value outside the vocabulary", "use a data_classification of public, internal, confidential, restricted, secret and an observability_level of standard or enhanced"},
	{ruleid.DescriptorProvenance, "descriptor without provenance", "a source must set source_type and origin on every descriptor it produces"},
	{ruleid.DescriptorConfigObject, "config is not a JSON object", "write config as a mapping of keys to values, or leave it out"},
}

// DescriptorRules returns the descriptor invariants checked by Validate.
func DescriptorRules() []RuleInfo { return cloneSlice(descriptorRules) }

func descriptorHint(id RuleID) string {
	for _, r := range descriptorRules {
		if r.ID == id {
			return r.Remediation
		}
	}
	panic("handler: no descriptor rule " + string(id))
}

// Validate returns every violated descriptor invariant, in a fixed order, as
// blocking ValidationErrors of type descriptor_validation_error. It never stops at
// the first violation.
func (d *Descriptor) Validate() []*ValidationError {
	var errs []*ValidationError
	add := func(id RuleID, path string, details map[string]any, format string, args ...any) {
		file, loc := d.Position(path)
		errs = append(errs, &ValidationError{
			ErrorType:       ErrDescriptorValidation,
			RuleID:          id,
			HandlerIdentity: d.Identity(),
			SourceType:      d.SourceType,
			Message:         fmt.Sprintf(format, args...),
			RemediationHint: descriptorHint(id),
			FilePath:        file,
			Line:            loc.Line,
			Column:          loc.Column,
			Details:         details,
			Severity:        SeverityError,
		})
	}

	switch {
	case d.Name == "":
		add(ruleid.DescriptorName, "handler_name", nil, "handler_name is missing")
	case !ValidName(d.Name):
		add(ruleid.DescriptorName, "handler_name", map[string]any{"value": d.Name}, "handler_name %q does not match %s", d.Name, NamePattern)
	}
	switch {
	case d.Version == "":
		add(ruleid.DescriptorVersion, "handler_version", nil, "handler_version is missing")
	case !ValidVersion(d.Version):
		add(ruleid.DescriptorVersion, "handler_version", map[string]any{"value": d.Version}, "handler_version %q is not a semantic version", d.Version)
	}
	if !d.Type.Valid() {
		add(ruleid.DescriptorType, "handler_type", nil, "%s", vocabMessage("handler_type", string(d.Type), HandlerTypes))
	}
	if !d.Category.Valid() {
		add(ruleid.DescriptorCategory, "handler_type_category", nil, "%s", vocabMessage("handler_type_category", string(d.Category), Categories))
	}
	if len(d.Commands) == 0 {
		add(ruleid.DescriptorNoCommands, "commands_accepted", nil, "commands_accepted is empty: the handler would never be invoked")
	}
	var seen map[Command]bool // only for long lists: a handful is searched
	if len(d.Commands) > 16 {
		seen = make(map[Command]bool, len(d.Commands))
	}
	for i, c := range d.Commands {
		if !c.Valid() {
			add(ruleid.DescriptorCommand, commandPath(i), map[string]any{"value": string(c)}, "command %q does not match %s", string(c), CommandPattern)
			continue
		}
		// Listed before (and so valid too, being the same).
		if seen != nil && seen[c] || seen == nil && slices.Contains(d.Commands[:i], c) {
			add(ruleid.DescriptorDupCommand, commandPath(i), map[string]any{"value": string(c)}, "command %q is listed more than once", string(c))
		}
		if seen != nil {
			seen[c] = true
		}
	}
	hasImport, hasArtifact := d.ImportPath != "", d.Artifact != nil
	switch {
	case hasImport && hasArtifact:
		add(ruleid.DescriptorImpl, "import_path", nil, "both import_path and artifact_ref are set")
	case !hasImport && !hasArtifact:
		add(ruleid.DescriptorImpl, "", nil, "neither import_path nor artifact_ref is set")
	}
	for i, c := range d.Capabilities {
		if !c.Valid() {
			_, err := ParseCapability(string(c))
			add(ruleid.DescriptorCapability, fmt.Sprintf("capabilities[%d]", i), map[string]any{"value": string(c)}, "%v", err)
		}
	}
	if hasImport && !ValidImportPath(d.ImportPath) {
		add(ruleid.DescriptorImplRef, "import_path", map[string]any{"value": d.ImportPath}, "import_path %q is not a Go import path", d.ImportPath)
	}
	if hasArtifact {
		if strings.TrimSpace(d.Artifact.URI) == "" {
			add(ruleid.DescriptorImplRef, "artifact_ref.uri", nil, "artifact_ref.uri is empty")
		}
		if !ValidDigest(d.Artifact.Digest) {
			add(ruleid.DescriptorImplRef, "artifact_ref.digest", map[string]any{"value": d.Artifact.Digest}, "artifact_ref.digest %q is not sha256:<64 lowercase hex>", d.Artifact.Digest)
		}
	}
	if c := d.Security.DataClassification; c != ClassificationUnset && !c.Valid() {
		add(ruleid.DescriptorSecurity, "security.data_classification", nil, "data_classification %d is outside the vocabulary", uint8(c))
	}
	if o := d.Security.ObservabilityLevel; o != "" && !o.Valid() {
		add(ruleid.DescriptorSecurity, "security.observability_level", nil, "%s", vocabMessage("observability_level", string(o), ObservabilityLevels))
	}
	if !d.SourceType.Valid() || d.Origin == "" {
		add(ruleid.DescriptorProvenance, "", map[string]any{"source_type": string(d.SourceType), "origin": d.Origin}, "descriptor has no valid source_type and origin")
	}
	if cfg := bytes.TrimSpace(d.Config); len(cfg) > 0 && !bytes.Equal(cfg, []byte("null")) && cfg[0] != '{' {
		add(ruleid.DescriptorConfigObject, "config", nil, "config must be a JSON object")
	}
	return errs
}

// commandPath is the descriptor path of d.Commands[i].
func commandPath(i int) string { return "commands_accepted[" + strconv.Itoa(i) + "]" }

func vocabMessage[T ~string](kind, value string, values []T) string {
	_, err := parseEnum(kind, value, values)
	return err.Error()
}
