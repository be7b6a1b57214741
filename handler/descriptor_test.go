package handler

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/onexhost/onex/diag/ruleid"
)

func validDescriptor() *Descriptor {
	return &Descriptor{
		Name:         "partner-api",
		Version:      "1.4.0",
		Type:         TypeInfra,
		Category:     CategoryEffect,
		Capabilities: []Capability{CapRetry, "x.acme.fast"},
		Commands:     []Command{"partner.get", "partner.post"},
		ImportPath:   "github.com/onexhost/onex/handlers/httpout",
		Security: Security{
			AllowedDomains:     []string{"api.partner.example"},
			SecretScopes:       []string{"partner-api"},
			DataClassification: ClassificationConfidential,
		},
		Config:     json.RawMessage(`{"base_url":"https://api.partner.example"}`),
		SourceType: SourceContract,
		Origin:     "contracts/partner/handler_contract.yaml",
		Locations: map[string]Location{
			"":                     {1, 1},
			"handler_name":         {3, 9},
			"handler_version":      {4, 12},
			"commands_accepted":    {9, 20},
			"commands_accepted[1]": {9, 34},
			"security":             {15, 3},
		},
	}
}

func TestValidDescriptor(t *testing.T) {
	if errs := validDescriptor().Validate(); len(errs) != 0 {
		t.Fatalf("valid descriptor rejected: %v", errs)
	}
}

func TestDescriptorRules(t *testing.T) {
	cases := []struct {
		rule   RuleID
		mutate func(d *Descriptor)
		line   int // expected line, 0 = do not check
	}{
		{ruleid.DescriptorName, func(d *Descriptor) { d.Name = "" }, 3},
		{ruleid.DescriptorName, func(d *Descriptor) { d.Name = "Partner API" }, 3},
		{ruleid.DescriptorVersion, func(d *Descriptor) { d.Version = "" }, 4},
		{ruleid.DescriptorVersion, func(d *Descriptor) { d.Version = "v1.0.0" }, 4},
		{ruleid.DescriptorVersion, func(d *Descriptor) { d.Version = "1.0" }, 4},
		{ruleid.DescriptorVersion, func(d *Descriptor) { d.Version = "01.0.0" }, 4},
		{ruleid.DescriptorType, func(d *Descriptor) { d.Type = "" }, 1},
		{ruleid.DescriptorType, func(d *Descriptor) { d.Type = "adapter" }, 1},
		{ruleid.DescriptorCategory, func(d *Descriptor) { d.Category = "" }, 1},
		{ruleid.DescriptorCategory, func(d *Descriptor) { d.Category = "adapter" }, 1},
		{ruleid.DescriptorNoCommands, func(d *Descriptor) { d.Commands = nil }, 9},
		{ruleid.DescriptorCommand, func(d *Descriptor) { d.Commands[1] = "Partner.Post" }, 9},
		{ruleid.DescriptorDupCommand, func(d *Descriptor) { d.Commands[1] = d.Commands[0] }, 9},
		{ruleid.DescriptorImpl, func(d *Descriptor) { d.Artifact = &ArtifactRef{URI: "oci://x", Digest: "sha256:" + sixtyFour} }, 0},
		{ruleid.DescriptorImpl, func(d *Descriptor) { d.ImportPath = "" }, 1},
		{ruleid.DescriptorCapability, func(d *Descriptor) { d.Capabilities = append(d.Capabilities, "fast") }, 0},
		{ruleid.DescriptorImplRef, func(d *Descriptor) { d.ImportPath = "not a path!" }, 0},
		{ruleid.DescriptorImplRef, func(d *Descriptor) {
			d.ImportPath = ""
			d.Artifact = &ArtifactRef{URI: "oci://x", Digest: "md5:abc"}
		}, 0},
		{ruleid.DescriptorSecurity, func(d *Descriptor) { d.Security.DataClassification = 42 }, 15},
		{ruleid.DescriptorSecurity, func(d *Descriptor) { d.Security.ObservabilityLevel = "verbose" }, 15},
		{ruleid.DescriptorProvenance, func(d *Descriptor) { d.Origin = "" }, 0},
		{ruleid.DescriptorProvenance, func(d *Descriptor) { d.SourceType = "disk" }, 0},
		{ruleid.DescriptorConfigObject, func(d *Descriptor) { d.Config = json.RawMessage(`[1,2]`) }, 0},
	}
	seen := map[RuleID]bool{}
	for _, tc := range cases {
		t.Run(string(tc.rule), func(t *testing.T) {
			d := validDescriptor()
			tc.mutate(d)
			errs := d.Validate()
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want exactly 1 (%s): %v", len(errs), tc.rule, errs)
			}
			e := errs[0]
			if e.RuleID != tc.rule || e.RemediationHint == "" || e.Message == "" {
				t.Fatalf("got %+v", e)
			}
			if e.ErrorType != ErrDescriptorValidation || e.Severity != SeverityError || !e.Blocking() {
				t.Errorf("type/severity = %s/%s", e.ErrorType, e.Severity)
			}
			if e.SourceType != d.SourceType || e.HandlerIdentity != d.Identity() {
				t.Errorf("identity %q source %q", e.HandlerIdentity, e.SourceType)
			}
			if tc.line != 0 && (e.Line != tc.line || e.FilePath != d.Origin) {
				t.Errorf("located at %s:%d, want %s:%d", e.FilePath, e.Line, d.Origin, tc.line)
			}
			seen[tc.rule] = true
		})
	}
	for _, r := range DescriptorRules() {
		if !seen[r.ID] {
			t.Errorf("rule %s has no test case", r.ID)
		}
		if r.Title == "" || r.Remediation == "" {
			t.Errorf("rule %s lacks a title or remediation", r.ID)
		}
	}
}

