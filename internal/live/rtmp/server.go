// Package rtmp is the live ingest's RTMP listener: it accepts publishers
// (OBS, ffmpeg -f flv), checks the stream key before anything else, and
// hands their H.264/AAC to internal/live/flvts, which remuxes it into
// MPEG-TS for the stream's feed. Playback is
// not served here; viewers use HLS. A stranger without a key can hold
// neither the listener nor memory: connections are capped per address,
// cut 5 s after accept unless a valid key was presented, and limited to
// 64 KiB until then (services/ingest/README.md lists every limit).
package rtmp

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortmplib"

	"github.com/hlsflow/hlsflow/internal/live/feed"
	"github.com/hlsflow/hlsflow/internal/live/flvts"
)

// Defaults of Server.
const (
	// DefaultHandshakeTimeout bounds a connection's life until its stream
	// key is accepted: handshake, connect and the publish command, a few
	// round trips on any real network.
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultIdleTimeout      = 10 * time.Second
	DefaultMaxConns         = 64
	// DefaultMaxConnsPerAddr is well above what one encoder host needs
	// (one connection per stream, plus reconnects) and far below
	// DefaultMaxConns, so one address cannot fill the server.
	DefaultMaxConnsPerAddr = 8
)

// KeyVerifier maps a secret publish key to the public stream name.
type KeyVerifier func(key string) (name string, ok bool)

// Server accepts RTMP publishers on one TCP listener.
type Server struct {
	Addr   string // host:port; ":1935" in production
	Verify KeyVerifier
	Hub    feed.Hub
	Log    *slog.Logger

	// HandshakeTimeout bounds everything before the stream key is checked
	// (handshake, connect, publish), however the bytes are trickled.
	HandshakeTimeout time.Duration
	// IdleTimeout drops a publisher that sends nothing for this long.
	IdleTimeout time.Duration
	// MaxConns caps concurrent connections, so a flood of sockets cannot
	// exhaust the process.
	MaxConns int
	// MaxConnsPerAddr caps concurrent connections from one IPv4 address
	// or IPv6 /64; extra ones are closed at once.
	MaxConnsPerAddr int
	// MaxMessage bounds one RTMP message (a video frame) of a publisher
	// whose key was accepted; before that, a connection may send 64 KiB in
	// all. Default DefaultMaxMessage.
	MaxMessage int

	ln      net.Listener
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	perAddr map[netip.Addr]int
	closed  bool

	refusedLogged time.Time // guarded by mu
	refused       int
}

// Start listens and serves until Close.
func (s *Server) Start() error {
	if s.Verify == nil || s.Hub == nil {
		return errors.New("rtmp server: verifier and hub are required")
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.HandshakeTimeout <= 0 {
		s.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = DefaultIdleTimeout
	}
	if s.MaxConns <= 0 {
		s.MaxConns = DefaultMaxConns
	}
	if s.MaxConnsPerAddr <= 0 {
		s.MaxConnsPerAddr = DefaultMaxConnsPerAddr
	}
	if s.MaxMessage <= 0 {
		s.MaxMessage = DefaultMaxMessage
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("rtmp listen %s: %w", s.Addr, err)
	}
	s.ln = ln
	s.conns = map[net.Conn]struct{}{}
	s.perAddr = map[netip.Addr]int{}
	s.wg.Go(s.acceptLoop)
	return nil
}

// ListenAddr is the bound address (useful with port 0).
func (s *Server) ListenAddr() net.Addr { return s.ln.Addr() }

// Close stops accepting, drops every connection (their feeds end with an
// error) and waits for the handlers to return.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	s.wg.Wait()
	return err
}

// StopAccepting closes the listener but lets running publishers continue.
func (s *Server) StopAccepting() {
	if s.ln != nil {
		s.ln.Close()
	}
}

func (s *Server) acceptLoop() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		if !s.admit(c) {
			c.Close()
			continue
		}
		s.wg.Go(func() {
			defer s.release(c)
			err := s.serve(c)
			switch {
			case errors.Is(err, errLimit):
				s.Log.Warn("rtmp: connection dropped", "remote", c.RemoteAddr().String(), "err", err)
			case err != nil && !errors.Is(err, io.EOF):
				s.Log.Info("rtmp: connection dropped", "remote", c.RemoteAddr().String(), "err", err)
			}
		})
	}
}

