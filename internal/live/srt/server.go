// Package srt is the live ingest's SRT listener: one UDP port, any number
// of publishers at once, MPEG-TS inside, bound to Debian's libsrt through
// cgo (no Go SRT library is used).
//
// A caller names its stream in the SRT streamid with the stream key
// (internal/live/keys), which libsrt hands to this package in the
// handshake, before the connection exists: a wrong key, too many
// connections from one address, or playback asked for, and the caller is
// rejected with a reason its encoder can show. When the operator sets a
// passphrase, every connection is AES-encrypted with it and a caller
// without it (or with another) is rejected by libsrt in the same
// handshake. So no stranger reaches the stream: nothing is claimed and no
// transcoder runs for them.
//
// Once accepted, the publisher's bytes are cut into TS packets, probed
// like UDP's (feed.Prober) and fed to the stream. A publisher that does
// not describe its feed within ProbeTimeout, or then sends no TS for
// IdleTimeout, is dropped.
package srt

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/feed"
)

// Defaults of Server.
const (
	// DefaultLatency is the receive buffer that lets SRT retransmit lost
	// packets in time: four round trips of a long internet path. It adds
	// to the glass-to-glass delay, which HLS's segments dwarf.
	DefaultLatency      = 500 * time.Millisecond
	DefaultIdleTimeout  = 10 * time.Second
	DefaultProbeTimeout = 10 * time.Second
	DefaultMaxProbe     = 4 << 20
	// As RTMP's: an encoder host needs one connection per stream and its
	// reconnects; one address cannot fill the server.
	DefaultMaxConns        = 64
	DefaultMaxConnsPerAddr = 8
	// poll is how long a blocking libsrt call may wait before its
	// goroutine looks at the clock and at Close.
	poll     = 250 * time.Millisecond
	backlog  = 16
	logEvery = 10 * time.Second
)

// Reasons a caller is refused, sent back in the handshake: SRT's
// access-control codes (srt/access_control.h), which encoders show.
const (
	rejectBadRequest = 1400
	rejectOverload   = 1402
	rejectForbidden  = 1403
	rejectBadMode    = 1405
	rejectDown       = 1503
)

// maxPayload is the largest message a live-mode socket delivers
// (SRT_LIVE_MAX_PLSIZE).
const maxPayload = 1456

// Errors a publisher's run ends with.
var (
	errTimeout  = errors.New("srt: timed out")
	errConnLost = errors.New("srt: connection lost")
	errClosed   = errors.New("srt listener closed")
)

// sock is a libsrt socket id.
type sock int32

// options are those set on the listener, which accepted sockets inherit.
type options struct {
	latency, poll time.Duration
	passphrase    string
	backlog       int
}

// Server accepts SRT publishers on one UDP port.
type Server struct {
	Addr   string                                  // host:port (UDP)
	Verify func(key string) (name string, ok bool) // the stream key check
	Hub    feed.Hub
	Log    *slog.Logger

	// Passphrase, when set (10 to 79 characters), encrypts every
	// connection; a caller must give the same one.
	Passphrase string
	// Latency is the receiver's buffer for retransmissions; the larger of
	// the caller's and this one is used.
	Latency time.Duration
	// ProbeTimeout bounds the time from connection to a feed described
	// (tables and H.264 parameters), MaxProbe the bytes kept meanwhile.
	ProbeTimeout time.Duration
	MaxProbe     int
	// IdleTimeout drops a publisher that sends no TS packets for this long
	// (SRT's own keep-alives do not count).
	IdleTimeout time.Duration
	// MaxConns caps concurrent publishers; MaxConnsPerAddr those from one
	// IPv4 address or IPv6 /64.
	MaxConns        int
	MaxConnsPerAddr int

	id   uintptr // in the registry, for the listen callback
	lsn  sock
	addr netip.AddrPort
	stop chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	conns   int
	perAddr map[netip.Addr]int
	closed  bool
	refusal feed.LogRate // guarded by mu

	// Counters, for tests and stats.
	Refused   atomic.Int64 // callers rejected in the handshake
	JunkBytes atomic.Int64 // bytes of accepted publishers that were not TS
}

