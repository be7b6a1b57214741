package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Limits of DNS names (RFC 1035): a label is at most 63 octets, a name at most 253
// characters in text form without the trailing dot.
const (
	maxLabel = 63
	maxHost  = 253
)

// AnyHost in allowed_domains matches every host name (never an IP literal). It is
// valid, but not an explicit allowlist (SECURITY-304).
const AnyHost = "*"

// PatternKind says what an allowed_domains entry matches.
type PatternKind uint8

// Kinds of allowed_domains entries.
const (
	PatternHost     PatternKind = iota + 1 // api.example.com: that name only
	PatternWildcard                        // *.example.com: exactly one extra label
	PatternAnyHost                         // *: every name, no IP literal
	PatternAddr                            // 10.0.0.5, ::1: that address
	PatternPrefix                          // 10.0.0.0/8: addresses in the prefix
)

// Pattern is one parsed allowed_domains entry.
type Pattern struct {
	Kind PatternKind
	// Host is the lower-cased name without trailing dot (PatternHost), or the
	// suffix after "*." (PatternWildcard).
	Host string
	// Prefix holds the address (as a single-address prefix) or the network.
	Prefix netip.Prefix
	// Port restricts the entry to one port; 0 means any port.
	Port uint16
}

// ParsePattern parses one allowed_domains entry: a host name, a one-label
// wildcard *.example.com, the bare *, an IP address, or a CIDR; names, wildcards,
// * and addresses may carry a port (api.example.com:8443, [::1]:5432). Matching is
// case-insensitive and a trailing dot is ignored. The error says what is wrong
// (SECURITY-308).
func ParsePattern(s string) (Pattern, error) {
	if s == "" {
		return Pattern{}, errors.New("is empty")
	}
	if strings.TrimSpace(s) != s || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return Pattern{}, errors.New("contains whitespace or control characters")
	}
	if strings.Contains(s, "://") {
		return Pattern{}, errors.New("is a URL: write the host name only, without scheme or path")
	}
	if strings.ContainsAny(s, "@?#") {
		return Pattern{}, errors.New("contains userinfo, a query or a fragment: write the host name only")
	}
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return Pattern{}, errors.New("has a path, or is not a valid CIDR: write a host name, an IP or a CIDR such as 10.0.0.0/8")
		}
		if pfx.Addr().Zone() != "" {
			return Pattern{}, errors.New("CIDR with an IPv6 zone")
		}
		return Pattern{Kind: PatternPrefix, Prefix: pfx.Masked()}, nil
	}

	host, port, err := splitPatternPort(s)
	if err != nil {
		return Pattern{}, err
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if addr.Zone() != "" {
			return Pattern{}, errors.New("IPv6 address with a zone")
		}
		addr = addr.Unmap()
		return Pattern{Kind: PatternAddr, Prefix: netip.PrefixFrom(addr, addr.BitLen()), Port: port}, nil
	}
	if strings.HasPrefix(host, "[") {
		return Pattern{}, errors.New("brackets hold an invalid IPv6 address")
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	switch {
	case host == AnyHost:
		return Pattern{Kind: PatternAnyHost, Port: port}, nil
	case strings.Contains(host, "**"):
		return Pattern{}, errors.New("contains **: a wildcard matches exactly one label, write *.example.com")
	case strings.HasPrefix(host, "*."):
		suffix := host[2:]
		if strings.Contains(suffix, "*") {
			return Pattern{}, errors.New("has * outside the leading *. label")
		}
		if err := checkHostname(suffix); err != nil {
			return Pattern{}, err
		}
		if len(host) > maxHost {
			return Pattern{}, fmt.Errorf("is longer than %d characters", maxHost)
		}
		if isPublicSuffix(suffix) {
			return Pattern{}, fmt.Errorf("wildcard over the public suffix %q would match every domain under it", suffix)
		}
		return Pattern{Kind: PatternWildcard, Host: suffix, Port: port}, nil
	case strings.Contains(host, "*"):
		return Pattern{}, errors.New("has * other than as a leading *. label")
	}
	if err := checkHostname(host); err != nil {
		return Pattern{}, err
	}
	return Pattern{Kind: PatternHost, Host: host, Port: port}, nil
}

