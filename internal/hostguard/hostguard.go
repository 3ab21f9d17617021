// Package hostguard refuses HTTP requests whose Host header does not name
// the server they reached. A web page on another site can make a browser
// send requests to 127.0.0.1 or a LAN address by pointing its own domain
// name there (DNS rebinding); the browser then treats the answers as the
// attacker's own origin and lets its script read them. Those requests
// carry the attacker's name in Host, so refusing unknown names stops the
// attack, as CloudFront and S3 answer only for their own domains.
//
// Loopback names (localhost, *.localhost) and loopback addresses are
// always accepted; so are the names and addresses a Guard is given, and,
// when asked, this machine's interface addresses and host name.
package hostguard

import (
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Config says which hosts a Guard accepts besides loopback ones.
type Config struct {
	// Hosts are names or addresses, with or without a port (listen
	// addresses, names the operator chose). Ports are ignored: the name
	// is what a rebinding attack cannot forge.
	Hosts []string
	// Interfaces also accepts this machine's interface addresses (read
	// again, at most every few seconds, when an unknown address comes, so
	// a new DHCP lease works) and its host name, bare and with .local
	// (mDNS), for listeners on every interface.
	Interfaces bool
}

// refreshEvery bounds how often an unknown address makes the Guard read
// the interface addresses again.
const refreshEvery = 5 * time.Second

// Guard decides whether a Host header names this server. It is safe for
// concurrent use.
type Guard struct {
	names      map[string]bool
	addrs      map[netip.Addr]bool
	interfaces bool

	mu        sync.Mutex
	ifAddrs   map[netip.Addr]bool
	refreshed time.Time
}

// New returns a Guard for cfg.
func New(cfg Config) *Guard {
	g := &Guard{names: map[string]bool{}, addrs: map[netip.Addr]bool{}, interfaces: cfg.Interfaces}
	for _, h := range cfg.Hosts {
		g.add(h)
	}
	if cfg.Interfaces {
		if name, err := os.Hostname(); err == nil && name != "" {
			g.add(name)
			if short, _, _ := strings.Cut(name, "."); short != "" {
				g.add(short + ".local")
			}
		}
		g.ifAddrs = interfaceAddrs()
		g.refreshed = time.Now()
	}
	return g
}

func (g *Guard) add(host string) {
	if _, rest, ok := strings.Cut(host, "://"); ok {
		host, _, _ = strings.Cut(rest, "/") // a URL: its host
	}
	h := hostOnly(host)
	if a, err := netip.ParseAddr(h); err == nil {
		g.addrs[canonical(a)] = true
		return
	}
	if h != "" {
		g.names[h] = true
	}
}

// Allows reports whether host (a Host header: name or address, optional
// port) names this server.
func (g *Guard) Allows(host string) bool {
	h := hostOnly(host)
	if h == "" {
		return false
	}
	if a, err := netip.ParseAddr(h); err == nil {
		a = canonical(a)
		return a.IsLoopback() || g.addrs[a] || g.onInterface(a)
	}
	return h == "localhost" || strings.HasSuffix(h, ".localhost") || g.names[h]
}

func (g *Guard) onInterface(a netip.Addr) bool {
	if !g.interfaces {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ifAddrs[a] {
		return true
	}
	if time.Since(g.refreshed) < refreshEvery {
		return false
	}
	g.ifAddrs, g.refreshed = interfaceAddrs(), time.Now()
	return g.ifAddrs[a]
}

// Names are the names and addresses a browser may use for this server,
// for the origins a CORS rule allows: localhost and the loopback
// addresses, the configured ones and, with Interfaces, this machine's
// (not link-local IPv6: a URL carries no zone), unspecified ones left out.
func (g *Guard) Names() []string {
	names := []string{"localhost", "127.0.0.1", "::1"}
	for n := range g.names {
		names = append(names, n)
	}
	addrs := maps.Clone(g.addrs)
	if g.interfaces {
		g.mu.Lock()
		maps.Copy(addrs, g.ifAddrs)
		g.mu.Unlock()
	}
	for a := range addrs {
		if !a.IsUnspecified() && !a.IsLoopback() && !(a.Is6() && a.IsLinkLocalUnicast()) {
			names = append(names, a.String())
		}
	}
	slices.Sort(names[3:])
	return slices.Compact(names)
}

// Handler answers requests for other hosts with 421 Misdirected Request
// and hands the rest to next.
func (g *Guard) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.Allows(r.Host) {
			Refuse(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Refuse answers 421 Misdirected Request with a short body that says
// nothing about the server.
func Refuse(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Connection", "close") // its body, if any, is not read
	w.WriteHeader(http.StatusMisdirectedRequest)
	w.Write([]byte("misdirected request\n"))
}

// hostOnly is host without its port or brackets, lowercased, without a
// trailing dot.
func hostOnly(host string) string {
	host = strings.TrimSpace(host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	} else if strings.Contains(host, "://") {
		return "" // a URL is not a Host header
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// canonical drops an IPv6 zone and unmaps IPv4-in-IPv6, so one address
// has one key.
func canonical(a netip.Addr) netip.Addr { return a.WithZone("").Unmap() }

func interfaceAddrs() map[netip.Addr]bool {
	m := map[netip.Addr]bool{}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return m
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ad, ok := netip.AddrFromSlice(ipn.IP); ok {
				m[canonical(ad)] = true
			}
		}
	}
	return m
}
