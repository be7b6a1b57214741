package policy

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzEgressDecision feeds arbitrary allowed_domains entries and hosts to the
// pattern parser, the allowlist and the guard's name-level check: none may panic,
// an accepted name entry must allow its own host, and a host the guard lets
// through must be a listed address or a well-formed name the list allows.
func FuzzEgressDecision(f *testing.F) {
	for _, s := range []string{"api.example.com", "*.example.com:443", "*", "10.0.0.0/8", "[::1]:5432", "2130706433", "0x7f.1", "::ffff:127.0.0.1", "API.Example.COM.", "a..b", "*.com"} {
		f.Add(s, "api.example.com", uint16(443))
	}
	e := New(Options{})
	f.Fuzz(func(t *testing.T, pattern, host string, port uint16) {
		p, err := ParsePattern(pattern)
		a, _ := CompileAllowlist([]string{pattern})
		if err == nil && p.Kind == PatternHost && !a.AllowsName(p.Host, portOr(p.Port, port)) {
			t.Fatalf("entry %q does not allow its own host %q", pattern, p.Host)
		}
		g := &guard{g: &grant{e: e, d: effectDescriptor("fuzz")}, allow: a, private: PrivateNetworksDeny}
		addr, isIP, err := g.checkTarget(host, port)
		if err != nil {
			return
		}
		h := strings.TrimSuffix(host, ".")
		if isIP {
			if !a.AllowsAddr(addr, port) {
				t.Fatalf("IP %q passed without being listed in %q", host, pattern)
			}
			return
		}
		if _, perr := netip.ParseAddr(h); perr == nil || checkHostname(h) != nil || !a.AllowsName(h, port) {
			t.Fatalf("host %q passed the check of %q", host, pattern)
		}
	})
}

func portOr(p, fallback uint16) uint16 {
	if p != 0 {
		return p
	}
	return fallback
}
