package policy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/onexhost/onex/diag/ruleid"
	"github.com/onexhost/onex/handler"
)

// MaxRedirects is how many redirects the guarded HTTP client follows; each one is
// checked against the allowlist before it is followed.
const MaxRedirects = 5

// Resolver resolves host names; *net.Resolver implements it. Tests inject one that
// maps names to local or private addresses without DNS.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DialFunc opens a connection to an address that has already been checked. The
// guard only ever passes it an IP literal and a port, so it never resolves.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// metadataEndpoint is a cloud metadata or credential endpoint. These hand out
// credentials, so the guard dials one only when allowed_domains lists that exact
// address as an IP literal: never through a CIDR, a wildcard, * or a name that
// resolves there, and whatever egress_private_networks says.
type metadataEndpoint struct {
	addr netip.Addr
	what string // named in refusals and warnings
}

var metadataEndpoints = []metadataEndpoint{
	// The instance metadata address most clouds share:
	//   AWS:          https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html
	//   Google Cloud: https://cloud.google.com/compute/docs/metadata/overview
	//   Azure:        https://learn.microsoft.com/en-us/azure/virtual-machines/instance-metadata-service
	//   OpenStack:    https://docs.openstack.org/nova/latest/admin/metadata-service.html
	//   Oracle Cloud: https://docs.oracle.com/en-us/iaas/Content/Compute/Tasks/gettingmetadata.htm
	//   DigitalOcean: https://docs.digitalocean.com/products/droplets/how-to/access-metadata/
	{netip.MustParseAddr("169.254.169.254"), "instance metadata of AWS, Google Cloud, Azure, OpenStack, Oracle Cloud and DigitalOcean"},
	// AWS instance metadata over IPv6 (the AWS page above).
	{netip.MustParseAddr("fd00:ec2::254"), "AWS instance metadata over IPv6"},
	// Google Cloud's metadata server on IPv6-only VMs:
	// https://cloud.google.com/compute/docs/metadata/querying-metadata
	{netip.MustParseAddr("fd20:ce::254"), "Google Cloud metadata over IPv6"},
	// OpenStack metadata over IPv6, since Victoria (the OpenStack page above).
	{netip.MustParseAddr("fe80::a9fe:a9fe"), "OpenStack metadata over IPv6"},
	// Amazon ECS task role credentials:
	// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
	{netip.MustParseAddr("169.254.170.2"), "Amazon ECS task credentials"},
	// Amazon EKS Pod Identity agent, IPv4 and IPv6:
	// https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html
	{netip.MustParseAddr("169.254.170.23"), "Amazon EKS Pod Identity agent"},
	{netip.MustParseAddr("fd00:ec2::23"), "Amazon EKS Pod Identity agent over IPv6"},
	// Alibaba Cloud ECS instance metadata:
	// https://www.alibabacloud.com/help/en/ecs/user-guide/view-instance-metadata
	{netip.MustParseAddr("100.100.100.200"), "Alibaba Cloud instance metadata"},
	// Oracle Cloud at Customer instance metadata:
	// https://docs.oracle.com/en/cloud/cloud-at-customer/occ-get-started/retrieve-predefined-instance-metadata.html
	{netip.MustParseAddr("192.0.0.192"), "Oracle Cloud at Customer instance metadata"},
}

// metadataEndpointOf says which metadata or credential endpoint a is, if any.
func metadataEndpointOf(a netip.Addr) (string, bool) {
	for _, m := range metadataEndpoints {
		if a == m.addr {
			return m.what, true
		}
	}
	return "", false
}

// ipv4Layout says where an IPv4 address sits in an IPv6 address: the index of
// each of its four bytes, and a mask XORed into them (Teredo stores its client
// address inverted).
type ipv4Layout struct {
	at  [4]uint8
	xor byte
}

// last32 is the IPv4 address in the low 32 bits.
var last32 = ipv4Layout{at: [4]uint8{12, 13, 14, 15}}

// rfc6052 is the layout of RFC 6052 §2.2 behind a prefix of bits (32, 40, 48,
// 56, 64 or 96): the IPv4 address follows the prefix, skipping bits 64-71 (the
// "u" octet, which must stay zero).
func rfc6052(bits int) ipv4Layout {
	var l ipv4Layout
	i := bits / 8
	for n := range l.at {
		if i == 8 {
			i++
		}
		l.at[n] = uint8(i)
		i++
	}
	return l
}

