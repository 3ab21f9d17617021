package safefetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/netpolicy"
)

// target is a TCP listener that counts the connections that reach it: the
// address an attacker wants the fetcher to reach.
type target struct {
	ln      net.Listener
	accepts atomic.Int32
}

func listenTarget(t *testing.T, network, addr string) *target {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("listen %s: %v", addr, err)
	}
	tg := &target{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tg.accepts.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return tg
}

func (tg *target) port() int { return tg.ln.Addr().(*net.TCPAddr).Port }

// serveOn starts an HTTP server on addr (a loopback address).
func serveOn(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("listen %s: %v", addr, err)
	}
	s := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// dials records every address the fetcher connects to.
type dials struct {
	mu    sync.Mutex
	addrs []string
}

func (d *dials) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, addr)
	d.mu.Unlock()
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func (d *dials) list() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.addrs...)
}

// resolver answers from a table, as a hostile DNS server could.
func resolver(table map[string][]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		var out []netip.Addr
		for _, s := range table[host] {
			out = append(out, netip.MustParseAddr(s))
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("no such host %s", host)
		}
		return out, nil
	}
}

func newFetcher(t *testing.T, cfg Config) *Fetcher {
	t.Helper()
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 1 << 20
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func fetch(f *Fetcher, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := f.Open(ctx, u)
	if err != nil {
		return nil, err
	}
	defer r.Body.Close()
	return io.ReadAll(r.Body)
}

// TestSSRFCorpusRefused: none of these reaches its target, and each says
// why in words.
func TestSSRFCorpusRefused(t *testing.T) {
	v4 := listenTarget(t, "tcp4", "127.0.0.1:0")
	v6 := listenTarget(t, "tcp6", "[::1]:0")
	p4, p6 := v4.port(), v6.port()
	// The one server the fetcher may reach (127.0.0.2, allowed) redirects
	// to where it must not go.
	redirector := serveOn(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	}))
	redirect := func(to string) string { return redirector.URL + "/?to=" + to }

	cases := []struct {
		name, url, want string
	}{
		{"loopback", fmt.Sprintf("http://127.0.0.1:%d/", p4), "loopback"},
		{"loopback elsewhere in 127/8", fmt.Sprintf("http://127.0.0.3:%d/", p4), "loopback"},
		{"IPv6 loopback", fmt.Sprintf("http://[::1]:%d/", p6), "loopback"},
		{"private", "http://10.0.0.1/", "private"},
		{"private 192.168", "http://192.168.1.1/", "private"},
		{"IPv6 unique local", "http://[fd00::1]/", "private"},
		{"cloud metadata", "http://169.254.169.254/latest/meta-data/", "link-local"},
		{"IPv6 link-local", "http://[fe80::1]/", "link-local"},
		{"IPv6 zone", "http://[fe80::1%25lo]/", "IPv6"},
		{"carrier-grade NAT", "http://100.64.0.1/", "special-purpose"},
		{"unspecified", fmt.Sprintf("http://0.0.0.0:%d/", p4), "unspecified"},
		{"IPv6 unspecified", fmt.Sprintf("http://[::]:%d/", p6), "unspecified"},
		{"broadcast", "http://255.255.255.255/", "special-purpose"},
		{"multicast", "http://224.0.0.1/", "multicast"},
		{"documentation", "http://192.0.2.1/", "special-purpose"},
		{"IPv4-mapped IPv6 loopback", fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/", p4), "loopback"},
		{"IPv4-mapped IPv6 hex", fmt.Sprintf("http://[::ffff:7f00:1]:%d/", p4), "loopback"},
		{"IPv4-mapped metadata", "http://[::ffff:169.254.169.254]/", "link-local"},
		{"IPv4-compatible IPv6", fmt.Sprintf("http://[::127.0.0.1]:%d/", p4), "special-purpose"},
		{"NAT64 of loopback", "http://[64:ff9b::7f00:1]/", "special-purpose"},
		{"6to4 of private", "http://[2002:a00:1::]/", "special-purpose"},
		{"decimal IP", fmt.Sprintf("http://2130706433:%d/", p4), "non-standard form"},
		{"octal IP", fmt.Sprintf("http://0177.0.0.1:%d/", p4), "non-standard form"},
		{"hex IP", fmt.Sprintf("http://0x7f.0.0.1:%d/", p4), "non-standard form"},
		{"hex whole IP", fmt.Sprintf("http://0x7f000001:%d/", p4), "non-standard form"},
		{"short IP", fmt.Sprintf("http://127.1:%d/", p4), "non-standard form"},
		{"localhost", fmt.Sprintf("http://localhost:%d/", p4), "loopback"},
		{"name resolving to loopback", fmt.Sprintf("http://evil.example:%d/", p4), "loopback"},
		{"name resolving to public and loopback", fmt.Sprintf("http://mixed.example:%d/", p4), "loopback"},
		{"name resolving to metadata", "http://metadata.example/", "link-local"},
		{"file", "file:///etc/passwd", `not "file"`},
		{"gopher", fmt.Sprintf("gopher://127.0.0.1:%d/_GET", p4), `not "gopher"`},
		{"ftp", "ftp://example.com/x", `not "ftp"`},
		{"no scheme", "//example.com/x", "no scheme"},
		{"user info", "http://user:pass@example.com/", "user name"},
		{"redirect to loopback", redirect(fmt.Sprintf("http://127.0.0.1:%d/", p4)), "loopback"},
		{"redirect to IPv6 loopback", redirect(fmt.Sprintf("http://[::1]:%d/", p6)), "loopback"},
		{"redirect to name of loopback", redirect(fmt.Sprintf("http://evil.example:%d/", p4)), "loopback"},
		{"redirect to metadata", redirect("http://169.254.169.254/latest/meta-data/"), "link-local"},
		{"redirect to file", redirect("file:///etc/passwd"), `not "file"`},
		{"redirect to decimal IP", redirect(fmt.Sprintf("http://2130706433:%d/", p4)), "non-standard form"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var d dials
			f := newFetcher(t, Config{
				Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
				Lookup: resolver(map[string][]string{
					"localhost": {"127.0.0.1", "::1"}, "evil.example": {"127.0.0.1"},
					"mixed.example": {"93.184.215.14", "127.0.0.1"}, "metadata.example": {"169.254.169.254"},
				}),
				Dial: d.dial,
			})
			_, err := fetch(f, c.url)
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("fetch %s: %v, want ErrRefused", c.url, err)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "source URL refused: ") {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			// Only the allowed redirector may have been dialled.
			for _, a := range d.list() {
				if a != redirector.Listener.Addr().String() {
					t.Errorf("dialled %s", a)
				}
			}
		})
	}
	if n := v4.accepts.Load() + v6.accepts.Load(); n != 0 {
		t.Errorf("%d connections reached the targets", n)
	}
}

