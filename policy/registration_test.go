package policy

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
	"github.com/onexhost/onex/validate"
)

// Lines of the fields in the fixture contract, so each error's location proves it
// points at the offending key.
var fixtureLines = map[string]int{
	"":                              1,
	"handler_type_category":         5,
	"is_adapter":                    6,
	"security":                      10,
	"security.secret_scopes":        11,
	"security.secret_scopes[0]":     12,
	"security.secret_scopes[1]":     13,
	"security.allowed_domains":      14,
	"security.allowed_domains[0]":   15,
	"security.allowed_domains[1]":   16,
	"security.data_classification":  17,
	"security.observability_level":  18,
	"config":                        29,
	"config.headers.Authorization":  30,
	"config.headers.X-Other-Secret": 31,
}

const fixtureFile = "contracts/partner/handler_contract.yaml"

// base is an effect handler that passes every rule in development.
func base() *handler.Descriptor {
	locs := map[string]handler.Location{}
	for p, l := range fixtureLines {
		locs[p] = handler.Location{Line: l, Column: 3}
	}
	return &handler.Descriptor{
		Name:       "partner-api",
		Version:    "1.0.0",
		Type:       handler.TypeInfra,
		Category:   handler.CategoryEffect,
		Commands:   []handler.Command{"partner.get"},
		ImportPath: "github.com/onexhost/onex/handlers/httpout",
		Security: handler.Security{
			SecretScopes:       []string{"partner-api"},
			AllowedDomains:     []string{"api.partner.example"},
			DataClassification: handler.ClassificationConfidential,
		},
		Config:     json.RawMessage(`{"headers":{"Authorization":{"secret":"partner-api/bearer"}}}`),
		SourceType: handler.SourceContract,
		Origin:     fixtureFile,
		Locations:  locs,
	}
}

// adapter is an adapter that passes every rule in development.
func adapter() *handler.Descriptor {
	d := base()
	d.IsAdapter = true
	d.Security.SecretScopes = []string{}
	d.Security.ObservabilityLevel = handler.ObservabilityEnhanced
	d.Config = nil
	return d
}

type want struct {
	rule handler.RuleID
	path string // the descriptor field path the error must be located at
}

