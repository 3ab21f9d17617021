// Package netpolicy says which addresses something a stranger names (an
// upload's source URL, a webhook endpoint, a restream destination) may
// make hlsflow connect to: public ones, and the ranges an operator allows.
// One list, so every feature refuses the same addresses.
package netpolicy

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// special are ranges that IsGlobalUnicast lets through but no public
// server lives in (IANA special-purpose registries, RFC 6890), or that
// embed an IPv4 address a gateway would reach for us (NAT64, 6to4,
// Teredo, IPv4-compatible).
var special = prefixes(
	"0.0.0.0/8",       // "this network"
	"100.64.0.0/10",   // shared address space, carrier-grade NAT (RFC 6598)
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // TEST-NET-1
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // TEST-NET-2
	"203.0.113.0/24",  // TEST-NET-3
	"240.0.0.0/4",     // reserved, 255.255.255.255 (broadcast) included
	"::/96",           // IPv4-compatible (deprecated): ::127.0.0.1
	"64:ff9b::/96",    // NAT64
	"64:ff9b:1::/48",  // local-use NAT64
	"100::/64",        // discard-only
	"2001::/32",       // Teredo
	"2001:db8::/32",   // documentation
	"2002::/16",       // 6to4
	"fec0::/10",       // site-local (deprecated)
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// Public reports whether a is an address on the public internet: global
// unicast, not private (RFC 1918, fc00::/7), not in a special-purpose
// range. An IPv4-mapped IPv6 address is judged as its IPv4 address.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.Zone() != "" || !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, p := range special {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// Why says, for people, what kind of address a is.
func Why(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate():
		return "a private address"
	case a.IsLinkLocalUnicast():
		return "a link-local address (the cloud metadata endpoint among them)"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return "a multicast address"
	case a.IsUnspecified():
		return "the unspecified address"
	}
	return "a special-purpose address"
}

// ParseAllow reads CIDR prefixes or single addresses, each entry of list
// possibly separated by commas or spaces (`--fetch-allow 127.0.0.0/8`,
// repeatable; RESTREAM_ALLOW_NETS="127.0.0.1/32,10.0.0.0/8").
func ParseAllow(list ...string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
			if a, err := netip.ParseAddr(f); err == nil {
				a = a.Unmap()
				out = append(out, netip.PrefixFrom(a, a.BitLen()))
				continue
			}
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("%q is no address or CIDR prefix", f)
			}
			if p.Addr().Is4In6() {
				p = netip.PrefixFrom(p.Addr().Unmap(), max(0, p.Bits()-96))
			}
			out = append(out, p.Masked())
		}
	}
	return out, nil
}

// Allowed reports whether a is public or in allow.
func Allowed(a netip.Addr, allow []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range allow {
		if p.Contains(a) {
			return true
		}
	}
	return Public(a)
}

// Lookup resolves a host name to its addresses (nil: the system resolver).
type Lookup func(ctx context.Context, host string) ([]netip.Addr, error)

// Resolve gives host's addresses (host itself when it is one), each of
// which must be public or in allow; the error says which one is not.
// The caller connects to these very addresses, so a name that resolves
// elsewhere a moment later (DNS rebinding) gains nothing.
func Resolve(ctx context.Context, host string, lookup Lookup, allow []netip.Prefix) ([]netip.Addr, error) {
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		if lookup == nil {
			lookup = func(ctx context.Context, h string) ([]netip.Addr, error) {
				return net.DefaultResolver.LookupNetIP(ctx, "ip", h)
			}
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if addrs, err = lookup(ctx, host); err != nil {
			return nil, fmt.Errorf("%s does not resolve", host)
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("%s has no address", host)
		}
	}
	for _, a := range addrs {
		switch {
		case Allowed(a, allow):
		case a.String() == host:
			return nil, fmt.Errorf("%s is %s: non-public", host, Why(a))
		default:
			return nil, fmt.Errorf("%s resolves to %s, %s: non-public", host, a, Why(a))
		}
	}
	return addrs, nil
}
