package cli

import (
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/hlsflow/hlsflow/internal/system"
)

// A listener on every interface (--lan, or 0.0.0.0 / [::] in --edge, --s3
// or --rtmp) lets a phone or another computer on the same network use the
// local system (internal/system names this machine in the URLs it hands
// out as each client reached it).

// everyInterface is addr listening on every interface, same port.
func everyInterface(addr string) string {
	_, port, err := net.SplitHostPort(hostPort(addr))
	if err != nil {
		return addr // the listener reports the bad address
	}
	return net.JoinHostPort("0.0.0.0", port)
}

// printLAN lists the web page's URL at each of this machine's network
// addresses, and what listening there exposes.
func printLAN(w io.Writer, c *Common) {
	if !system.OnEveryInterface(hostPort(c.Edge)) {
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
	if system.OnEveryInterface(hostPort(c.S3)) {
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

// onNetwork reports whether a listener whose address the API hands out
// (edge, S3, RTMP, SRT) is on every interface.
func onNetwork(c *Common) bool {
	for _, a := range []string{c.Edge, c.S3, c.RTMP, c.SRT} {
		if a != "" && system.OnEveryInterface(hostPort(a)) {
			return true
		}
	}
	return false
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
