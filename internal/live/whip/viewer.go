package whip

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// Behind CloudFront every offer comes from one of CloudFront's servers,
// so the per-address cap would count those, not publishers. CloudFront
// names the viewer in ViewerAddressHeader; the header is believed only
// when the request also carries FrontSecretHeader with Server.FrontSecret,
// which CloudFront adds as an origin custom header and nobody else knows:
// anyone may send a forged ViewerAddressHeader.
const (
	ViewerAddressHeader = "CloudFront-Viewer-Address"
	FrontSecretHeader   = "X-Hlsflow-Front-Secret"
	// MinFrontSecret is the shortest FrontSecret Start accepts.
	MinFrontSecret = 16
)

var errViewerAddress = errors.New("the front's " + ViewerAddressHeader + " is not an address and port")

// clientAddr is the address the limits count r by: the viewer CloudFront
// names when r proves it comes through CloudFront, else the TCP peer. A
// front-proven request with a malformed address is refused (an error),
// never counted as the front's own address, which every publisher behind
// it would share.
func (s *Server) clientAddr(r *http.Request) (netip.Addr, error) {
	peer := remoteAddr(r)
	if s.FrontSecret == "" || !fromFront(r, s.FrontSecret) {
		return peer, nil
	}
	vals := r.Header.Values(ViewerAddressHeader)
	if len(vals) != 1 {
		return netip.Addr{}, errViewerAddress
	}
	a, ok := parseViewerAddress(vals[0])
	if !ok {
		return netip.Addr{}, errViewerAddress
	}
	return a, nil
}

// fromFront reports whether r carries the front's secret, compared in
// constant time so that its bytes cannot be guessed one at a time.
func fromFront(r *http.Request, secret string) bool {
	vals := r.Header.Values(FrontSecretHeader)
	return len(vals) == 1 && subtle.ConstantTimeCompare([]byte(vals[0]), []byte(secret)) == 1
}

// parseViewerAddress reads CloudFront's "198.51.100.10:46532" or
// "2001:db8::1:46532" (an IPv6 address without brackets, the port after
// its last colon).
func parseViewerAddress(v string) (netip.Addr, bool) {
	if len(v) > 64 {
		return netip.Addr{}, false
	}
	i := strings.LastIndexByte(v, ':')
	if i <= 0 {
		return netip.Addr{}, false
	}
	if p, err := strconv.ParseUint(v[i+1:], 10, 16); err != nil || p == 0 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(v[:i], "["), "]"))
	if err != nil || a.Zone() != "" || !a.IsValid() || a.IsUnspecified() {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
