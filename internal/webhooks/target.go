package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/hlsflow/hlsflow/internal/netpolicy"
)

// ErrTarget is an endpoint URL that is refused.
var ErrTarget = errors.New("webhook endpoint refused")

// maxURL bounds an endpoint URL.
const maxURL = 2048

// Targets says which endpoint addresses may be reached: public unicast
// ones, and those in Allow (development, tests). It is checked when an
// endpoint is registered and again on every connection, on the address
// actually dialled, so a name that resolves elsewhere later (DNS
// rebinding) gets nowhere.
type Targets struct {
	Allow []netip.Prefix
	// Lookup resolves host names; nil is the system resolver.
	Lookup netpolicy.Lookup
}

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrTarget, fmt.Sprintf(format, args...))
}

// CheckURL validates raw as an endpoint URL and resolves its host: every
// address must be allowed.
func (p Targets) CheckURL(ctx context.Context, raw string) error {
	if len(raw) > maxURL {
		return refused("URL longer than %d bytes", maxURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return refused("not a URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return refused("only http and https URLs")
	case u.Hostname() == "":
		return refused("the URL has no host")
	case u.User != nil:
		return refused("the URL may not carry credentials")
	case u.Fragment != "" || strings.ContainsAny(raw, " \t\r\n"):
		return refused("the URL has a fragment or white space")
	}
	if _, err := netpolicy.Resolve(ctx, u.Hostname(), p.Lookup, p.Allow); err != nil {
		return refused("%v", err)
	}
	return nil
}

// Allowed says whether a may be connected to: public unicast (no
// loopback, private, link-local, shared or unspecified address, in IPv4,
// IPv6 or mapped form), or in Allow.
func (p Targets) Allowed(a netip.Addr) bool { return netpolicy.Allowed(a, p.Allow) }

// Client is the HTTP client deliveries use: every connection checked
// against p at the dialled address, no redirects followed (a redirect is
// a failed attempt: it could point anywhere), no proxy, and timeout for
// the whole exchange.
func (p Targets) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !p.Allowed(ap.Addr()) {
			return refused("connection to %s", address)
		}
		return nil
	}}
	tr := &http.Transport{
		DialContext:            d.DialContext,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 16 << 10,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        30 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
