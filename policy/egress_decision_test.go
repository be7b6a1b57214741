package policy

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/onexhost/onex/handler"
)

// errRecorded is the answer of noDial: the guard let the address through and
// asked to dial it.
var errRecorded = errors.New("recorded, not dialed")

// noDial is the dial function of the decision tests: it records the address
// the guard asks for and dials nothing, so a test may name any address.
type noDial struct {
	mu     sync.Mutex
	dialed []string
}

func (d *noDial) DialContext(_ context.Context, _, address string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dialed = append(d.dialed, address)
	return nil, errRecorded
}

// dialThroughGuard grants domains to a handler and dials target through its
// guard, with names resolved by r and nothing dialed. It returns the error and
// the addresses the guard asked to dial.
func dialThroughGuard(t *testing.T, r Resolver, private PrivateNetworks, domains []string, target string) (error, []string) {
	t.Helper()
	env := DefaultEnvironment(handler.EnvDevelopment)
	env.EgressPrivateNetworks = private
	rec := &noDial{}
	e := New(Options{Environment: env, Resolver: r, Dial: rec.DialContext})
	t.Cleanup(func() { _ = e.Close() })
	caps, err := e.Grant(effectDescriptor("partner-api", domains...))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := caps.Dialer.DialContext(t.Context(), "tcp", target)
	if conn != nil {
		_ = conn.Close()
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return err, slices.Clone(rec.dialed)
}

// checkAllowed fails unless the guard dialed exactly want.
func checkAllowed(t *testing.T, err error, dialed []string, want string) {
	t.Helper()
	if !errors.Is(err, errRecorded) || len(dialed) != 1 || dialed[0] != want {
		t.Fatalf("want %s dialed, got err %v, dialed %v", want, err, dialed)
	}
}

// checkRefused fails unless the guard refused with a located SECURITY-310
// naming wantMsg, and dialed nothing.
func checkRefused(t *testing.T, err error, dialed []string, wantMsg string) {
	t.Helper()
	if len(dialed) != 0 {
		t.Fatalf("dialed %v, want nothing (err %v)", dialed, err)
	}
	assertDenial(t, err, "partner-api", wantMsg)
}

// TestMetadataEndpoints: a cloud metadata or credential endpoint is dialed only
// when allowed_domains lists that exact address as an IP literal, never
// through a covering CIDR, a name, a wildcard or *, whatever
// egress_private_networks says. The endpoints are spelled out here, so that
// dropping one from the guard's list fails the test.
func TestMetadataEndpoints(t *testing.T) {
	endpoints := []struct{ addr, what string }{
		{"169.254.169.254", "instance metadata"},
		{"fd00:ec2::254", "AWS instance metadata over IPv6"},
		{"fd20:ce::254", "Google Cloud metadata over IPv6"},
		{"fe80::a9fe:a9fe", "OpenStack metadata over IPv6"},
		{"169.254.170.2", "Amazon ECS task credentials"},
		{"169.254.170.23", "Amazon EKS Pod Identity agent"},
		{"fd00:ec2::23", "Amazon EKS Pod Identity agent over IPv6"},
		{"100.100.100.200", "Alibaba Cloud instance metadata"},
		{"192.0.0.192", "Oracle Cloud at Customer instance metadata"},
	}
	const name = "meta.cloud.test"
	ways := []struct {
		name    string
		domains func(addr netip.Addr) []string
		byName  bool   // dial name:80 (it resolves to the endpoint) instead of the literal
		allowed bool   // the guard dials the endpoint
		wantMsg string // in the refusal
	}{
		{"via the whole address family as a CIDR", func(a netip.Addr) []string {
			if a.Is4() {
				return []string{"0.0.0.0/0"}
			}
			return []string{"::/0"}
		}, false, false, "a CIDR in allowed_domains does not grant it"},
		{"via a CIDR of that one address", func(a netip.Addr) []string {
			return []string{netip.PrefixFrom(a, a.BitLen()).String()}
		}, false, false, "a CIDR in allowed_domains does not grant it"},
		{"via 169.254.0.0/16, fe80::/10 or fd00::/8 and 100.64.0.0/10", func(netip.Addr) []string {
			return []string{"169.254.0.0/16", "fe80::/10", "fd00::/8", "100.64.0.0/10", "192.0.0.0/24"}
		}, false, false, "a CIDR in allowed_domains does not grant it"},
		{"via a listed name", func(netip.Addr) []string { return []string{name} }, true, false, "cloud metadata or credential endpoint"},
		{"via a wildcard", func(netip.Addr) []string { return []string{"*.cloud.test"} }, true, false, "cloud metadata or credential endpoint"},
		{"via *", func(netip.Addr) []string { return []string{"*"} }, true, false, "cloud metadata or credential endpoint"},
		{"via a name and a covering CIDR", func(netip.Addr) []string { return []string{name, "0.0.0.0/0", "::/0"} }, true, false, "cloud metadata or credential endpoint"},
		{"listed on another port", func(a netip.Addr) []string {
			return []string{netip.AddrPortFrom(a, 8080).String(), "0.0.0.0/0", "::/0"}
		}, false, false, "a CIDR in allowed_domains does not grant it"},
		{"listed exactly", func(a netip.Addr) []string { return []string{a.String()} }, false, true, ""},
		{"listed exactly on its port", func(a netip.Addr) []string { return []string{netip.AddrPortFrom(a, 80).String()} }, false, true, ""},
		{"listed exactly, reached by a name", func(a netip.Addr) []string { return []string{name, a.String()} }, true, true, ""},
	}
	for _, ep := range endpoints {
		a := netip.MustParseAddr(ep.addr)
		r := newResolver(map[string]string{name: ep.addr})
		for _, w := range ways {
			for _, private := range []PrivateNetworks{PrivateNetworksAllow, PrivateNetworksDeny} {
				t.Run(ep.addr+"/"+w.name+"/"+string(private), func(t *testing.T) {
					target := netip.AddrPortFrom(a, 80).String()
					if w.byName {
						target = name + ":80"
					}
					err, dialed := dialThroughGuard(t, r, private, w.domains(a), target)
					if w.allowed {
						checkAllowed(t, err, dialed, netip.AddrPortFrom(a, 80).String())
						return
					}
					checkRefused(t, err, dialed, w.wantMsg)
					if !strings.Contains(err.Error(), ep.what) {
						t.Errorf("refusal %q does not name %q", err, ep.what)
					}
				})
			}
		}
	}
}

// TestMetadataAmongOtherAnswers: a name whose answer mixes the metadata
// address with a public one is dialed at the public address only.
func TestMetadataAmongOtherAnswers(t *testing.T) {
	r := newResolver(map[string]string{"mixed.cloud.test": "169.254.169.254,203.0.113.10"})
	err, dialed := dialThroughGuard(t, r, PrivateNetworksAllow, []string{"*.cloud.test", "0.0.0.0/0"}, "mixed.cloud.test:80")
	checkAllowed(t, err, dialed, "203.0.113.10:80")
}

// TestEmbeddedIPv4Decisions: an IPv6 address that carries an IPv4 address is
// refused when the IPv4 address would be (a metadata endpoint always, a
// private one under egress_private_networks: deny), even inside a listed CIDR
// and through a listed name; only the exact IPv6 address listed as an IP
// literal allows it. Addresses are the RFCs' examples, and their forms
// carrying 10.1.2.3 and 169.254.169.254.
func TestEmbeddedIPv4Decisions(t *testing.T) {
	const (
		none = iota // allowed in both modes
		deny        // refused under egress_private_networks: deny
		both        // refused in both modes
	)
	cases := []struct {
		addr, carries string
		refused       int
	}{
		// RFC 6052 §2.4: 192.0.2.33 behind the well-known prefix.
		{"64:ff9b::192.0.2.33", "192.0.2.33", none},
		{"64:ff9b::a01:203", "10.1.2.3", deny},
		{"64:ff9b::a9fe:a9fe", "169.254.169.254", both},
		// RFC 8215: the local-use prefix, with the RFC 6052 §2.4 layouts of
		// 192.0.2.33 for each prefix length that fits inside it.
		{"64:ff9b:1:c000:2:2100::", "192.0.2.33", none},     // /48
		{"64:ff9b:1:c0:0:221::", "192.0.2.33", none},        // /56
		{"64:ff9b:1:0:c0:2:2100:0", "192.0.2.33", none},     // /64
		{"64:ff9b:1::c000:221", "192.0.2.33", none},         // /96
		{"64:ff9b:1::a01:203", "10.1.2.3", deny},            // /96
		{"64:ff9b:1:a01:2:300::", "10.1.2.3", deny},         // /48
		{"64:ff9b:1::a9fe:a9fe", "169.254.169.254", both},   // /96
		{"64:ff9b:1:a9:fe:a9fe::", "169.254.169.254", both}, // /56
		// RFC 3056 §2: the sites 192.1.2.3 and 9.254.253.252.
		{"2002:c001:203::", "192.1.2.3", none},
		{"2002:9fe:fdfc::1", "9.254.253.252", none},
		{"2002:a01:203::", "10.1.2.3", deny},
		{"2002:a9fe:a9fe::", "169.254.169.254", both},
		// RFC 4380 §4: server 65.54.227.120, client 192.0.2.45 behind a cone
		// NAT on port 40000; then a metadata client and a private server.
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "65.54.227.120", none},
		{"2001:0:4136:e378:8000:63bf:5601:5601", "169.254.169.254", both},
		{"2001:0:a01:203:8000:63bf:3fff:fdd2", "10.1.2.3", deny},
		// RFC 4291 §2.5.5.1 IPv4-compatible and RFC 2765 §2.1 IPv4-translated.
		{"::c000:221", "192.0.2.33", none},
		{"::a01:203", "10.1.2.3", deny},
		{"::a9fe:a9fe", "169.254.169.254", both},
		{"::ffff:0:c000:221", "192.0.2.33", none},
		{"::ffff:0:a01:203", "10.1.2.3", deny},
		{"::ffff:0:a9fe:a9fe", "169.254.169.254", both},
		// RFC 4291 §2.5.5.2 IPv4-mapped: the IPv4 address itself, so a CIDR
		// listing it allows a private one and never the metadata endpoint.
		{"::ffff:10.1.2.3", "10.1.2.3", none},
		{"::ffff:169.254.169.254", "169.254.169.254", both},
	}
	const name = "v6.nat.test"
	for _, tc := range cases {
		a := netip.MustParseAddr(tc.addr)
		// A literal is dialed as written; a resolved answer as the guard
		// unmapped it.
		literal, resolved := netip.AddrPortFrom(a, 443).String(), netip.AddrPortFrom(a.Unmap(), 443).String()
		r := newResolver(map[string]string{name: tc.addr})
		for _, private := range []PrivateNetworks{PrivateNetworksAllow, PrivateNetworksDeny} {
			refused := tc.refused == both || tc.refused == deny && private == PrivateNetworksDeny
			for _, w := range []struct {
				name    string
				domains []string
				target  string
				exact   bool
			}{
				{"literal in a listed CIDR", []string{"::/0", "0.0.0.0/0"}, literal, false},
				{"listed name, answer in a listed CIDR", []string{name, "::/0", "0.0.0.0/0"}, name + ":443", false},
				{"literal listed exactly", []string{tc.addr}, literal, true},
				{"listed name, answer listed exactly", []string{name, tc.addr}, name + ":443", true},
			} {
				t.Run(tc.addr+"/"+w.name+"/"+string(private), func(t *testing.T) {
					err, dialed := dialThroughGuard(t, r, private, w.domains, w.target)
					if refused && !w.exact {
						checkRefused(t, err, dialed, tc.carries)
						return
					}
					want := resolved
					if w.target == literal {
						want = literal
					}
					checkAllowed(t, err, dialed, want)
				})
			}
		}
	}
}

