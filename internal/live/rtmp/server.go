// Package rtmp is the live ingest's RTMP listener: it accepts publishers
// (OBS, ffmpeg -f flv), checks the stream key before anything else, and
// remuxes their H.264/AAC into MPEG-TS for the stream's feed. Playback is
// not served here; viewers use HLS.
package rtmp

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortmplib"

	"github.com/hlsflow/hlsflow/internal/live/feed"
)

// Defaults for Server's timeouts.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultIdleTimeout      = 10 * time.Second
	DefaultMaxConns         = 64
)

// KeyVerifier maps a secret publish key to the public stream name.
type KeyVerifier func(key string) (name string, ok bool)

// Server accepts RTMP publishers on one TCP listener.
type Server struct {
	Addr   string // host:port; ":1935" in production
	Verify KeyVerifier
	Hub    feed.Hub
	Log    *slog.Logger

	// HandshakeTimeout bounds everything before media flows: handshake,
	// connect, publish and the first tracks.
	HandshakeTimeout time.Duration
	// IdleTimeout drops a publisher that sends nothing for this long.
	IdleTimeout time.Duration
	// MaxConns caps concurrent connections, so a flood of sockets cannot
	// exhaust the process.
	MaxConns int

	ln     net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	sem    chan struct{}
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
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("rtmp listen %s: %w", s.Addr, err)
	}
	s.ln = ln
	s.conns = map[net.Conn]struct{}{}
	s.sem = make(chan struct{}, s.MaxConns)
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
		select {
		case s.sem <- struct{}{}:
		default:
			s.Log.Warn("rtmp: too many connections, dropping", "remote", c.RemoteAddr().String())
			c.Close()
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			<-s.sem
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() {
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
				<-s.sem
			}()
			err := s.serve(c)
			if err != nil && !errors.Is(err, io.EOF) {
				s.Log.Info("rtmp: connection dropped", "remote", c.RemoteAddr().String(), "err", err)
			}
		})
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
	sc := &gortmplib.ServerConn{RW: c}
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
	r := &gortmplib.Reader{Conn: sc}
	if err := r.Initialize(); err != nil {
		return fmt.Errorf("read tracks: %w", err)
	}
	rm, info, err := newRemuxer(r, f)
	if err != nil {
		return err
	}
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
				return rm.flush()
			}
			return err
		}
		if err := rm.err(); err != nil {
			return err
		}
	}
}