func TestRegistrationRules(t *testing.T) {
	dev := DefaultEnvironment(handler.EnvDevelopment)
	prod := DefaultEnvironment(handler.EnvProduction)
	with := func(env Environment, f func(*Environment)) Environment { f(&env); return env }

	cases := []struct {
		name string
		env  Environment
		d    func() *handler.Descriptor
		want []want
	}{
		{"clean effect handler", dev, base, nil},
		{"clean adapter", dev, adapter, nil},
		{"clean compute handler", dev, func() *handler.Descriptor {
			d := base()
			d.Category, d.Security, d.Config = handler.CategoryCompute, handler.Security{}, nil
			return d
		}, nil},
		{"clean effect handler in production", with(prod, func(e *Environment) { e.PermittedSecretScopes = []string{"partner-api"} }), base, nil},

		{"SECURITY-300 scope not permitted", with(dev, func(e *Environment) { e.PermittedSecretScopes = []string{"partner-api"} }),
			func() *handler.Descriptor {
				d := base()
				d.Security.SecretScopes = []string{"partner-api", "payments"}
				return d
			}, []want{{ruleid.SecurityScopeNotPermitted, "security.secret_scopes[1]"}}},
		{"SECURITY-300 production permits no scope by default", prod, base,
			[]want{{ruleid.SecurityScopeNotPermitted, "security.secret_scopes[0]"}}},
		{"SECURITY-300 one error per scope", with(dev, func(e *Environment) { e.PermittedSecretScopes = []string{} }),
			func() *handler.Descriptor {
				d := base()
				d.Security.SecretScopes = []string{"partner-api", "payments"}
				d.Config = nil
				return d
			}, []want{{ruleid.SecurityScopeNotPermitted, "security.secret_scopes[0]"}, {ruleid.SecurityScopeNotPermitted, "security.secret_scopes[1]"}}},
		{"SECURITY-301 classification above the maximum", with(dev, func(e *Environment) { e.MaxDataClassification = handler.ClassificationInternal }),
			base, []want{{ruleid.SecurityClassificationTooHigh, "security.data_classification"}}},
		{"SECURITY-301 equal to the maximum passes", with(dev, func(e *Environment) { e.MaxDataClassification = handler.ClassificationConfidential }),
			base, nil},
		{"SECURITY-302 adapter with secrets", dev, func() *handler.Descriptor {
			d := adapter()
			d.Security.SecretScopes = []string{"partner-api"}
			return d
		}, []want{{ruleid.SecurityAdapterSecrets, "security.secret_scopes"}}},
		{"SECURITY-302 override allowed", with(dev, func(e *Environment) { e.AdapterSecretsOverrideAllowed = true }), func() *handler.Descriptor {
			d := adapter()
			d.Security.SecretScopes = []string{"partner-api"}
			return d
		}, nil},
		{"SECURITY-303 adapter not effect", dev, func() *handler.Descriptor {
			d := adapter()
			d.Category = handler.CategoryNondeterministicCompute
			return d
		}, []want{{ruleid.SecurityAdapterCategory, "handler_type_category"}}},
		{"SECURITY-304 adapter with an empty allowlist", dev, func() *handler.Descriptor {
			d := adapter()
			d.Security.AllowedDomains = []string{}
			return d
		}, []want{{ruleid.SecurityDomainAllowlist, "security.allowed_domains"}}},
		{"SECURITY-304 adapter allowlist containing *", dev, func() *handler.Descriptor {
			d := adapter()
			d.Security.AllowedDomains = []string{"api.partner.example", "*"}
			return d
		}, []want{{ruleid.SecurityDomainAllowlist, "security.allowed_domains[1]"}}},
		{"SECURITY-304 required by the environment", with(dev, func(e *Environment) { e.RequireExplicitDomainAllowlist = true }), func() *handler.Descriptor {
			d := base()
			d.Security.AllowedDomains = nil
			return d
		}, []want{{ruleid.SecurityDomainAllowlist, "security.allowed_domains"}}},
		{"SECURITY-304 not required for a non-adapter in development", dev, func() *handler.Descriptor {
			d := base()
			d.Security.AllowedDomains = []string{"*"}
			return d
		}, nil},
		{"SECURITY-305 effect without security metadata", dev, func() *handler.Descriptor {
			d := base()
			d.Security, d.Config = handler.Security{}, nil
			return d
		}, []want{{ruleid.SecurityNoMetadata, "security"}}},
		{"SECURITY-305 nondeterministic without security metadata", dev, func() *handler.Descriptor {
			d := base()
			d.Category, d.Security, d.Config = handler.CategoryNondeterministicCompute, handler.Security{}, nil
			return d
		}, []want{{ruleid.SecurityNoMetadata, "security"}}},
		{"SECURITY-306 compute declaring scopes and domains", dev, func() *handler.Descriptor {
			d := base()
			d.Category = handler.CategoryCompute
			return d
		}, []want{{ruleid.SecurityComputeDeclares, "security.secret_scopes"}, {ruleid.SecurityComputeDeclares, "security.allowed_domains"}}},
		{"SECURITY-307 empty and whitespace scopes", dev, func() *handler.Descriptor {
			d := base()
			d.Security.SecretScopes = []string{"", "partner api"}
			d.Config = nil
			return d
		}, []want{{ruleid.SecurityMalformedScope, "security.secret_scopes[0]"}, {ruleid.SecurityMalformedScope, "security.secret_scopes[1]"}}},
		{"SECURITY-307 scope with a slash", dev, func() *handler.Descriptor {
			d := base()
			d.Security.SecretScopes = []string{"partner/api"}
			d.Config = nil
			return d
		}, []want{{ruleid.SecurityMalformedScope, "security.secret_scopes[0]"}}},
		{"SECURITY-308 URL with scheme", dev, func() *handler.Descriptor {
			d := base()
			d.Security.AllowedDomains = []string{"https://api.partner.example/v1"}
			return d
		}, []want{{ruleid.SecurityMalformedDomain, "security.allowed_domains[0]"}}},
		{"SECURITY-308 bad wildcards", dev, func() *handler.Descriptor {
			d := base()
			d.Security.AllowedDomains = []string{"**.partner.example", "*.com"}
			return d
		}, []want{{ruleid.SecurityMalformedDomain, "security.allowed_domains[0]"}, {ruleid.SecurityMalformedDomain, "security.allowed_domains[1]"}}},
		{"SECURITY-308 bad port", dev, func() *handler.Descriptor {
			d := base()
			d.Security.AllowedDomains = []string{"api.partner.example:0", "api.partner.example:65536"}
			return d
		}, []want{{ruleid.SecurityMalformedDomain, "security.allowed_domains[0]"}, {ruleid.SecurityMalformedDomain, "security.allowed_domains[1]"}}},
		{"SECURITY-314 link-local CIDR covering the metadata endpoints", dev, func() *handler.Descriptor {
			d := base()
			d.Security.AllowedDomains = []string{"api.partner.example", "169.254.0.0/16"}
			return d
		}, []want{{ruleid.SecurityMetadataInRange, "security.allowed_domains[1]"}}},
		{"SECURITY-314 every address, both families", prod, func() *handler.Descriptor {
			d := base()
			d.Security.AllowedDomains = []string{"0.0.0.0/0", "::/0"}
			d.Security.SecretScopes, d.Config = nil, nil
			return d
		}, []want{{ruleid.SecurityMetadataInRange, "security.allowed_domains[0]"}, {ruleid.SecurityMetadataInRange, "security.allowed_domains[1]"}}},
		{"SECURITY-314 a one-address CIDR is not a literal", dev, func() *handler.Descriptor {
			d := base()
			d.Security.AllowedDomains = []string{"100.100.100.200/32"}
			return d
		}, []want{{ruleid.SecurityMetadataInRange, "security.allowed_domains[0]"}}},
		{"SECURITY-314 not for a CIDR whose endpoints are listed exactly", dev, func() *handler.Descriptor {
			d := base()
			d.Security.AllowedDomains = []string{"169.254.170.0/24", "169.254.170.2", "169.254.170.23:80"}
			return d
		}, nil},
		{"SECURITY-314 not for a CIDR without an endpoint", dev, func() *handler.Descriptor {
			d := base()
			d.Security.AllowedDomains = []string{"10.0.0.0/8", "fd12::/16"}
			return d
		}, nil},
		{"SECURITY-309 adapter with standard observability", dev, func() *handler.Descriptor {
			d := adapter()
			d.Security.ObservabilityLevel = ""
			return d
		}, []want{{ruleid.SecurityAdapterObservability, "security.observability_level"}}},
		{"SECURITY-311 config secret of an undeclared scope", dev, func() *handler.Descriptor {
			d := base()
			d.Config = json.RawMessage(`{"headers":{"Authorization":{"secret":"partner-api/bearer"},"X-Other-Secret":{"secret":"payments/key"}}}`)
			return d
		}, []want{{ruleid.SecuritySecretScope, "config.headers.X-Other-Secret"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.d()
			errs := tc.env.Registration().Validate([]*handler.Descriptor{d})
			assertErrors(t, errs, tc.want)
		})
	}
}

func assertErrors(t *testing.T, errs []*diag.ValidationError, want []want) {
	t.Helper()
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(errs), len(want), render(errs))
	}
	for i, w := range want {
		e := errs[i]
		if e.RuleID != w.rule {
			t.Errorf("error %d: rule %s, want %s (%s)", i, e.RuleID, w.rule, e.Message)
		}
		if e.HandlerIdentity != "partner-api" || e.SourceType != handler.SourceContract {
			t.Errorf("error %d: handler %q source %q", i, e.HandlerIdentity, e.SourceType)
		}
		if e.FilePath != fixtureFile || e.Line != fixtureLines[w.path] || e.Column != 3 {
			t.Errorf("error %d (%s): at %s:%d:%d, want line %d (%s)", i, e.RuleID, e.FilePath, e.Line, e.Column, fixtureLines[w.path], w.path)
		}
		if e.RemediationHint == "" || e.Message == "" || e.ErrorType != handler.ErrSecurityValidation || e.Blocking() != (w.rule != ruleid.SecurityMetadataInRange) {
			t.Errorf("error %d: %+v lacks a hint, a message, the security error type or its severity (blocking but for the SECURITY-314 warning)", i, e)
		}
	}
}