// ipv4Forms are the IPv6 forms that carry an IPv4 address, each with every
// layout the address may use. A translator, relay or tunnel delivers traffic
// to the embedded address, so the guard judges it like a plain one. The
// prefixes do not overlap, so at most one form applies.
//
// The local-use NAT64 prefix may hold a network-specific prefix of any RFC 6052
// length within it (RFC 8215), and the address does not say which one its
// translator uses: every decoding counts, and one refused decoding refuses the
// address. /32 and /40 do not fit inside a /48; the well-known prefix is a /96
// only (RFC 6052 §2.1). Network-specific prefixes elsewhere are
// indistinguishable from native addresses and are not decoded.
//
// IPv4-mapped addresses are the IPv4 address itself (RFC 4291 §2.5.5.2): the
// guard unmaps them before any decision, so they meet the allowlist and the
// address policy as plain IPv4.
var ipv4Forms = []struct {
	prefix  netip.Prefix
	name    string
	layouts []ipv4Layout
}{
	{netip.MustParsePrefix("::ffff:0:0/96"), "IPv4-mapped (RFC 4291)", []ipv4Layout{last32}},
	{netip.MustParsePrefix("::ffff:0:0:0/96"), "IPv4-translated (RFC 2765)", []ipv4Layout{last32}},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible (RFC 4291)", []ipv4Layout{last32}},
	{netip.MustParsePrefix("64:ff9b::/96"), "NAT64 well-known prefix (RFC 6052)", []ipv4Layout{rfc6052(96)}},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "NAT64 local-use prefix (RFC 8215)", []ipv4Layout{rfc6052(48), rfc6052(56), rfc6052(64), rfc6052(96)}},
	{netip.MustParsePrefix("2002::/16"), "6to4 (RFC 3056)", []ipv4Layout{{at: [4]uint8{2, 3, 4, 5}}}},
	// Teredo (RFC 4380 §4): the server in bits 32-63, the client inverted in bits 96-127.
	{netip.MustParsePrefix("2001::/32"), "Teredo (RFC 4380)", []ipv4Layout{{at: [4]uint8{4, 5, 6, 7}}, {at: [4]uint8{12, 13, 14, 15}, xor: 0xff}}},
}

// embeddedIPv4s holds the IPv4 addresses an IPv6 address may carry; an array,
// so that the decision does not allocate.
type embeddedIPv4s struct {
	form  string
	n     int
	addrs [4]netip.Addr
}

// embeddedIPv4 returns the IPv4 address(es) a carries and the form that carries
// them; none for a plain IPv4 address or any other IPv6 address.
func embeddedIPv4(a netip.Addr) embeddedIPv4s {
	var e embeddedIPv4s
	if !a.Is6() {
		return e
	}
	a = a.WithZone("")
	b := a.As16()
	for _, f := range ipv4Forms {
		if !f.prefix.Contains(a) {
			continue
		}
		e.form = f.name
		for _, l := range f.layouts {
			e.addrs[e.n] = netip.AddrFrom4([4]byte{b[l.at[0]] ^ l.xor, b[l.at[1]] ^ l.xor, b[l.at[2]] ^ l.xor, b[l.at[3]] ^ l.xor})
			e.n++
		}
		return e
	}
	return e
}

var (
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")     // 0.0.0.0 dials the local host on Linux
	sharedSpace = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT, internal in practice
	broadcast   = netip.MustParseAddr("255.255.255.255") // limited broadcast
	ipv4Reserve = netip.MustParsePrefix("240.0.0.0/4")   // reserved for future use
	benchmarks  = netip.MustParsePrefix("198.18.0.0/15") // network benchmarking, not routable
	docIPv6     = netip.MustParsePrefix("2001:db8::/32") // documentation only
	siteLocal   = netip.MustParsePrefix("fec0::/10")     // deprecated site-local, still private
	discardIPv6 = netip.MustParsePrefix("100::/64")      // discard-only
	teredo      = netip.MustParsePrefix("2001::/32")     // tunnels to an embedded IPv4 peer
	ipv4Compat  = netip.MustParsePrefix("::/96")         // deprecated IPv4-compatible addresses
)

