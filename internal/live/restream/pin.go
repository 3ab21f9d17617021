package restream

import (
	"context"
	"net"
	"net/url"
	"strings"

	"github.com/hlsflow/hlsflow/internal/media"
)

// pinned is how one attempt's ffmpeg reaches its destination: at an
// address Policy.Resolve has just checked, so that a name which resolves
// elsewhere by the time ffmpeg connects (DNS rebinding) cannot take it to
// an address the policy refuses. ffmpeg resolves nothing.
//
// rtmp://: the address replaces the name in the URL; the path, so the
// app and the stream key, is unchanged.
//
// rtmps://: the name must stay, as TLS's server name (SNI) and the name
// the certificate is checked against, and ffmpeg's TLS sends no SNI when
// the URL holds an address (its -http_proxy would keep it, but stalls a
// publish in ffmpeg 5.1: the RTMP layer's non-blocking reads block
// behind a proxy). So ffmpeg publishes plain RTMP to a loopback relay
// (relay.go) that dials the checked address and does the TLS, verifying
// the certificate, which ffmpeg does not by default: the stream key must
// not go to whoever answers on the path.
//
// Either way the tcUrl ffmpeg sends is the destination's URL, as OBS
// sends it, not the address: servers that pick a virtual host by it
// still can.
type pinned struct {
	target   string   // the URL ffmpeg publishes to
	addr     string   // the checked address:port it reaches
	protocol []string // options for target's protocol
	relay    *tlsRelay
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
	port := u.Port()
	if port == "" {
		port = map[string]string{"rtmp": "1935", "rtmps": "443"}[u.Scheme]
	}
	a := addrs[max(attempt-1, 0)%len(addrs)].Unmap()
	p := &pinned{addr: net.JoinHostPort(a.String(), port),
		protocol: []string{"-rtmp_tcurl", strings.TrimSuffix(d.URL, "/")}}
	// The URL past its authority (Validate allows no user part).
	prefix := u.Scheme + "://" + u.Host
	if len(d.URL) < len(prefix) || !strings.EqualFold(d.URL[:len(prefix)], prefix) {
		return nil, invalid("url %q: cannot place the checked address in it", d.URL)
	}
	to := p.addr
	if u.Scheme == "rtmps" {
		r, err := startRelay(u.Hostname(), p.addr, media.CAFile(), f.cfg.StallTimeout)
		if err != nil {
			return nil, err
		}
		p.relay, to = r, r.Addr()
	}
	p.target = Destination{URL: "rtmp://" + to + d.URL[len(prefix):], Key: d.Key}.Target()
	return p, nil
}
