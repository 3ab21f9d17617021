package cli

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/hlsflow/hlsflow/functions/api"
	"github.com/hlsflow/hlsflow/internal/hostguard"
)

// A listener on every interface (--lan, or 0.0.0.0 / [::] in --edge, --s3
// or --rtmp) lets a phone or another computer on the same network use the
// local cloud. The URLs the API hands out (playback, presigned uploads,
// RTMP publish) then name this machine as that client reached it, since
// "0.0.0.0" means nothing to the client.

// onEveryInterface reports whether addr listens on every interface.
func onEveryInterface(addr string) bool {
	host, _, err := net.SplitHostPort(hostPort(addr))
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "" || (ip != nil && ip.IsUnspecified())
}

// everyInterface is addr listening on every interface, same port.
func everyInterface(addr string) string {
	_, port, err := net.SplitHostPort(hostPort(addr))
	if err != nil {
		return addr // the listener reports the bad address
	}
	return net.JoinHostPort("0.0.0.0", port)
}

// addressesByHost gives the API's addresses for a client that reached the
// edge as host: a listener on every interface is named by the client's
// name for this machine, one on a single address keeps it.
func addressesByHost(c *Common) func(host string) api.Addresses {
	return func(host string) api.Addresses {
		name := host
		if h, _, err := net.SplitHostPort(host); err == nil {
			name = h
		}
		at := func(addr string) string {
			hp := hostPort(addr)
			if !onEveryInterface(hp) {
				return hp
			}
			_, port, _ := net.SplitHostPort(hp)
			return net.JoinHostPort(name, port)
		}
		return api.Addresses{
			PublicURL: "http://" + at(c.Edge),
			S3:        "http://" + at(c.S3),
			RTMPURL:   "rtmp://" + at(c.RTMP) + "/live",
		}
	}
}

// printLAN lists the web page's URL at each of this machine's network
// addresses, and what listening there exposes.
func printLAN(w io.Writer, c *Common) {
	if !onEveryInterface(c.Edge) {
		return
	}
	_, port, _ := net.SplitHostPort(hostPort(c.Edge))
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() || ipn.IP.To4() == nil {
			continue
		}
		fmt.Fprintf(w, "  on the network   http://%s/\n", net.JoinHostPort(ipn.IP.String(), port))
	}
	if onEveryInterface(c.S3) {
		fmt.Fprintln(w, "  note             S3 is open to the network with the credentials above: use a trusted network")
	}
}

// isLoopback reports whether addr (host:port or URL) names this machine
// only: localhost or a loopback address.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(hostPort(addr))
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return strings.EqualFold(host, "localhost") || (ip != nil && ip.IsLoopback())
}

// exposed reports whether another machine may reach one of the listeners.
func exposed(c *Common) bool {
	return !isLoopback(c.Edge) || !isLoopback(c.S3) || !isLoopback(c.RTMP) || !isLoopback(c.SRT) || !isLoopback(c.UDP)
}

// hostGuard accepts the Host names of this server: loopback ones, the
// listeners' own hosts, the operator's --allow-host names and, when the
// edge or S3 listens on every interface, this machine's addresses and
// name.
func hostGuard(c *Common, allow []string) *hostguard.Guard {
	return hostguard.New(hostguard.Config{
		Hosts:      append([]string{c.Edge, c.S3}, allow...),
		Interfaces: onEveryInterface(c.Edge) || onEveryInterface(c.S3),
	})
}

// edgeOrigins are the origins the page may be loaded from, which the
// uploads bucket's CORS rule lets PUT: the edge's port on each name the
// Host guard accepts for it.
func edgeOrigins(c *Common, allow []string) []string {
	edgeHost, port, err := net.SplitHostPort(hostPort(c.Edge))
	if err != nil {
		return nil
	}
	names := []string{"127.0.0.1", "localhost", "::1"}
	if ip := net.ParseIP(edgeHost); edgeHost != "" && (ip == nil || !ip.IsUnspecified()) {
		names = append(names, edgeHost)
	}
	names = append(names, allow...)
	if onEveryInterface(c.Edge) {
		if name, err := os.Hostname(); err == nil && name != "" {
			short, _, _ := strings.Cut(name, ".")
			names = append(names, name, short+".local")
		}
		addrs, _ := net.InterfaceAddrs()
		for _, a := range addrs {
			// Browsers take no zone in a URL: link-local IPv6 is useless.
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && !(ipn.IP.To4() == nil && ipn.IP.IsLinkLocalUnicast()) {
				names = append(names, ipn.IP.String())
			}
		}
	}
	var origins []string
	for _, n := range names {
		o := "http://" + net.JoinHostPort(strings.ToLower(n), port)
		if port == "80" {
			o = "http://" + strings.ToLower(n)
			if strings.Contains(n, ":") {
				o = "http://[" + strings.ToLower(n) + "]"
			}
		}
		if !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	return origins
}

// localAddr is addr as this machine's own clients dial it: a listener on
// every interface is reached on loopback.
func localAddr(addr string) string {
	hp := hostPort(addr)
	if !onEveryInterface(hp) {
		return hp
	}
	host, port, _ := net.SplitHostPort(hp)
	if strings.Contains(host, ":") {
		return net.JoinHostPort("::1", port)
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// pageOrigins gives, for a request for the page, the other origins it
// uses: the edge's public URL and the S3 endpoint of presigned uploads, as
// the API names them for that request.
func pageOrigins(c *Common, byHost func(string) api.Addresses) func(*http.Request) []string {
	return func(r *http.Request) []string {
		if byHost != nil {
			a := byHost(r.Host)
			return []string{a.PublicURL, a.S3}
		}
		return []string{httpURL(c.Edge), httpURL(c.S3)}
	}
}

// listenOnLAN moves the listeners of c to every interface (hlsflow up
// --lan). UDP moves only when the operator named the sources that may
// publish: over UDP the first sender with a real feed claims the stream,
// and source addresses are easy to forge.
func listenOnLAN(c *Common, udpSourcesNamed bool) {
	c.Edge, c.S3, c.RTMP, c.SRT = everyInterface(c.Edge), everyInterface(c.S3), everyInterface(c.RTMP), everyInterface(c.SRT)
	if udpSourcesNamed {
		c.UDP = everyInterface(c.UDP)
	}
}