// Start listens and serves until Close.
func (s *Server) Start() error {
	if s.Verify == nil || s.Hub == nil {
		return errors.New("srt server: key verifier and hub are required")
	}
	if err := CheckPassphrase(s.Passphrase); err != nil {
		return fmt.Errorf("srt server: %w", err)
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	s.refusal.Every = logEvery
	orDefault(&s.Latency, DefaultLatency)
	orDefault(&s.IdleTimeout, DefaultIdleTimeout)
	orDefault(&s.ProbeTimeout, DefaultProbeTimeout)
	orDefault(&s.MaxProbe, DefaultMaxProbe)
	orDefault(&s.MaxConns, DefaultMaxConns)
	orDefault(&s.MaxConnsPerAddr, DefaultMaxConnsPerAddr)
	ua, err := net.ResolveUDPAddr("udp", s.Addr)
	if err != nil {
		return fmt.Errorf("srt resolve %s: %w", s.Addr, err)
	}
	ip, _ := netip.AddrFromSlice(ua.IP)
	if !ip.IsValid() {
		ip = netip.IPv4Unspecified()
	}
	addr := netip.AddrPortFrom(ip.Unmap(), uint16(ua.Port))
	if err := startup(); err != nil {
		return err
	}
	s.perAddr = map[netip.Addr]int{}
	s.id = register(s)
	s.lsn, err = listen(addr, options{latency: s.Latency, poll: poll, passphrase: s.Passphrase, backlog: backlog}, s.id)
	if err == nil {
		s.addr, err = sockName(s.lsn)
		if err != nil {
			closeSock(s.lsn)
		}
	}
	var p poller
	if err == nil {
		if p, err = newPoller(s.lsn); err != nil {
			closeSock(s.lsn)
		}
	}
	if err != nil {
		unregister(s.id)
		cleanup()
		return fmt.Errorf("srt listen %s: %w", s.Addr, err)
	}
	// Only a started server has stop: Close of one that failed to start
	// must not release the library a second time.
	s.stop = make(chan struct{})
	s.wg.Go(func() { s.acceptLoop(p) })
	return nil
}

// CheckPassphrase refuses a passphrase SRT does not take: "" (no
// encryption) or 10 to 79 characters.
func CheckPassphrase(p string) error {
	if n := len(p); n != 0 && (n < 10 || n > 79) {
		return fmt.Errorf("the passphrase has %d characters; SRT takes 10 to 79", n)
	}
	return nil
}

func orDefault[T time.Duration | int](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// ListenAddr is the bound address (useful with port 0).
func (s *Server) ListenAddr() net.Addr { return net.UDPAddrFromAddrPort(s.addr) }

// Close stops accepting, drops every publisher (their feeds end with an
// error) and returns once every goroutine of the server has: within poll,
// plus the time the feeds take to end.
func (s *Server) Close() error {
	if s.stop == nil {
		return nil // never started
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	s.wg.Wait()
	unregister(s.id)
	cleanup()
	return nil
}

// acceptLoop owns the listener: it alone calls libsrt on it, and closes it
// when the server closes.
func (s *Server) acceptLoop(p poller) {
	defer closeSock(s.lsn)
	defer p.release()
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		if !p.wait(poll) {
			continue
		}
		c, remote, err := accept(s.lsn)
		if errors.Is(err, errTimeout) {
			continue // the caller went away between handshake and accept
		}
		if err != nil {
			s.Log.Warn("srt: accept", "err", err)
			select { // a lasting error must not spin
			case <-s.stop:
				return
			case <-time.After(poll):
			}
			continue
		}
		if !s.admit(remote) {
			closeSock(c)
			continue
		}
		s.wg.Go(func() {
			defer s.release(c, remote)
			s.serve(c, remote)
		})
	}
}

// addrKey is what MaxConnsPerAddr counts by: the IPv4 address, or the
// IPv6 /64 (one host usually has a whole /64).
func addrKey(a netip.Addr) netip.Addr {
	if a = a.Unmap(); a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// full says why a new connection from remote would exceed the limits, ""
// if it would not. The caller holds mu.
func (s *Server) full(remote netip.AddrPort) string {
	switch {
	case s.closed:
		return "shutting down"
	case s.perAddr[addrKey(remote.Addr())] >= s.MaxConnsPerAddr:
		return "too many connections from this address"
	case s.conns >= s.MaxConns:
		return "too many connections"
	}
	return ""
}

// admit counts an accepted connection, unless callers that passed the
// handshake together went over the limits.
func (s *Server) admit(remote netip.AddrPort) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if why := s.full(remote); why != "" {
		s.refuse(remote, why)
		return false
	}
	s.conns++
	s.perAddr[addrKey(remote.Addr())]++
	return true
}

func (s *Server) release(c sock, remote netip.AddrPort) {
	closeSock(c)
	key := addrKey(remote.Addr())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns--
	if s.perAddr[key]--; s.perAddr[key] <= 0 {
		delete(s.perAddr, key)
	}
}

// check decides on a caller in the handshake (libsrt's thread, which it
// must not hold up): 0 accepts it, else the reject reason.
func (s *Server) check(hsVersion int, remote netip.AddrPort, streamid string) int {
	code, why := 0, ""
	key, err := streamKey(streamid)
	switch {
	case hsVersion < 5:
		code, why = rejectBadRequest, "SRT before 1.3 sends no streamid"
	case errors.Is(err, errBadMode):
		code, why = rejectBadMode, err.Error()
	case err != nil:
		code, why = rejectBadRequest, err.Error()
	default:
		if _, ok := s.Verify(key); !ok {
			code, why = rejectForbidden, "bad stream key"
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		if why = s.full(remote); why != "" {
			code = rejectOverload
		}
	}
	if code != 0 {
		s.refuse(remote, why)
	}
	return code
}

// refuse counts and logs a refused caller; a flood logs a line every
// logEvery. The caller holds mu.
func (s *Server) refuse(remote netip.AddrPort, why string) {
	s.Refused.Add(1)
	if n, ok := s.refusal.Allow(time.Now()); ok {
		s.Log.Warn("srt: caller refused", "reason", why, "remote", remote.String(), "refused", n)
	}
}

// The listen callback finds its server through this registry: C may not
// keep Go pointers, and a callback that comes after Close finds none.
var registry struct {
	sync.Mutex
	next    uintptr
	servers map[uintptr]*Server
}

func register(s *Server) uintptr {
	registry.Lock()
	defer registry.Unlock()
	if registry.servers == nil {
		registry.servers = map[uintptr]*Server{}
	}
	registry.next++
	registry.servers[registry.next] = s
	return registry.next
}

func unregister(id uintptr) {
	registry.Lock()
	defer registry.Unlock()
	delete(registry.servers, id)
}

// onCaller is the listen callback's Go side.
func onCaller(id uintptr, hsVersion int, remote netip.AddrPort, streamid string) int {
	registry.Lock()
	s := registry.servers[id]
	registry.Unlock()
	if s == nil {
		return rejectDown
	}
	return s.check(hsVersion, remote, streamid)
}