const sixtyFour = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestDescriptorAggregates(t *testing.T) {
	d := &Descriptor{Name: "Bad Name", Commands: []Command{"x"}, Origin: "f.yaml", SourceType: SourceContract}
	var got []RuleID
	for _, e := range d.Validate() {
		got = append(got, e.RuleID)
	}
	want := []RuleID{ruleid.DescriptorName, ruleid.DescriptorVersion, ruleid.DescriptorType, ruleid.DescriptorCategory, ruleid.DescriptorCommand, ruleid.DescriptorImpl}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if id := (&Descriptor{Origin: "f.yaml"}).Identity(); id != "unknown@f.yaml" {
		t.Errorf("identity = %q", id)
	}
}

func TestVersions(t *testing.T) {
	good := []string{"0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0.3.7", "1.0.0+build.5", "1.0.0-rc.1+exp.sha.5114f85"}
	bad := []string{"", "1", "1.2", "v1.2.3", "01.2.3", "1.02.3", "1.2.3-01", "1.2.3-", "1.2.3+", "a.b.c", "1.2.3.4", " 1.2.3"}
	for _, v := range good {
		if !ValidVersion(v) {
			t.Errorf("%q rejected", v)
		}
	}
	for _, v := range bad {
		if ValidVersion(v) {
			t.Errorf("%q accepted", v)
		}
	}
	if CompareVersions("1.0.0-alpha", "1.0.0") >= 0 || CompareVersions("2.0.0", "1.9.9") <= 0 {
		t.Error("precedence wrong")
	}
	if m, ok := VersionMajor("3.1.4"); !ok || m != 3 {
		t.Errorf("VersionMajor = %d, %v", m, ok)
	}
}

func TestPositionFallsBackToAncestor(t *testing.T) {
	d := validDescriptor()
	if f, l := d.Position("commands_accepted[1]"); f != d.Origin || l.Column != 34 {
		t.Errorf("exact: %s %+v", f, l)
	}
	if _, l := d.Position("commands_accepted[0]"); l.Line != 9 || l.Column != 20 {
		t.Errorf("list fallback: %+v", l)
	}
	if _, l := d.Position("security.allowed_domains[0]"); l.Line != 15 {
		t.Errorf("nested fallback: %+v", l)
	}
	if _, l := d.Position("packaging.module"); l.Line != 1 {
		t.Errorf("document fallback: %+v", l)
	}
	d.Locations = nil
	if f, l := d.Position("handler_name"); f != "" || l.Line != 0 {
		t.Errorf("builtin descriptor located at %s %+v", f, l)
	}
}

func TestCloneIsDeep(t *testing.T) {
	d := validDescriptor()
	c := d.Clone()
	c.Commands[0] = "other.get"
	c.Security.AllowedDomains[0] = "evil.example"
	c.Config[2] = 'X'
	c.Locations["handler_name"] = Location{}
	if d.Commands[0] != "partner.get" || d.Security.AllowedDomains[0] != "api.partner.example" || d.Config[2] != 'b' || d.Locations["handler_name"].Line != 3 {
		t.Error("Clone shares memory with the original")
	}
}

func TestSecurityDefaults(t *testing.T) {
	var s Security
	if s.Declared() || s.Classification() != ClassificationInternal || s.Observability() != ObservabilityStandard {
		t.Errorf("zero security: declared %v, %v, %v", s.Declared(), s.Classification(), s.Observability())
	}
	s.SecretScopes = []string{}
	if !s.Declared() {
		t.Error("an explicit empty scope list is a declaration")
	}
}

// BenchmarkValidate checks a descriptor of typical size, as discovery does for
// every contract.
func BenchmarkValidate(b *testing.B) {
	d := validDescriptor()
	b.ReportAllocs()
	for b.Loop() {
		if errs := d.Validate(); len(errs) != 0 {
			b.Fatal(errs)
		}
	}
}
