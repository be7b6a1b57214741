package handler

import (
	"regexp"
	"testing"
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