// decide is the address-level decision, the same for an IP literal, a resolved
// address and a redirect target: why a may not be dialed on port ("" when it
// may), and whether allowed_domains lists it, exactly or in a CIDR. An exact IP
// literal allows its address outright. Otherwise a metadata endpoint, or an
// IPv6 form whose embedded IPv4 address is refused, is refused even inside a
// listed CIDR; a listed CIDR lifts the rest of the address policy.
func decide(allow *Allowlist, a netip.Addr, port uint16, private PrivateNetworks) (why string, listed bool) {
	a = a.Unmap().WithZone("")
	if allow.ListsAddr(a, port) {
		return "", true
	}
	inPrefix := allow.InPrefix(a, port)
	if why := strictRefusal(a, private); why != "" {
		return why, inPrefix
	}
	if inPrefix {
		return "", true
	}
	return classRefusal(a, private), false
}

// addrRefusal says why a, not listed in allowed_domains, may not be dialed, or
// "" when it may.
func addrRefusal(a netip.Addr, private PrivateNetworks) string {
	why, _ := decide(nil, a, 0, private)
	return why
}

// strictRefusal is the part of the address policy that only an exact IP literal
// in allowed_domains lifts: a is a metadata endpoint, or carries an IPv4 address
// that is one or that the address policy refuses.
func strictRefusal(a netip.Addr, private PrivateNetworks) string {
	if what, ok := metadataEndpointOf(a); ok {
		return "a cloud metadata or credential endpoint (" + what + "), reachable only when allowed_domains lists this exact IP address"
	}
	e := embeddedIPv4(a)
	for _, v4 := range e.addrs[:e.n] {
		// No translator, relay or tunnel forwards to 0.0.0.0/8, and the other
		// decodings of a local-use NAT64 address mostly land there.
		if thisNetwork.Contains(v4) {
			continue
		}
		why := classRefusal(v4, private)
		if what, ok := metadataEndpointOf(v4); ok {
			why = "a cloud metadata or credential endpoint (" + what + ")"
		}
		if why != "" {
			return "the " + e.form + " form of " + v4.String() + ", " + why + "; only this exact IPv6 address listed in allowed_domains allows it"
		}
	}
	return ""
}

// classRefusal says why a plain address of a's class may not be dialed unless
// allowed_domains lists it, or "".
func classRefusal(a netip.Addr, private PrivateNetworks) string {
	switch {
	case a.IsUnspecified() || a.Is4() && thisNetwork.Contains(a):
		return "an unspecified address"
	case a.IsMulticast() || a == broadcast:
		return "a multicast or broadcast address"
	case a.Is4() && (ipv4Reserve.Contains(a) || benchmarks.Contains(a)),
		docIPv6.Contains(a), discardIPv6.Contains(a), teredo.Contains(a),
		a.Is6() && ipv4Compat.Contains(a) && !a.IsLoopback():
		return "a reserved address"
	case a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || sharedSpace.Contains(a) || siteLocal.Contains(a):
		if private != PrivateNetworksAllow {
			return "a loopback, private or link-local address (egress_private_networks: deny)"
		}
	}
	return ""
}

// guard is the egress-guarded dialer of one handler.
type guard struct {
	g       *grant
	allow   *Allowlist
	private PrivateNetworks
}

var _ handler.Dialer = (*guard)(nil)

// DialContext checks address against the allowlist and the private-network
// policy, resolves a name once, and dials only addresses that passed the check.
func (g *guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var ipNetwork string
	switch network {
	case "tcp", "udp":
		ipNetwork = "ip"
	case "tcp4", "udp4":
		ipNetwork = "ip4"
	case "tcp6", "udp6":
		ipNetwork = "ip6"
	default:
		return nil, g.deny(address, 0, "network %q is not an outbound IP network", network)
	}
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return nil, g.deny(address, 0, "address %q is not host:port", address)
	}
	port, err := parsePort(portText)
	if err != nil {
		return nil, g.deny(host, 0, "address %q %v", address, err)
	}
	targets, err := g.resolve(ctx, ipNetwork, host, port)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, t := range targets {
		conn, err := g.g.e.dial(ctx, network, t.String())
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, fmt.Errorf("dial %s: %w", address, errors.Join(errs...))
}