// splitPatternPort splits an optional :port off an entry. A bare IPv6 address
// (more than one colon, no brackets) has no port.
func splitPatternPort(s string) (string, uint16, error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, errors.New("has an unclosed [")
		}
		host, rest := s[1:end], s[end+1:]
		if _, err := netip.ParseAddr(host); err != nil || !strings.Contains(host, ":") {
			return "", 0, errors.New("brackets hold an invalid IPv6 address")
		}
		if rest == "" {
			return host, 0, nil
		}
		if rest[0] != ':' {
			return "", 0, errors.New("has text after ]")
		}
		p, err := parsePort(rest[1:])
		return host, p, err
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, 0, nil
	case 1:
		host, ps, _ := strings.Cut(s, ":")
		p, err := parsePort(ps)
		return host, p, err
	}
	return s, 0, nil // a bare IPv6 address, or garbage rejected by the caller
}

func parsePort(s string) (uint16, error) {
	if s == "" || len(s) > 5 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("has a bad port %q: write a number from 1 to 65535", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("has a bad port %q: write a number from 1 to 65535", s)
	}
	return uint16(n), nil
}

// checkHostname accepts a lower- or mixed-case DNS name without trailing dot:
// labels of letters, digits, hyphens and underscores, 1..63 long, not starting or
// ending with a hyphen, the whole at most 253 long. Names that a C resolver would
// read as an IPv4 address (2130706433, 0x7f.1, 017.0.0.1) and names whose last
// label is numeric are refused: an address must be written as a canonical IP.
func checkHostname(host string) error {
	if host == "" {
		return errors.New("has an empty host name")
	}
	if len(host) > maxHost {
		return fmt.Errorf("is longer than %d characters", maxHost)
	}
	if looksNumeric(host) {
		return errors.New("is an IP address in a non-canonical form (decimal, octal or hex): write the address in canonical dotted or IPv6 form")
	}
	last := ""
	for label := range strings.SplitSeq(host, ".") {
		if label == "" {
			return errors.New("has an empty label")
		}
		if len(label) > maxLabel {
			return fmt.Errorf("has a label longer than %d characters", maxLabel)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("has a label %q starting or ending with a hyphen", label)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("has a character %q not allowed in a host name", c)
			}
		}
		last = label
	}
	if strings.Trim(last, "0123456789") == "" {
		return errors.New("ends in a numeric label: write an IP address in canonical form, or a host name")
	}
	return nil
}

// looksNumeric reports whether host is 1 to 4 dot-separated parts each of which
// inet_aton would read as a number (decimal, 0-prefixed octal, 0x-prefixed hex):
// such a "name" reaches an address the allowlist never listed.
func looksNumeric(host string) bool {
	parts := 0
	for part := range strings.SplitSeq(host, ".") {
		parts++
		if parts > 4 || part == "" {
			return false
		}
		digits := part
		if len(part) > 1 && part[0] == '0' && (part[1] == 'x' || part[1] == 'X') {
			digits = part[2:]
			if strings.TrimLeft(digits, "0123456789abcdefABCDEF") != "" {
				return false
			}
			continue
		}
		if strings.TrimLeft(digits, "0123456789") != "" {
			return false
		}
	}
	return parts > 0
}

// isPublicSuffix reports whether name is a public suffix (com, co.uk, github.io,
// or an unlisted single label), under which a wildcard would match anyone's name.
func isPublicSuffix(name string) bool {
	suffix, _ := publicsuffix.PublicSuffix(name)
	return suffix == name
}

// portSet is the set of ports an entry allows; present is false for no entry.
type portSet struct {
	present bool
	any     bool
	ports   []uint16
}

func (p *portSet) add(port uint16) {
	p.present = true
	if port == 0 {
		p.any = true
		return
	}
	for _, x := range p.ports {
		if x == port {
			return
		}
	}
	p.ports = append(p.ports, port)
}

func (p portSet) allows(port uint16) bool {
	if p.any {
		return true
	}
	for _, x := range p.ports {
		if x == port {
			return true
		}
	}
	return false
}

type prefixEntry struct {
	prefix netip.Prefix
	ports  portSet
}

// Allowlist is a compiled allowed_domains list. The zero value (and an empty
// list) allows nothing. It is safe for concurrent use.
type Allowlist struct {
	exact    map[string]portSet
	wildcard map[string]portSet
	anyHost  portSet
	addrs    map[netip.Addr]portSet
	prefixes []prefixEntry
	patterns []string
}

// PatternError is a malformed allowed_domains entry.
type PatternError struct {
	Index   int
	Pattern string
	Err     error
}

