package cli

import (
	"fmt"
	"io"
	"net"

	"github.com/hlsflow/hlsflow/functions/api"
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