// checkTarget is the name-level decision: an IP literal must be listed and pass
// decide; a name must be a well-formed host name matched by a name entry. It
// does not resolve.
func (g *guard) checkTarget(host string, port uint16) (addr netip.Addr, isIP bool, err error) {
	h := strings.TrimSuffix(host, ".")
	if a, perr := netip.ParseAddr(h); perr == nil {
		why, listed := decide(g.allow, a, port, g.private)
		if !listed {
			return netip.Addr{}, true, g.deny(host, port, "IP address %s (port %d) is not listed in allowed_domains%s", a, port, g.emptyNote())
		}
		if why != "" {
			return netip.Addr{}, true, g.deny(host, port, "IP address %s (port %d) is %s: a CIDR in allowed_domains does not grant it", a, port, why)
		}
		return a, true, nil
	}
	if herr := checkHostname(h); herr != nil {
		return netip.Addr{}, false, g.deny(host, port, "host %q %v", host, herr)
	}
	if !g.allow.AllowsName(h, port) {
		return netip.Addr{}, false, g.deny(host, port, "host %q (port %d) is not in allowed_domains%s", host, port, g.emptyNote())
	}
	return netip.Addr{}, false, nil
}

func (g *guard) emptyNote() string {
	if g.allow.Empty() {
		return " (allowed_domains is empty: no outbound connection is allowed)"
	}
	return ""
}

// resolve checks host and returns the addresses that may be dialed: the listed
// IP itself, or the resolved addresses that pass decide.
func (g *guard) resolve(ctx context.Context, ipNetwork, host string, port uint16) ([]netip.AddrPort, error) {
	addr, isIP, err := g.checkTarget(host, port)
	if err != nil {
		return nil, err
	}
	if isIP {
		return []netip.AddrPort{netip.AddrPortFrom(addr, port)}, nil
	}
	name := strings.TrimSuffix(host, ".")
	addrs, err := g.g.e.resolver.LookupNetIP(ctx, ipNetwork, name)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", name, err)
	}
	var ok []netip.AddrPort
	var refused []string
	for _, a := range addrs {
		a = a.Unmap()
		if why, _ := decide(g.allow, a, port, g.private); why != "" {
			refused = append(refused, a.String()+" is "+why)
			continue
		}
		ok = append(ok, netip.AddrPortFrom(a, port))
	}
	if len(ok) == 0 {
		if len(refused) == 0 {
			return nil, fmt.Errorf("resolve %s: no addresses", name)
		}
		return nil, g.deny(host, port, "host %q resolves only to refused addresses: %s", host, strings.Join(refused, "; "))
	}
	return ok, nil
}

// checkRedirect re-checks every redirect target before it is followed, and stops
// after MaxRedirects.
func (g *guard) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return fmt.Errorf("stopped after %d redirects", MaxRedirects)
	}
	u := req.URL
	if u.Scheme != "http" && u.Scheme != "https" {
		return g.deny(u.Hostname(), 0, "redirect to scheme %q", u.Scheme)
	}
	portText := u.Port()
	if portText == "" {
		portText = "80"
		if u.Scheme == "https" {
			portText = "443"
		}
	}
	port, err := parsePort(portText)
	if err != nil {
		return g.deny(u.Hostname(), 0, "redirect to a bad port: %v", err)
	}
	_, _, err = g.checkTarget(u.Hostname(), port)
	return err
}

func (g *guard) deny(host string, port uint16, format string, args ...any) error {
	target := host
	if port != 0 {
		target = net.JoinHostPort(host, strconv.Itoa(int(port)))
	}
	details := map[string]any{"host": host}
	if port != 0 {
		details["port"] = int(port)
	}
	return g.g.deny(ruleid.SecurityEgress, "security.allowed_domains", target, details, format, args...)
}

// httpClient builds an HTTP client whose every connection goes through the guard.
// Proxy is nil on purpose: a proxy from the environment would make the guard
// check the proxy instead of the destination. TLS keeps verifying the original
// host name, since only the dial is replaced.
func (g *guard) httpClient(base *tls.Config) (*http.Client, *http.Transport) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		tlsConfig = base.Clone()
	}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           g.DialContext,
		TLSClientConfig:       tlsConfig,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: t, CheckRedirect: g.checkRedirect}, t
}
