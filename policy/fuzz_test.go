package policy

import (
	"context"
	"encoding/binary"
	"net/netip"
	"strings"
	"sync"
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

// FuzzEmbeddedIPv4 asserts, at both decision points of the guard (an IP
// literal, and the answer for a listed name), that no address whose embedded
// IPv4 address is refused is ever allowed, even with ::/0 and 0.0.0.0/0 listed,
// unless that exact IPv6 address is listed as an IP literal; and that a listed
// literal is always allowed. The embedded addresses come from an oracle
// written apart from the guard's decoder, bit by bit from the RFCs.
func FuzzEmbeddedIPv4(f *testing.F) {
	for _, s := range []struct {
		addr, pattern string
		deny, exact   bool
	}{
		// RFC 6052 §2.4, and its layouts of 192.0.2.33 in the RFC 8215
		// local-use prefix at /48, /56, /64 and /96.
		{"64:ff9b::192.0.2.33", "", true, false},
		{"64:ff9b:1:c000:2:2100::", "", true, false},
		{"64:ff9b:1:c0:0:221::", "", true, false},
		{"64:ff9b:1:0:c0:2:2100:0", "", true, false},
		{"64:ff9b:1::c000:221", "", true, false},
		{"64:ff9b:1::a01:203", "64:ff9b:1::/48", true, false},
		{"64:ff9b:1::a9fe:a9fe", "", false, false},
		{"64:ff9b:1::a9fe:a9fe", "64:ff9b:1::a9fe:a9fe", false, false},
		{"64:ff9b:1:a9:fe:a9fe::", "", false, true},
		// RFC 3056 §2 and RFC 4380 §4.
		{"2002:c001:203::", "", true, false},
		{"2002:a9fe:a9fe::", "2002::/16", false, false},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "", true, false},
		{"2001:0:4136:e378:8000:63bf:5601:5601", "[2001:0:4136:e378:8000:63bf:5601:5601]:443", false, false},
		// RFC 4291 and RFC 2765.
		{"::a9fe:a9fe", "", false, false},
		{"::ffff:0:a01:203", "", true, false},
		{"::ffff:169.254.169.254", "169.254.169.254:8080", false, false},
		{"fd00:ec2::254", "fd00:ec2::/32", false, false},
	} {
		b := netip.MustParseAddr(s.addr).As16()
		f.Add(binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), s.pattern, s.deny, s.exact)
	}
	r := &answerResolver{}
	e := New(Options{Resolver: r})
	f.Cleanup(func() { _ = e.Close() })
	f.Fuzz(func(t *testing.T, hi, lo uint64, pattern string, deny, exact bool) {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], hi)
		binary.BigEndian.PutUint64(b[8:], lo)
		a := netip.AddrFrom16(b)
		r.set(a)
		private := PrivateNetworksAllow
		if deny {
			private = PrivateNetworksDeny
		}
		domains := []string{"::/0", "0.0.0.0/0", "fuzz.test", pattern}
		if exact {
			domains = append(domains, a.String())
		}
		allow, _ := CompileAllowlist(domains)
		g := &guard{g: &grant{e: e, d: effectDescriptor("fuzz")}, allow: allow, private: private}

		listed := exact
		if p, err := ParsePattern(pattern); err == nil && p.Kind == PatternAddr && p.Prefix.Addr() == a.Unmap() && (p.Port == 0 || p.Port == 443) {
			listed = true
		}
		refused := oracleRefused(hi, lo, private)

		_, _, litErr := g.checkTarget(a.String(), 443)
		_, resErr := g.resolve(t.Context(), "ip", "fuzz.test", 443)
		switch {
		case listed && (litErr != nil || resErr != nil):
			t.Fatalf("%s is listed exactly in %q but refused: %v / %v", a, domains, litErr, resErr)
		case !listed && refused != "" && (litErr == nil || resErr == nil):
			t.Fatalf("%s carries %s, refused, yet allowed (literal %v, answer %v) by %q", a, refused, litErr, resErr, domains)
		}
	})
}

// oracleRefused returns the IPv4 address hi:lo carries that the address policy
// refuses (a metadata endpoint, or one classRefusal names under private), or
// "". It decodes by the RFCs' bit positions, not through embeddedIPv4.
func oracleRefused(hi, lo uint64, private PrivateNetworks) string {
	bit := func(i int) uint32 { // bit i of the address, 0 the most significant
		if i < 64 {
			return uint32(hi>>(63-i)) & 1
		}
		return uint32(lo>>(127-i)) & 1
	}
	// rfc6052 reads the 32 bits after a prefix of n bits, skipping the "u"
	// bits 64-71 (RFC 6052 §2.2).
	rfc6052 := func(n int) uint32 {
		var v uint32
		for i, got := n, 0; got < 32; i++ {
			if i >= 64 && i < 72 {
				continue
			}
			v = v<<1 | bit(i)
			got++
		}
		return v
	}
	var carried []uint32
	switch {
	case hi == 0 && lo>>32 == 0xffff: // IPv4-mapped: the IPv4 address itself
		v4 := netip.AddrFrom4([4]byte{byte(lo >> 24), byte(lo >> 16), byte(lo >> 8), byte(lo)})
		if _, ok := metadataEndpointOf(v4); ok {
			return v4.String()
		}
		return ""
	case hi == 0 && (lo>>32 == 0 || lo>>32 == 0xffff0000): // IPv4-compatible, IPv4-translated
		carried = []uint32{uint32(lo)}
	case hi == 0x0064_ff9b_0000_0000 && lo>>32 == 0: // 64:ff9b::/96
		carried = []uint32{rfc6052(96)}
	case hi>>16 == 0x0064_ff9b_0001: // 64:ff9b:1::/48
		carried = []uint32{rfc6052(48), rfc6052(56), rfc6052(64), rfc6052(96)}
	case hi>>48 == 0x2002: // 6to4
		carried = []uint32{uint32(hi >> 16)}
	case hi>>32 == 0x2001_0000: // Teredo: server, then the inverted client
		carried = []uint32{uint32(hi), ^uint32(lo)}
	}
	for _, v := range carried {
		v4 := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		if v>>24 == 0 { // 0.0.0.0/8 is never forwarded
			continue
		}
		if _, ok := metadataEndpointOf(v4); ok || classRefusal(v4, private) != "" {
			return v4.String()
		}
	}
	return ""
}

// answerResolver answers every name with the address of the current fuzz
// input, without DNS.
type answerResolver struct {
	mu     sync.Mutex
	answer netip.Addr
}

func (r *answerResolver) set(a netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = a
}

func (r *answerResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return []netip.Addr{r.answer}, nil
}
