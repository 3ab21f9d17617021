package system

import (
	"net"
	"net/http"
	"strings"

	"github.com/hlsflow/hlsflow/internal/api"
	"github.com/hlsflow/hlsflow/internal/hostguard"
)

// A listener on every interface (0.0.0.0 or [::]) lets a phone or another
// computer on the same network use the system. The URLs the API hands out
// (playback, presigned uploads, RTMP publish) then name this machine as
// that client reached it, since "0.0.0.0" means nothing to the client.

// OnEveryInterface reports whether addr (host:port) listens on every
// interface.
func OnEveryInterface(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "" || (ip != nil && ip.IsUnspecified())
}

// addressesByHost gives the API's addresses for a client that reached the
// edge as host: a listener on every interface is named by the client's
// name for this machine, one on a single address keeps it.
func addressesByHost(c *Config) func(host string) api.Addresses {
	return func(host string) api.Addresses {
		name := host
		if h, _, err := net.SplitHostPort(host); err == nil {
			name = h
		}
		at := func(addr string) string {
			if !OnEveryInterface(addr) {
				return addr
			}
			_, port, _ := net.SplitHostPort(addr)
			return net.JoinHostPort(name, port)
		}
		a := api.Addresses{
			PublicURL: "http://" + at(c.EdgeAddr),
			S3:        "http://" + at(c.S3Addr),
			RTMPURL:   "rtmp://" + at(c.RTMPAddr) + "/live",
		}
		if c.SRTAddr != "" {
			a.SRTURL = "srt://" + at(c.SRTAddr)
		}
		if c.WHIPAddr != "" {
			a.WHIPURL = a.PublicURL + "/whip"
		}
		return a
	}
}

// hostGuard accepts the Host names of this server: loopback ones, the
// listeners' own hosts, the operator's extra names and, when the edge or
// S3 listens on every interface, this machine's addresses and name.
func hostGuard(c *Config) *hostguard.Guard {
	return hostguard.New(hostguard.Config{
		Hosts:      append([]string{c.EdgeAddr, c.S3Addr}, c.AllowHosts...),
		Interfaces: OnEveryInterface(c.EdgeAddr) || OnEveryInterface(c.S3Addr),
	})
}

// edgeOrigins are the origins the page may be loaded from, which the
// uploads bucket's CORS rule lets PUT: the edge's port on each name the
// Host guard accepts.
func edgeOrigins(c *Config, g *hostguard.Guard) []string {
	_, port, err := net.SplitHostPort(c.EdgeAddr)
	if err != nil {
		return nil
	}
	var origins []string
	for _, n := range g.Names() {
		host := net.JoinHostPort(n, port)
		if port == "80" {
			host = strings.TrimSuffix(net.JoinHostPort(n, port), ":80")
		}
		origins = append(origins, "http://"+host)
	}
	return origins
}

// localAddr is addr as this machine's own clients dial it: a listener on
// every interface is reached on loopback.
func localAddr(addr string) string {
	if !OnEveryInterface(addr) {
		return addr
	}
	host, port, _ := net.SplitHostPort(addr)
	if strings.Contains(host, ":") {
		return net.JoinHostPort("::1", port)
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// pageOrigins gives, for a request for the page, the other origins it
// uses: the edge's public URL and the S3 endpoint of presigned uploads, as
// the API names them for that request.
func pageOrigins(c *Config, byHost func(string) api.Addresses) func(*http.Request) []string {
	return func(r *http.Request) []string {
		if byHost != nil {
			a := byHost(r.Host)
			return []string{a.PublicURL, a.S3}
		}
		return []string{"http://" + c.EdgeAddr, "http://" + c.S3Addr}
	}
}
