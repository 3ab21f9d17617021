package safefetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hlsflow/hlsflow/internal/netpolicy"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxRedirects  = 5
	DefaultDialTimeout   = 10 * time.Second
	DefaultHeaderTimeout = 30 * time.Second
	DefaultStallTimeout  = 30 * time.Second
	DefaultTimeout       = 10 * time.Minute
	maxHeaderBytes       = 64 << 10
	maxURL               = 2048
)

// Errors a fetch fails with, besides ErrRefused.
var (
	ErrTooLarge = errors.New("source is too large")
	ErrStalled  = errors.New("source stopped sending")
	ErrTimeout  = errors.New("source took too long")
	ErrStatus   = errors.New("source answered with an error")
)

// Config says what a Fetcher may reach and how long and how much it reads.
type Config struct {
	// Allow lets these non-public ranges be fetched (development, tests).
	Allow []netip.Prefix
	// MaxBytes bounds the body; required.
	MaxBytes     int64
	MaxRedirects int
	// DialTimeout bounds each connection attempt, HeaderTimeout the wait
	// for the response's headers, StallTimeout any wait for more of the
	// body, Timeout the whole fetch.
	DialTimeout, HeaderTimeout, StallTimeout, Timeout time.Duration
	// Lookup resolves a host name; nil is net.DefaultResolver's.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// Dial connects to an address already checked ("1.2.3.4:80"); nil is
	// a net.Dialer's. Tests watch it to prove nothing else is dialled.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Fetcher fetches URLs under its Config. Build it with New; it is safe
// for concurrent use.
type Fetcher struct {
	cfg    Config
	client *http.Client
}

// New returns a Fetcher for cfg with defaults for its zero values.
func New(cfg Config) (*Fetcher, error) {
	if cfg.MaxBytes <= 0 {
		return nil, errors.New("safefetch: MaxBytes is required")
	}
	if cfg.MaxRedirects <= 0 {
		cfg.MaxRedirects = DefaultMaxRedirects
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.DialTimeout, DefaultDialTimeout)
	def(&cfg.HeaderTimeout, DefaultHeaderTimeout)
	def(&cfg.StallTimeout, DefaultStallTimeout)
	def(&cfg.Timeout, DefaultTimeout)
	if cfg.Lookup == nil {
		cfg.Lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	f := &Fetcher{cfg: cfg}
	if f.cfg.Dial == nil {
		// Control checks the address the socket is about to connect to,
		// once more, whatever led there.
		d := &net.Dialer{Timeout: cfg.DialTimeout, Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !f.allowed(ap.Addr()) {
				return refused("it leads to a non-public address")
			}
			return nil
		}}
		f.cfg.Dial = d.DialContext
	}
	tr := &http.Transport{
		Proxy:                  nil, // never an environment's proxy: it would do the connecting
		DialContext:            f.dial,
		TLSHandshakeTimeout:    cfg.DialTimeout,
		ResponseHeaderTimeout:  cfg.HeaderTimeout,
		MaxResponseHeaderBytes: maxHeaderBytes,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           4,
		IdleConnTimeout:        30 * time.Second,
	}
	f.client = &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > cfg.MaxRedirects {
			return refused("it redirects more than %d times", cfg.MaxRedirects)
		}
		return f.checkURL(req.URL)
	}}
	return f, nil
}

// Response is a fetch under way. Body yields at most Config.MaxBytes and
// fails with ErrTooLarge beyond, ErrStalled or ErrTimeout; Close it.
type Response struct {
	Body io.ReadCloser
	// Length is the declared Content-Length, -1 when unknown.
	Length      int64
	ContentType string
}

// Open checks rawURL, connects and returns the response once its headers
// are in. A URL that may not be fetched fails with ErrRefused before any
// connection is made; an address reached through a name or a redirect is
// checked before it is dialled.
func (f *Fetcher) Open(ctx context.Context, rawURL string) (*Response, error) {
	u, err := Check(rawURL)
	if err != nil {
		return nil, err
	}
	if err := f.checkURL(u); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	deadline := time.AfterFunc(f.cfg.Timeout, func() {
		cancel(fmt.Errorf("%w: not fetched within %s", ErrTimeout, f.cfg.Timeout))
	})
	stop := func() { deadline.Stop(); cancel(nil) }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		stop()
		return nil, refused("it is not a valid URL")
	}
	req.Header.Set("User-Agent", "hlsflow-fetch/1")
	resp, err := f.client.Do(req)
	if err != nil {
		err = plain(ctx, err)
		stop()
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body.Close()
		stop()
		return nil, fmt.Errorf("%w: %s", ErrStatus, resp.Status)
	}
	if resp.ContentLength > f.cfg.MaxBytes {
		resp.Body.Close()
		stop()
		return nil, fmt.Errorf("%w: it is %d bytes, the limit is %d", ErrTooLarge, resp.ContentLength, f.cfg.MaxBytes)
	}
	// Headers are bounded by the transport; the body by this timer, fed
	// by every read that brings bytes.
	stall := time.AfterFunc(f.cfg.StallTimeout, func() {
		cancel(fmt.Errorf("%w: nothing received for %s", ErrStalled, f.cfg.StallTimeout))
	})
	stopAll := func() { stall.Stop(); stop() }
	return &Response{Length: resp.ContentLength, ContentType: resp.Header.Get("Content-Type"),
		Body: &body{ctx: ctx, r: resp.Body, left: f.cfg.MaxBytes, limit: f.cfg.MaxBytes, stall: stall, every: f.cfg.StallTimeout, stop: stopAll}}, nil
}