func render(errs []*diag.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  %v\n", e)
	}
	return b.String()
}

// TestRegistrationAggregates: a contract with four problems reports four errors,
// through the same pipeline the host and `onex validate` use.
func TestRegistrationAggregates(t *testing.T) {
	d := adapter()
	d.Security.SecretScopes = []string{"partner-api", " "}               // SECURITY-302, SECURITY-307
	d.Security.AllowedDomains = []string{"https://api.partner.example/"} // SECURITY-308
	d.Security.ObservabilityLevel = handler.ObservabilityStandard        // SECURITY-309
	e := New(Options{})
	report := validate.Set([]*handler.Descriptor{d}, e.Registration())
	var rules []string
	for _, ve := range report.Diagnostics {
		rules = append(rules, string(ve.RuleID))
	}
	slices.Sort(rules)
	if got := strings.Join(rules, " "); got != "SECURITY-302 SECURITY-307 SECURITY-308 SECURITY-309" {
		t.Fatalf("rules = %s, want the four problems:\n%s", got, render(report.Diagnostics))
	}
}

// TestMetadataInRangeWarning: the SECURITY-314 warning names every endpoint the
// CIDR covers but does not grant, leaves out one listed exactly, says how to
// grant one, and does not block registration.
func TestMetadataInRangeWarning(t *testing.T) {
	d := base()
	d.Security.AllowedDomains = []string{"0.0.0.0/0", "169.254.170.2"}
	report := validate.Set([]*handler.Descriptor{d}, DefaultEnvironment(handler.EnvDevelopment).Registration())
	if len(report.Diagnostics) != 1 || report.Blocking() {
		t.Fatalf("want one non-blocking warning:\n%s", render(report.Diagnostics))
	}
	e := report.Diagnostics[0]
	if e.RuleID != ruleid.SecurityMetadataInRange || e.Severity != handler.SeverityWarning || e.Line != fixtureLines["security.allowed_domains[0]"] {
		t.Fatalf("got %v", e)
	}
	for _, s := range []string{`"0.0.0.0/0"`, "169.254.169.254", "169.254.170.23", "100.100.100.200", "192.0.0.192", `list the exact address, e.g. "169.254.169.254"`} {
		if !strings.Contains(e.Message, s) {
			t.Errorf("message %q lacks %q", e.Message, s)
		}
	}
	if strings.Contains(e.Message, "169.254.170.2 ") || strings.Contains(e.Message, "fd00:ec2") {
		t.Errorf("message %q names an endpoint listed exactly or outside the CIDR", e.Message)
	}
	if got, _ := e.Details["endpoints"].([]string); len(got) != 4 {
		t.Errorf("details endpoints = %v, want the 4 covered IPv4 endpoints", e.Details["endpoints"])
	}
	if !strings.Contains(e.RemediationHint, "exact IP address") {
		t.Errorf("hint %q does not say how to grant an endpoint", e.RemediationHint)
	}
}