// Error renders the entry, its index and what is wrong with it.
func (e *PatternError) Error() string {
	return fmt.Sprintf("allowed_domains[%d] %q %v", e.Index, e.Pattern, e.Err)
}

// Unwrap returns the reason.
func (e *PatternError) Unwrap() error { return e.Err }

// CompileAllowlist parses every entry; malformed entries are returned as
// *PatternError values (all of them) and left out of the list.
func CompileAllowlist(patterns []string) (*Allowlist, []*PatternError) {
	a := &Allowlist{
		exact:    map[string]portSet{},
		wildcard: map[string]portSet{},
		addrs:    map[netip.Addr]portSet{},
		patterns: append([]string(nil), patterns...),
	}
	var errs []*PatternError
	for i, s := range patterns {
		p, err := ParsePattern(s)
		if err != nil {
			errs = append(errs, &PatternError{Index: i, Pattern: s, Err: err})
			continue
		}
		a.add(p)
	}
	return a, errs
}

func (a *Allowlist) add(p Pattern) {
	switch p.Kind {
	case PatternHost:
		ps := a.exact[p.Host]
		ps.add(p.Port)
		a.exact[p.Host] = ps
	case PatternWildcard:
		ps := a.wildcard[p.Host]
		ps.add(p.Port)
		a.wildcard[p.Host] = ps
	case PatternAnyHost:
		a.anyHost.add(p.Port)
	case PatternAddr:
		ps := a.addrs[p.Prefix.Addr()]
		ps.add(p.Port)
		a.addrs[p.Prefix.Addr()] = ps
	case PatternPrefix:
		var ps portSet
		ps.add(0)
		a.prefixes = append(a.prefixes, prefixEntry{prefix: p.Prefix, ports: ps})
	}
}

// Patterns returns the entries the list was compiled from.
func (a *Allowlist) Patterns() []string { return append([]string(nil), a.patterns...) }

// Empty reports whether the list allows nothing at all.
func (a *Allowlist) Empty() bool {
	return a == nil || len(a.exact) == 0 && len(a.wildcard) == 0 && !a.anyHost.present &&
		len(a.addrs) == 0 && len(a.prefixes) == 0
}

// AllowsName reports whether the host name (any case, optional trailing dot) on
// port is allowed by a name entry: an exact name, a wildcard with exactly one
// extra label, or *. It is the hot-path decision: it does not allocate. It does
// not validate host; the dialer does that first.
func (a *Allowlist) AllowsName(host string, port uint16) bool {
	if a == nil {
		return false
	}
	host = strings.TrimSuffix(host, ".")
	if len(host) == 0 || len(host) > maxHost {
		return false
	}
	var buf [maxHost]byte
	key := buf[:len(host)]
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		key[i] = c
	}
	if ps, ok := a.exact[string(key)]; ok && ps.allows(port) {
		return true
	}
	for i, c := range key {
		if c == '.' {
			if i > 0 {
				if ps, ok := a.wildcard[string(key[i+1:])]; ok && ps.allows(port) {
					return true
				}
			}
			break
		}
	}
	return a.anyHost.allows(port)
}

// AllowsAddr reports whether addr on port is listed explicitly, as an address or
// inside a CIDR. IPv4-mapped IPv6 addresses match their IPv4 form. It is the
// allowlist's answer alone: the guard also refuses cloud metadata endpoints and
// embedded IPv4 addresses that only ListsAddr lifts.
func (a *Allowlist) AllowsAddr(addr netip.Addr, port uint16) bool {
	return a.ListsAddr(addr, port) || a.InPrefix(addr, port)
}

// ListsAddr reports whether addr on port is listed as that exact IP address (not
// through a CIDR). IPv4-mapped IPv6 addresses match their IPv4 form.
func (a *Allowlist) ListsAddr(addr netip.Addr, port uint16) bool {
	if a == nil {
		return false
	}
	ps, ok := a.addrs[addr.Unmap().WithZone("")]
	return ok && ps.allows(port)
}

// InPrefix reports whether addr on port lies inside a CIDR of the list.
// IPv4-mapped IPv6 addresses match their IPv4 form.
func (a *Allowlist) InPrefix(addr netip.Addr, port uint16) bool {
	if a == nil {
		return false
	}
	addr = addr.Unmap().WithZone("")
	for _, p := range a.prefixes {
		if p.prefix.Contains(addr) && p.ports.allows(port) {
			return true
		}
	}
	return false
}