// TestEmbeddedIPv4: each IPv6 form that carries an IPv4 address is decoded by
// its RFC's rules, into every address it may carry.
func TestEmbeddedIPv4(t *testing.T) {
	cases := []struct {
		addr, form string
		want       []string
	}{
		{"64:ff9b::192.0.2.33", "NAT64 well-known prefix", []string{"192.0.2.33"}},
		// The local-use prefix: /48, /56, /64 and /96 decodings, in that order.
		{"64:ff9b:1:c000:2:2100::", "NAT64 local-use prefix", []string{"192.0.2.33", "0.2.33.0", "2.33.0.0", "0.0.0.0"}},
		{"64:ff9b:1::c000:221", "NAT64 local-use prefix", []string{"0.0.0.0", "0.0.0.0", "0.0.0.192", "192.0.2.33"}},
		{"2002:c001:203::", "6to4", []string{"192.1.2.3"}},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo", []string{"65.54.227.120", "192.0.2.45"}},
		{"::ffff:192.0.2.33", "IPv4-mapped", []string{"192.0.2.33"}},
		{"::ffff:0:192.0.2.33", "IPv4-translated", []string{"192.0.2.33"}},
		{"::192.0.2.33", "IPv4-compatible", []string{"192.0.2.33"}},
		{"fe80::a9fe:a9fe%eth0", "", nil},
		{"64:ff9b:2::a01:203", "", nil}, // outside both NAT64 prefixes
		{"2001:db8::a01:203", "", nil},
		{"10.1.2.3", "", nil},
	}
	for _, tc := range cases {
		e := embeddedIPv4(netip.MustParseAddr(tc.addr))
		var got []string
		for _, a := range e.addrs[:e.n] {
			got = append(got, a.String())
		}
		if !strings.Contains(e.form, tc.form) || tc.form == "" && e.form != "" || !slices.Equal(got, tc.want) {
			t.Errorf("embeddedIPv4(%s) = %q %v, want %q %v", tc.addr, e.form, got, tc.form, tc.want)
		}
	}
}