// plain unwraps what net/http adds around an error: *url.Error repeats
// the URL, which may hold a secret (a presigned query string) and must not
// reach a public status. A cancelled context gives its cause.
func plain(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil && ctx.Err() != nil {
		return c
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var r *refusal
	if errors.As(err, &r) {
		return r // without the dial's "dial tcp …" around it
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: no answer in time", ErrTimeout)
	}
	return fmt.Errorf("source could not be fetched: %v", err)
}

// body counts and bounds what is read and keeps the stall timer fed.
type body struct {
	ctx         context.Context
	r           io.ReadCloser
	left, limit int64
	stall       *time.Timer
	every       time.Duration
	stop        func()
}

func (b *body) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells "exactly the limit" from "beyond it".
		var one [1]byte
		if n, _ := io.ReadFull(b.r, one[:]); n > 0 {
			return 0, fmt.Errorf("%w: more than the %d bytes allowed", ErrTooLarge, b.limit)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if n > 0 {
		b.stall.Reset(b.every)
	}
	if err != nil && err != io.EOF {
		err = plain(b.ctx, err)
	}
	return n, err
}

func (b *body) Close() error {
	err := b.r.Close()
	b.stop()
	return err
}

// Check parses rawURL and refuses what may never be fetched, whatever it
// resolves to: another scheme than http and https, user info, a host that
// is an IP address in a form other than the canonical one (decimal
// 2130706433, octal 0177.0.0.1, hex 0x7f.1 — resolvers disagree on them),
// an IPv6 zone, a host that is not ASCII.
func Check(rawURL string) (*url.URL, error) {
	if len(rawURL) > maxURL {
		return nil, refused("it is longer than %d characters", maxURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, refused("it is not a valid URL")
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		if u.Scheme == "" {
			return nil, refused("it has no scheme (http:// or https://)")
		}
		return nil, refused("only http and https URLs may be fetched, not %s", strconv.Quote(u.Scheme))
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, refused("it has no host")
	}
	if u.User != nil {
		return nil, refused("it may not carry a user name or password")
	}
	host := u.Hostname()
	if strings.Contains(u.Host, "[") {
		a, err := netip.ParseAddr(host)
		if err != nil || a.Zone() != "" {
			return nil, refused("its host is not a valid IPv6 address")
		}
	} else if numericHost(host) {
		if a, err := netip.ParseAddr(host); err != nil || !a.Is4() {
			return nil, refused("its host is an IP address in a non-standard form (write it as four decimal numbers)")
		}
	} else if !validName(host) {
		return nil, refused("its host is not a valid DNS name (use the ASCII form)")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, refused("its port is not valid")
		}
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// numericHost reports whether host is meant as an IPv4 address: its last
// label is a number, decimal or hex (the WHATWG URL rule).
func numericHost(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if l := strings.ToLower(last); strings.HasPrefix(l, "0x") {
		return true
	}
	for _, c := range last {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func validName(host string) bool {
	if host == "" || len(host) > 253 {
		return false
	}
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// checkURL refuses an IP literal that is not allowed before anything is
// dialled (names are checked when they are resolved, in dial).
func (f *Fetcher) checkURL(u *url.URL) error {
	if _, err := Check(u.String()); err != nil {
		return err
	}
	if a, err := netip.ParseAddr(u.Hostname()); err == nil && !f.allowed(a) {
		return refused("it names %s", netpolicy.Why(a))
	}
	return nil
}

func (f *Fetcher) allowed(a netip.Addr) bool { return netpolicy.Allowed(a, f.cfg.Allow) }

// dial resolves address's host, refuses it unless every address it has
// is allowed, and connects to those very addresses, never to the name.
func (f *Fetcher) dial(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, refused("it is not a valid address")
	}
	pn, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, refused("its port is not valid")
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		lctx, cancel := context.WithTimeout(ctx, f.cfg.DialTimeout)
		addrs, err = f.cfg.Lookup(lctx, host)
		cancel()
		if err != nil || len(addrs) == 0 {
			return nil, fmt.Errorf("source could not be fetched: its host name does not resolve")
		}
	}
	for _, a := range addrs {
		if !f.allowed(a) {
			return nil, refused("it resolves to %s", netpolicy.Why(a))
		}
	}
	var errs []error
	for _, a := range addrs {
		conn, err := f.cfg.Dial(ctx, "tcp", netip.AddrPortFrom(a.Unmap(), uint16(pn)).String())
		if err == nil {
			return conn, nil
		}
		if errors.Is(err, ErrRefused) {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("source could not be reached: %w", errors.Join(errs...))
}
