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

// The cloud metadata endpoints (AWS, GCP, Azure, OpenStack share the IPv4 one;
// AWS also serves IPv6): reachable only when listed explicitly, even where
// private networks are allowed, since they hand out credentials.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("fd00:ec2::254"),
}

var (
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")     // 0.0.0.0 dials the local host on Linux
	sharedSpace = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT, internal in practice
	nat64       = netip.MustParsePrefix("64:ff9b::/96")  // embeds an IPv4 address
	broadcast   = netip.MustParseAddr("255.255.255.255") // limited broadcast
	ipv4Reserve = netip.MustParsePrefix("240.0.0.0/4")   // reserved for future use
	benchmarks  = netip.MustParsePrefix("198.18.0.0/15") // network benchmarking, not routable
	docIPv6     = netip.MustParsePrefix("2001:db8::/32") // documentation only
	siteLocal   = netip.MustParsePrefix("fec0::/10")     // deprecated site-local, still private
	discardIPv6 = netip.MustParsePrefix("100::/64")      // discard-only
	teredo      = netip.MustParsePrefix("2001::/32")     // tunnels to an embedded IPv4 peer
	sixToFour   = netip.MustParsePrefix("2002::/16")     // tunnels to an embedded IPv4 peer
	ipv4Compat  = netip.MustParsePrefix("::/96")         // deprecated IPv4-compatible addresses
)

// addrRefusal says why a resolved address may not be dialed, or "" when it may.
// Addresses listed explicitly in the allowlist are checked by the caller first.
func addrRefusal(a netip.Addr, private PrivateNetworks) string {
	a = a.Unmap().WithZone("")
	if nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	if sixToFour.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
	}
	for _, m := range metadataAddrs {
		if a == m {
			return "the cloud metadata address, reachable only when listed explicitly"
		}
	}
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

// checkTarget is the name-level decision: an IP literal must be listed; a name
// must be a well-formed host name matched by a name entry. It does not resolve.
func (g *guard) checkTarget(host string, port uint16) (addr netip.Addr, isIP bool, err error) {
	h := strings.TrimSuffix(host, ".")
	if a, perr := netip.ParseAddr(h); perr == nil {
		if !g.allow.AllowsAddr(a, port) {
			return netip.Addr{}, true, g.deny(host, port, "IP address %s (port %d) is not listed in allowed_domains%s", a, port, g.emptyNote())
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
// IP itself, or the resolved addresses that pass the private-network policy.
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
		if g.allow.AllowsAddr(a, port) {
			ok = append(ok, netip.AddrPortFrom(a, port))
			continue
		}
		if why := addrRefusal(a, g.private); why != "" {
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
	return g.g.deny(RuleEgress, "security.allowed_domains", target, details, format, args...)
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