// TestRealDialerRefusesOutsideAllow runs the default dialer (with its
// Control check) rather than a test hook: the loopback target still gets
// no connection, even through a resolver that lies after the check.
func TestRealDialerRefusesOutsideAllow(t *testing.T) {
	tg := listenTarget(t, "tcp4", "127.0.0.1:0")
	f := newFetcher(t, Config{Lookup: resolver(map[string][]string{"evil.example": {"127.0.0.1"}})})
	for _, u := range []string{
		fmt.Sprintf("http://127.0.0.1:%d/", tg.port()),
		fmt.Sprintf("http://evil.example:%d/", tg.port()),
	} {
		if _, err := fetch(f, u); !errors.Is(err, ErrRefused) {
			t.Errorf("fetch %s: %v, want ErrRefused", u, err)
		}
	}
	// The socket's own check (net.Dialer.Control), reached directly.
	if c, err := f.cfg.Dial(context.Background(), "tcp", tg.ln.Addr().String()); !errors.Is(err, ErrRefused) {
		if c != nil {
			c.Close()
		}
		t.Errorf("dialer's own check: %v, want ErrRefused", err)
	}
	if n := tg.accepts.Load(); n != 0 {
		t.Errorf("%d connections reached the target", n)
	}
}

// TestRebinding: the address checked is the address connected to. A name
// that answers an allowed address, then the target's, is resolved once
// per connection and the target never sees a connection.
func TestRebinding(t *testing.T) {
	tg := listenTarget(t, "tcp4", "127.0.0.1:0")
	port := tg.port()
	// The same port on both addresses, so only the address tells them apart.
	serveOn(t, fmt.Sprintf("127.0.0.2:%d", port), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "from the checked address")
	}))
	var lookups atomic.Int32
	var d dials
	f := newFetcher(t, Config{
		Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
		Lookup: func(context.Context, string) ([]netip.Addr, error) {
			if lookups.Add(1) == 1 {
				return []netip.Addr{netip.MustParseAddr("127.0.0.2")}, nil
			}
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		},
		Dial: d.dial,
	})
	u := fmt.Sprintf("http://rebind.example:%d/", port)
	b, err := fetch(f, u)
	if err != nil || string(b) != "from the checked address" {
		t.Fatalf("first fetch: %q, %v", b, err)
	}
	if got := d.list(); len(got) != 1 || got[0] != fmt.Sprintf("127.0.0.2:%d", port) || lookups.Load() != 1 {
		t.Errorf("dialled %v after %d lookups, want only the checked 127.0.0.2:%d after one", got, lookups.Load(), port)
	}
	// A new connection resolves again, and is refused.
	f.client.CloseIdleConnections()
	if _, err := fetch(f, u); !errors.Is(err, ErrRefused) {
		t.Errorf("second fetch: %v, want ErrRefused", err)
	}
	if n := tg.accepts.Load(); n != 0 {
		t.Errorf("%d connections reached the target", n)
	}
}

