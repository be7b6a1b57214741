package handler

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/semver"
)

// The hand-written checks agree with the patterns they document.
var patternChecks = []struct {
	pattern string
	check   func(string) bool
}{
	{NamePattern, ValidName},
	{ImportPathPattern, ValidImportPath},
	{DigestPattern, ValidDigest},
	{CommandPattern, validCommand},
}

var patternCorpus = []string{
	"", "a", "A", "0", "a0", "partner-api", "partner-00001", "a.b_c-d", "a-", "a--b", "a.-b", "-a", "a b", "é", "aé",
	"github.com/onexhost/onex/handlers/httpout", "example.com/test/echo", "a/b+c", "a+b/c", "a//b", "a/", "/a",
	"~a", "a~/b~", "Github.com/X_y/Z", "a/b/c+d.e~f-g_h",
	"sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeF",
	"sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
	"sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
	"db.query", "orders.v2.get_all", "db", "db.", ".db", "db..query", "db.Query", "db.2query", "d_b.q_1", "db.query\n",
}

func TestPatternChecks(t *testing.T) {
	for _, s := range patternCorpus {
		checkPatterns(t, s)
	}
}

func checkPatterns(t *testing.T, s string) {
	t.Helper()
	for _, p := range patternChecks {
		if want := regexp.MustCompile(p.pattern).MatchString(s); p.check(s) != want {
			t.Errorf("check of %s on %q = %v, the pattern says %v", p.pattern, s, !want, want)
		}
	}
}

func FuzzPatternChecks(f *testing.F) {
	for _, s := range patternCorpus {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkPatterns(t, s) })
}

// validVersionSemver is ValidVersion as golang.org/x/mod/semver decides it.
func validVersionSemver(s string) bool {
	if s == "" || s[0] == 'v' {
		return false
	}
	v := "v" + s
	core := v
	if i := strings.IndexByte(core, '+'); i >= 0 {
		core = core[:i]
	}
	return semver.IsValid(v) && semver.Canonical(v) == core
}

var versionCorpus = []string{
	"", "1", "1.2", "1.2.3", "v1.2.3", "01.2.3", "1.02.3", "1.2.03", "0.0.0", "10.20.30", "1.2.3-", "1.2.3-alpha",
	"1.2.3-alpha.1", "1.2.3-alpha.01", "1.2.3-0", "1.2.3-00", "1.2.3-0a", "1.2.3-a..b", "1.2.3-a.", "1.2.3+", "1.2.3+b",
	"1.2.3+b.01", "1.2.3+b..c", "1.2.3-rc.1+build.5", "1.2.3-rc+b+c", "1.2.3+b-c.d", "1.2.3 ", "1.2.3.4", "1..3",
	"99999999999999999999999.0.0", "1.2.3-x_y", "1.2.3-é",
}

func TestValidVersion(t *testing.T) {
	for _, s := range versionCorpus {
		checkVersion(t, s)
	}
}

func checkVersion(t *testing.T, s string) {
	t.Helper()
	if got, want := ValidVersion(s), validVersionSemver(s); got != want {
		t.Errorf("ValidVersion(%q) = %v, semver says %v", s, got, want)
	}
	n, ok := VersionMajor(s)
	wantN, wantOK := 0, false
	if validVersionSemver(s) {
		var err error
		wantN, err = strconv.Atoi(strings.TrimPrefix(semver.Major("v"+s), "v"))
		wantOK = err == nil
	}
	if n != wantN || ok != wantOK {
		t.Errorf("VersionMajor(%q) = %d, %v; semver says %d, %v", s, n, ok, wantN, wantOK)
	}
}

func FuzzValidVersion(f *testing.F) {
	for _, s := range versionCorpus {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkVersion(t, s) })
}