// TestRFC6052Layouts decodes the example table of RFC 6052 §2.4: 192.0.2.33
// behind a network-specific prefix of every permitted length.
func TestRFC6052Layouts(t *testing.T) {
	for _, tc := range []struct {
		bits int
		addr string
	}{
		{32, "2001:db8:c000:221::"},
		{40, "2001:db8:1c0:2:21::"},
		{48, "2001:db8:122:c000:2:2100::"},
		{56, "2001:db8:122:3c0:0:221::"},
		{64, "2001:db8:122:344:c0:2:2100:0"},
		{96, "2001:db8:122:344::192.0.2.33"},
	} {
		l := rfc6052(tc.bits)
		b := netip.MustParseAddr(tc.addr).As16()
		if got := netip.AddrFrom4([4]byte{b[l.at[0]], b[l.at[1]], b[l.at[2]], b[l.at[3]]}); got.String() != "192.0.2.33" {
			t.Errorf("/%d layout %v of %s = %s, want 192.0.2.33", tc.bits, l.at, tc.addr, got)
		}
	}
}

// TestDecisionDoesNotAllocate holds the address decision to no allocation for
// an address that passes, plain or embedded.
func TestDecisionDoesNotAllocate(t *testing.T) {
	a, _ := CompileAllowlist([]string{"*.partner.test", "10.0.0.0/8"})
	for _, s := range []string{"203.0.113.10", "2606:4700::1111", "64:ff9b:1::c000:221", "2001:0:4136:e378:8000:63bf:3fff:fdd2"} {
		addr := netip.MustParseAddr(s)
		if n := testing.AllocsPerRun(100, func() { decide(a, addr, 443, PrivateNetworksDeny) }); n != 0 {
			t.Errorf("decide(%s) allocates %.0f times", s, n)
		}
	}
}