// addrKey is what MaxConnsPerAddr counts by: the IPv4 address, or the
// IPv6 /64 (one host usually has a whole /64).
func addrKey(a net.Addr) netip.Addr {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// admit takes a global and a per-address slot for c, or says no.
func (s *Server) admit(c net.Conn) bool {
	key := addrKey(c.RemoteAddr())
	s.mu.Lock()
	defer s.mu.Unlock()
	why := ""
	switch {
	case s.closed:
		return false
	case s.perAddr[key] >= s.MaxConnsPerAddr:
		why = "too many connections from this address"
	case len(s.conns) >= s.MaxConns:
		why = "too many connections"
	}
	if why != "" {
		// A flood would log a line per socket: one line per 10 s says as
		// much.
		s.refused++
		if now := time.Now(); now.Sub(s.refusedLogged) >= 10*time.Second {
			s.Log.Warn("rtmp: connections refused", "reason", why, "remote", c.RemoteAddr().String(),
				"refused", s.refused)
			s.refusedLogged, s.refused = now, 0
		}
		return false
	}
	s.conns[c] = struct{}{}
	s.perAddr[key]++
	return true
}

func (s *Server) release(c net.Conn) {
	c.Close()
	key := addrKey(c.RemoteAddr())
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if s.perAddr[key]--; s.perAddr[key] <= 0 {
		delete(s.perAddr, key)
	}
}

// serve runs one connection. A panic inside the protocol library on hostile
// input must not take the service down, so it becomes an error.
func (s *Server) serve(c net.Conn) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rtmp protocol panic: %v", r)
		}
	}()
	if err := c.SetDeadline(time.Now().Add(s.HandshakeTimeout)); err != nil {
		return err
	}
	g := newGuard(c, s.MaxMessage)
	defer func() {
		// The library wraps read errors its own way; the guard's reason is
		// the one worth logging.
		if v := g.violation(); v != nil {
			err = v
		}
	}()
	sc := &gortmplib.ServerConn{RW: g}
	if err := sc.Initialize(); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if err := sc.AcceptConn(); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if !sc.Publish {
		_ = sc.RejectAction()
		return errors.New("play refused: playback is served as HLS")
	}
	key := streamKey(sc.URL)
	name, ok := s.Verify(key)
	if !ok {
		_ = sc.RejectAction()
		return fmt.Errorf("publish refused: bad stream key for %q", sc.URL.Path)
	}
	g.authorize()
	f, err := s.Hub.Claim(name, c.RemoteAddr().String())
	if err != nil {
		_ = sc.RejectAction()
		return fmt.Errorf("publish %s refused: %w", name, err)
	}
	err = s.publish(c, sc, name, f)
	f.End(err)
	return err
}

// streamKey takes the key from rtmp://host/live/KEY (the last path element;
// a query string is not part of the key).
func streamKey(u *url.URL) string {
	if u == nil {
		return ""
	}
	p := strings.TrimSuffix(u.Path, "/")
	return p[strings.LastIndex(p, "/")+1:]
}

func (s *Server) publish(c net.Conn, sc *gortmplib.ServerConn, name string, f feed.Feed) error {
	if err := sc.AcceptAction(); err != nil {
		return fmt.Errorf("accept publish: %w", err)
	}
	// Finding the tracks may take the library's analysis period (2 s) on
	// top of the client's start-up.
	if err := c.SetDeadline(time.Now().Add(s.HandshakeTimeout + 3*time.Second)); err != nil {
		return err
	}
	// The publisher sends its first frames as soon as publishing is
	// accepted; the reader holds them while it finds the tracks.
	received := time.Now()
	r := &gortmplib.Reader{Conn: sc}
	if err := r.Initialize(); err != nil {
		return fmt.Errorf("read tracks: %w", err)
	}
	rm, info, err := flvts.New(r, f)
	if err != nil {
		return err
	}
	info.Received = received
	if err := f.Start(info); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	s.Log.Info("rtmp: publishing", "stream", name, "remote", c.RemoteAddr().String(),
		"width", info.Width, "height", info.Height, "fps", info.FPS, "audio", info.AudioCodec)
	var armed time.Time
	for {
		// Re-arming the idle deadline on every message costs a timer update
		// each; once per quarter timeout is as good.
		if now := time.Now(); now.Sub(armed) > s.IdleTimeout/4 {
			armed = now
			if err := c.SetDeadline(now.Add(s.IdleTimeout)); err != nil {
				return err
			}
		}
		if err := r.Read(); err != nil {
			if errors.Is(err, io.EOF) {
				return rm.Flush()
			}
			return err
		}
		if err := rm.Err(); err != nil {
			return err
		}
	}
}
