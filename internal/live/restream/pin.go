package restream

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/hlsflow/hlsflow/internal/media"
)

// pinned is how one attempt's ffmpeg reaches its destination: at an
// address Policy.Resolve has just checked, so that a name which resolves
// elsewhere by the time ffmpeg connects (DNS rebinding) cannot take it to
// an address the policy refuses.
//
// rtmp://: the address replaces the name in the URL; the app path, and
// with it the app in the tcUrl, is unchanged.
//
// rtmps://: the name must stay, as TLS's server name (SNI) and the name
// the certificate is checked against, and ffmpeg's TLS sends no SNI when
// the URL holds an address. So ffmpeg keeps the URL and reaches the
// server through a loopback HTTP CONNECT relay (the tls protocol's
// -http_proxy) that dials the checked address itself; ffmpeg resolves
// nothing. The certificate is verified (ffmpeg does not by default): the
// stream key must not go to whoever answers on the path.
type pinned struct {
	target   string   // the URL ffmpeg publishes to
	addr     string   // the checked address:port it reaches
	protocol []string // options for target's protocol
	env      []string
	relay    *connectRelay // rtmps to a name
}

// close stops the relay, if any; the attempt's ffmpeg has ended.
func (p *pinned) close() {
	if p.relay != nil {
		p.relay.Close()
	}
}

// relayErr is why the relay could not reach the destination, if it tried.
func (p *pinned) relayErr() error {
	if p.relay == nil {
		return nil
	}
	return p.relay.Err()
}

// pin resolves and checks d, and returns how attempt (1, 2…) reaches it.
// Attempts take the checked addresses in turn, as ffmpeg would try them.
func (f *Forwarder) pin(ctx context.Context, d Destination, attempt int) (*pinned, error) {
	addrs, err := f.cfg.Policy.Resolve(ctx, d)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(d.URL) // Resolve validated it
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[string]string{"rtmp": "1935", "rtmps": "443"}[u.Scheme]
	}
	a := addrs[max(attempt-1, 0)%len(addrs)].Unmap()
	p := &pinned{target: d.Target(), addr: net.JoinHostPort(a.String(), port)}

	if u.Scheme == "rtmp" {
		// The URL past its authority (Validate allows no user part).
		prefix := u.Scheme + "://" + u.Host
		if len(d.URL) < len(prefix) || !strings.EqualFold(d.URL[:len(prefix)], prefix) {
			return nil, invalid("url %q: cannot place the checked address in it", d.URL)
		}
		p.target = Destination{URL: "rtmp://" + p.addr + d.URL[len(prefix):], Key: d.Key}.Target()
		return p, nil
	}

	ca := media.CAFile()
	if ca == "" {
		return nil, errors.New("no CA bundle to verify rtmps destinations against (set " + media.CAFileEnv + ")")
	}
	p.protocol = []string{"-tls_verify", "1", "-ca_file", ca}
	if _, err := netip.ParseAddr(host); err == nil {
		return p, nil // an address: nothing to resolve again
	}
	r, err := startRelay(net.JoinHostPort(host, port), p.addr, f.cfg.StallTimeout)
	if err != nil {
		return nil, err
	}
	p.relay = r
	p.protocol = append(p.protocol, "-http_proxy", r.URL())
	// ffmpeg connects directly, resolving the name, to hosts no_proxy lists.
	p.env = []string{"no_proxy="}
	return p, nil
}