func TestFetchAllowed(t *testing.T) {
	srv := serveOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/clip.mp4", http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Content-Type", "video/mp4")
		io.WriteString(w, "the clip")
	}))
	allow, err := netpolicy.ParseAllow("127.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	f := newFetcher(t, Config{Allow: allow})
	for _, u := range []string{srv.URL + "/clip.mp4", srv.URL + "/moved", strings.Replace(srv.URL, "127.0.0.1", "[::ffff:127.0.0.1]", 1) + "/clip.mp4"} {
		b, err := fetch(f, u)
		if err != nil || string(b) != "the clip" {
			t.Errorf("fetch %s: %q, %v", u, b, err)
		}
	}
}

func TestLimits(t *testing.T) {
	const limit = 1000
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	srv := serveOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fl := w.(http.Flusher)
		switch r.URL.Path {
		case "/exact":
			io.WriteString(w, strings.Repeat("x", limit))
		case "/declared-too-large":
			w.Header().Set("Content-Length", fmt.Sprint(limit+1))
			io.WriteString(w, strings.Repeat("x", limit+1))
		case "/chunked-too-large":
			for range 10 {
				io.WriteString(w, strings.Repeat("x", limit/4))
				fl.Flush()
			}
		case "/huge-declared":
			w.Header().Set("Content-Length", "1000000000000")
			fl.Flush()
		case "/stall":
			io.WriteString(w, "x")
			fl.Flush()
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		case "/trickle":
			for {
				io.WriteString(w, "x")
				fl.Flush()
				select {
				case <-r.Context().Done():
					return
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		case "/slow-headers":
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/missing":
			http.Error(w, "no", http.StatusNotFound)
		case "/big-header":
			w.Header().Set("X-Big", strings.Repeat("y", 100<<10))
		}
	}))
	f := newFetcher(t, Config{
		Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, MaxBytes: limit, MaxRedirects: 3,
		HeaderTimeout: 300 * time.Millisecond, StallTimeout: 300 * time.Millisecond, Timeout: time.Second,
	})
	b, err := fetch(f, srv.URL+"/exact")
	if err != nil || len(b) != limit {
		t.Errorf("exactly the limit: %d bytes, %v", len(b), err)
	}
	for _, c := range []struct {
		path string
		want error
		says string
	}{
		{"/declared-too-large", ErrTooLarge, "the limit is 1000"},
		{"/chunked-too-large", ErrTooLarge, "more than the 1000 bytes"},
		{"/huge-declared", ErrTooLarge, "the limit is 1000"},
		{"/stall", ErrStalled, "nothing received"},
		{"/trickle", ErrTimeout, "not fetched within 1s"},
		{"/slow-headers", ErrTimeout, "no answer in time"},
		{"/loop", ErrRefused, "redirects more than 3 times"},
		{"/missing?sig=SECRET", ErrStatus, "404 Not Found"},
		{"/big-header?sig=SECRET", nil, "could not be fetched"},
	} {
		t.Run(c.path, func(t *testing.T) {
			start := time.Now()
			_, err := fetch(f, srv.URL+c.path)
			if err == nil || c.want != nil && !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want %v saying %q", err, c.want, c.says)
			}
			if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "127.0.0.1") {
				t.Errorf("error %q repeats the URL", err)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %s", took)
			}
		})
	}
}

func TestNewNeedsALimit(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("no MaxBytes was accepted")
	}
}
