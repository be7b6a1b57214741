package handler

import (
	"regexp"
	"testing"
)

func TestPatterns(t *testing.T) {
	cases := []struct {
		name           string
		check          func(string) bool
		accept, reject []string
	}{
		{"handler_name", ValidName,
			[]string{"a", "a0", "partner-api", "partner-00001", "a.b_c-d", "sample.handler-1"},
			[]string{"", "A", "0", "-a", "a-", "a--b", "a.-b", "a b", "é", "aé", "Partner", "partner-api\n"}},
		{"import_path", ValidImportPath,
			[]string{"github.com/onexhost/onex/handlers/httpout", "example.com/test/echo", "a/b+c", "a~/b~", "Github.com/X_y/Z", "a/b/c+d.e~f-g_h"},
			[]string{"", "a+b/c", "a//b", "a/", "/a", "~a", "not a path!", "a/b\n"}},
		{"digest", ValidDigest,
			[]string{"sha256:" + sixtyFour},
			[]string{"", "md5:abc", "sha256:" + sixtyFour[:63] + "F", "sha256:" + sixtyFour[:63], "sha256:" + sixtyFour + "0", "SHA256:" + sixtyFour}},
		{"command", func(s string) bool { return Command(s).Valid() },
			[]string{"db.query", "orders.v2.get_all", "d_b.q_1"},
			[]string{"", "db", "db.", ".db", "db..query", "db.Query", "db.2query", "2db.query", "db.query\n", "db-x.query"}},
		{"verb", verbRE.MatchString,
			[]string{"query", "get_all", "q1"},
			[]string{"", "db.query", "Query", "2query", "_q", "query\n"}},
		{"capability extension", func(s string) bool { return Capability(s).IsExtension() },
			[]string{"x.acme.fast", "x.acme-corp.fast_path", "x.a.b-c"},
			[]string{"", "retry", "x.acme", "x.Acme.fast", "x.acme.fast.more", "y.acme.fast", "x.acme_corp.fast", "x.acme.fast\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range tc.accept {
				if !tc.check(s) {
					t.Errorf("%q rejected", s)
				}
			}
			for _, s := range tc.reject {
				if tc.check(s) {
					t.Errorf("%q accepted", s)
				}
			}
		})
	}
}

func TestValidVersion(t *testing.T) {
	cases := []struct {
		v     string
		valid bool
		major int // when valid
	}{
		{"0.0.0", true, 0},
		{"1.2.3", true, 1},
		{"10.20.30", true, 10},
		{"1.2.3-alpha.1", true, 1},
		{"1.2.3-0", true, 1},
		{"1.2.3-0a", true, 1},
		{"1.2.3--", true, 1},
		{"1.2.3+b.01", true, 1},
		{"1.2.3+b-c.d", true, 1},
		{"2.0.0-rc.1+build.5", true, 2},
		{"", false, 0},
		{"1", false, 0},   // shorthand golang.org/x/mod/semver accepts as v1
		{"1.2", false, 0}, // and as v1.2
		{"1.2+b", false, 0},
		{"v1.2.3", false, 0},
		{"vv1.2.3", false, 0},
		{"01.2.3", false, 0},
		{"1.02.3", false, 0},
		{"1.2.03", false, 0},
		{"1.2.3-", false, 0},
		{"1.2.3-01", false, 0},
		{"1.2.3-00", false, 0},
		{"1.2.3-a..b", false, 0},
		{"1.2.3-a.", false, 0},
		{"1.2.3+", false, 0},
		{"1.2.3+b..c", false, 0},
		{"1.2.3-rc+b+c", false, 0},
		{"1.2.3-x_y", false, 0},
		{"1.2.3-é", false, 0},
		{"1.2.3 ", false, 0},
		{" 1.2.3", false, 0},
		{"1.2.3\n", false, 0},
		{"1.2.3.4", false, 0},
		{"1..3", false, 0},
	}
	for _, tc := range cases {
		if got := ValidVersion(tc.v); got != tc.valid {
			t.Errorf("ValidVersion(%q) = %v, want %v", tc.v, got, tc.valid)
		}
		if m, ok := VersionMajor(tc.v); ok != tc.valid || m != tc.major {
			t.Errorf("VersionMajor(%q) = %d, %v; want %d, %v", tc.v, m, ok, tc.major, tc.valid)
		}
	}
	// SemVer 2.0.0 bounds no component; a major beyond int is valid, but has
	// no int major.
	const huge = "99999999999999999999999.0.0"
	if !ValidVersion(huge) {
		t.Errorf("%q rejected", huge)
	}
	if _, ok := VersionMajor(huge); ok {
		t.Errorf("VersionMajor(%q) reported a major", huge)
	}
}

// versionCorpus seeds the agreement between VersionPattern, which schemas
// use, and ValidVersion, which onex uses.
var versionCorpus = []string{
	"", "1", "1.2", "1.2.3", "v1.2.3", "01.2.3", "1.02.3", "1.2.03", "0.0.0", "10.20.30", "1.2.3-", "1.2.3-alpha",
	"1.2.3-alpha.1", "1.2.3-alpha.01", "1.2.3-0", "1.2.3-00", "1.2.3-0a", "1.2.3-a..b", "1.2.3-a.", "1.2.3+", "1.2.3+b",
	"1.2.3+b.01", "1.2.3+b..c", "1.2.3-rc.1+build.5", "1.2.3-rc+b+c", "1.2.3+b-c.d", "1.2.3 ", "1.2.3.4", "1..3",
	"99999999999999999999999.0.0", "1.2.3-x_y", "1.2.3-é", "1.2.3--", "1.2.3-0-", "1.0.0\n", "10.0.0", "2.0.0",
}

var (
	versionRE      = regexp.MustCompile(VersionPattern)
	majorVersionRE = regexp.MustCompile(MajorVersionPattern(1))
)

func TestVersionPatternAgrees(t *testing.T) {
	for _, s := range versionCorpus {
		checkVersionPattern(t, s)
	}
}

func checkVersionPattern(t *testing.T, s string) {
	t.Helper()
	valid := ValidVersion(s)
	if got := versionRE.MatchString(s); got != valid {
		t.Errorf("VersionPattern matches %q: %v, ValidVersion says %v", s, got, valid)
	}
	major, ok := VersionMajor(s)
	if want, got := ok && major == 1, majorVersionRE.MatchString(s); got != want {
		t.Errorf("MajorVersionPattern(1) matches %q: %v, VersionMajor says %d, %v", s, got, major, ok)
	}
}

func FuzzVersionPattern(f *testing.F) {
	for _, s := range versionCorpus {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkVersionPattern(t, s) })
}

// BenchmarkPatternChecks runs the identifier and version checks a contract's
// decoding and its descriptor's validation apply, once each.
func BenchmarkPatternChecks(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !ValidName("partner-00042") || !ValidVersion("1.4.0") || !ValidVersion("1.0.0-rc.1+build.5") ||
			!Command("partner00042.get").Valid() || !Capability("x.acme.fast").Valid() ||
			!ValidImportPath("github.com/onexhost/onex/handlers/httpout") || !ValidDigest("sha256:"+sixtyFour) {
			b.Fatal("a valid value was rejected")
		}
	}
}