func TestRegistrationBuiltinDescriptorUnlocated(t *testing.T) {
	d := base()
	d.Locations, d.Origin, d.SourceType = nil, handler.OriginBuiltin, handler.SourceBootstrap
	d.Security.DataClassification = handler.ClassificationSecret
	env := DefaultEnvironment(handler.EnvDevelopment)
	env.MaxDataClassification = handler.ClassificationRestricted
	errs := env.Check(d)
	if len(errs) != 1 || errs[0].RuleID != ruleid.SecurityClassificationTooHigh || errs[0].FilePath != "" || errs[0].HandlerIdentity != "partner-api" {
		t.Fatalf("got %s", render(errs))
	}
}

func TestParsePattern(t *testing.T) {
	valid := map[string]Pattern{
		"api.example.com":       {Kind: PatternHost, Host: "api.example.com"},
		"API.Example.COM.":      {Kind: PatternHost, Host: "api.example.com"},
		"api.example.com:8443":  {Kind: PatternHost, Host: "api.example.com", Port: 8443},
		"*.example.com":         {Kind: PatternWildcard, Host: "example.com"},
		"*.example.co.uk:443":   {Kind: PatternWildcard, Host: "example.co.uk", Port: 443},
		"*":                     {Kind: PatternAnyHost},
		"localhost":             {Kind: PatternHost, Host: "localhost"},
		"_srv.db.internal":      {Kind: PatternHost, Host: "_srv.db.internal"},
		"10.0.0.5":              {Kind: PatternAddr},
		"10.0.0.5:5432":         {Kind: PatternAddr, Port: 5432},
		"::1":                   {Kind: PatternAddr},
		"[::1]:5432":            {Kind: PatternAddr, Port: 5432},
		"::ffff:10.0.0.5":       {Kind: PatternAddr},
		"10.0.0.0/8":            {Kind: PatternPrefix},
		"fd00::/8":              {Kind: PatternPrefix},
		"169.254.169.254":       {Kind: PatternAddr},
		strings.Repeat("a", 63): {Kind: PatternHost, Host: strings.Repeat("a", 63)},
	}
	for s, want := range valid {
		p, err := ParsePattern(s)
		if err != nil {
			t.Errorf("ParsePattern(%q) = %v", s, err)
			continue
		}
		if p.Kind != want.Kind || p.Host != want.Host || p.Port != want.Port {
			t.Errorf("ParsePattern(%q) = %+v, want %+v", s, p, want)
		}
	}
	longHost := strings.Repeat(strings.Repeat("a", 60)+".", 4) + "example.com"
	invalid := map[string]string{
		"":                              "empty",
		" api.example.com":              "whitespace",
		"https://api.example.com":       "URL",
		"api.example.com/v1":            "path",
		"user@api.example.com":          "userinfo",
		"**.example.com":                "**",
		"*.*.example.com":               "outside",
		"a*.example.com":                "other than",
		"api.*.example.com":             "other than",
		"*.com":                         "public suffix",
		"*.co.uk":                       "public suffix",
		"*.github.io":                   "public suffix",
		strings.Repeat("a", 64) + ".io": "longer than 63",
		longHost:                        "longer than 253",
		"api.example.com:0":             "bad port",
		"api.example.com:65536":         "bad port",
		"api.example.com:https":         "bad port",
		"api.example.com:":              "bad port",
		"-api.example.com":              "hyphen",
		"api..example.com":              "empty label",
		"api.exa$mple.com":              "not allowed",
		"2130706433":                    "non-canonical",
		"0x7f.0.0.1":                    "non-canonical",
		"017.0.0.1":                     "non-canonical",
		"api.example.123":               "numeric label",
		"[::1":                          "unclosed",
		"[10.0.0.1]:80":                 "invalid IPv6",
		"fe80::1%eth0":                  "zone",
		"10.0.0.0/33":                   "CIDR",
	}
	for s, wantMsg := range invalid {
		_, err := ParsePattern(s)
		if err == nil {
			t.Errorf("ParsePattern(%q) accepted", s)
			continue
		}
		if !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("ParsePattern(%q) = %q, want it to mention %q", s, err, wantMsg)
		}
	}
}

func TestAllowlistMatching(t *testing.T) {
	a, errs := CompileAllowlist([]string{"api.example.com", "*.cdn.example.com", "db.example.com:5432", "10.1.0.0/16", "192.0.2.7:443"})
	if errs != nil {
		t.Fatal(errs)
	}
	names := []struct {
		host string
		port uint16
		want bool
	}{
		{"api.example.com", 443, true},
		{"API.EXAMPLE.COM.", 80, true},
		{"sub.api.example.com", 443, false},
		{"example.com", 443, false},
		{"img.cdn.example.com", 443, true},
		{"IMG.CDN.example.com.", 443, true},
		{"a.img.cdn.example.com", 443, false},
		{"cdn.example.com", 443, false},
		{".cdn.example.com", 443, false},
		{"db.example.com", 5432, true},
		{"db.example.com", 5433, false},
		{"", 443, false},
		{strings.Repeat("a", 300), 443, false},
	}
	for _, n := range names {
		if got := a.AllowsName(n.host, n.port); got != n.want {
			t.Errorf("AllowsName(%q, %d) = %v, want %v", n.host, n.port, got, n.want)
		}
	}
	addrs := []struct {
		addr string
		port uint16
		want bool
	}{
		{"10.1.2.3", 1, true},
		{"::ffff:10.1.2.3", 1, true},
		{"10.2.0.1", 1, false},
		{"192.0.2.7", 443, true},
		{"192.0.2.7", 80, false},
	}
	for _, c := range addrs {
		if got := a.AllowsAddr(netip.MustParseAddr(c.addr), c.port); got != c.want {
			t.Errorf("AllowsAddr(%s, %d) = %v, want %v", c.addr, c.port, got, c.want)
		}
	}
	var empty *Allowlist
	if empty.AllowsName("api.example.com", 443) || !empty.Empty() {
		t.Error("nil allowlist allows")
	}
}

// TestAllowsNameDoesNotAllocate holds the hot-path budget without timing: zero
// allocations for an allowed check, in every form a host arrives in.
func TestAllowsNameDoesNotAllocate(t *testing.T) {
	a, _ := CompileAllowlist([]string{"api.example.com", "*.cdn.example.com"})
	for _, host := range []string{"api.example.com", "API.Example.com.", "img.cdn.example.com", "evil.example.net"} {
		if n := testing.AllocsPerRun(100, func() { a.AllowsName(host, 443) }); n != 0 {
			t.Errorf("AllowsName(%q) allocates %.0f times", host, n)
		}
	}
}

func BenchmarkAllowsName(b *testing.B) {
	a, _ := CompileAllowlist([]string{"api.partner.example", "*.cdn.partner.example", "db.internal:5432", "10.0.0.0/8"})
	for _, bc := range []struct{ name, host string }{
		{"exact", "api.partner.example"},
		{"wildcard", "img.cdn.partner.example"},
		{"mixed_case_trailing_dot", "API.Partner.Example."},
		{"denied", "evil.example.net"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				a.AllowsName(bc.host, 443)
			}
		})
	}
}
