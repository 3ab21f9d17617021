package rtmp

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"

	"github.com/hlsflow/hlsflow/internal/live/feed"
)

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServer starts a Server with the fields a test sets; "good-key"
// publishes "cam" into rec (when not nil).
func startServer(t *testing.T, rec *recorder, mod func(*Server)) (*Server, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	s := &Server{
		Addr: "127.0.0.1:0",
		Verify: func(key string) (string, bool) {
			return "cam", key == "good-key"
		},
		Hub: hub{claim: func(string, string) (feed.Feed, error) {
			if rec == nil {
				return nil, feed.ErrBusy
			}
			return rec, nil
		}},
		Log: slog.New(slog.NewTextHandler(logs, nil)),
	}
	if mod != nil {
		mod(s)
	}
	before := runtime.NumGoroutine()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		// Every connection handler has returned: nothing is left running.
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("%d goroutines after Close, %d before\n%s", runtime.NumGoroutine(), before,
					buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	return s, logs
}

// dialFrom connects to addr from the local address ip (any 127.x works
// on Linux's loopback).
func dialFrom(ip, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 2 * time.Second}
	return d.Dial("tcp", addr)
}

// closedWithin reports whether the server closes c within d (reading and
// discarding what it sends), and how long it took.
func closedWithin(c net.Conn, d time.Duration) (bool, time.Duration) {
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(d))
	buf := make([]byte, 8192)
	for {
		if _, err := c.Read(buf); err != nil {
			ne, ok := err.(net.Error)
			return !(ok && ne.Timeout()), time.Since(start)
		}
	}
}

// handshake does the client side of a plain RTMP handshake on c.
func handshake(t *testing.T, c net.Conn) {
	t.Helper()
	c1 := make([]byte, 1+handshakeSize)
	c1[0] = plainVersion
	if _, err := c.Write(c1); err != nil {
		t.Fatal(err)
	}
	s := make([]byte, 1+2*handshakeSize)
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.ReadFull(c, s); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	_ = c.SetReadDeadline(time.Time{})
	if _, err := c.Write(s[1 : 1+handshakeSize]); err != nil {
		t.Fatal(err)
	}
}

// chunk0 is a type 0 chunk header on csid announcing a message of bodyLen
// bytes of type typ, followed by body.
func chunk0(csid byte, typ byte, bodyLen int, body []byte) []byte {
	h := []byte{csid, 0, 0, 0, byte(bodyLen >> 16), byte(bodyLen >> 8), byte(bodyLen), typ, 1, 0, 0, 0}
	return append(h, body...)
}

func setChunkSize(v uint32) []byte {
	return chunk0(2, 1, 4, binary.BigEndian.AppendUint32(nil, v))
}

// TestIdleFloodFromOneAddress: one address holding as many idle sockets as
// it can neither keeps a publisher from another address out nor holds its
// sockets past the handshake deadline; the sockets over the per-address cap
// are closed at once. Default limits, as deployed.
func TestIdleFloodFromOneAddress(t *testing.T) {
	rec := &recorder{ended: make(chan error, 1)}
	s, logs := startServer(t, rec, nil)
	addr := s.ListenAddr().String()

	// The flooder keeps 70 sockets open from 127.0.0.2, dialling again as
	// soon as one is closed, for as long as the publisher runs.
	var (
		quick, held atomic.Int64 // closed in under a second / after longer
		longest     atomic.Int64 // longest life of a socket, ms
		stop        = make(chan struct{})
		wg          sync.WaitGroup
	)
	for range 70 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := dialFrom("127.0.0.2", addr)
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				closed, took := closedWithin(c, 15*time.Second)
				c.Close()
				if !closed {
					t.Errorf("an idle socket was held %v", took)
					return
				}
				if took < time.Second {
					quick.Add(1)
					time.Sleep(200 * time.Millisecond) // a refused flooder retries, not spins
				} else {
					held.Add(1)
					for ms := took.Milliseconds(); ms > longest.Load(); {
						if longest.CompareAndSwap(longest.Load(), ms) {
							break
						}
					}
				}
			}
		})
	}
	time.Sleep(time.Second) // the flood is in place
	out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-i", clip(t),
		"-t", "4", "-c", "copy", "-f", "flv", "rtmp://"+addr+"/live/good-key").CombinedOutput()
	if err != nil {
		t.Errorf("publisher from 127.0.0.1 failed during the flood: %v\n%s", err, out)
	}
	// Let the first held sockets reach the deadline.
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	select {
	case err := <-rec.ended:
		if err != nil {
			t.Errorf("publish ended with %v", err)
		}
	default:
		t.Error("the publisher never reached the hub")
	}
	if rec.buf.Len() == 0 {
		t.Error("no media from the publisher")
	}
	// 62 sockets over the cap were refused at once, each retried every
	// 200 ms; the 8 admitted ones lived until the deadline.
	if quick.Load() < 62 {
		t.Errorf("only %d sockets refused at once, want at least 62", quick.Load())
	}
	if held.Load() == 0 {
		t.Error("no socket was admitted")
	}
	if l := time.Duration(longest.Load()) * time.Millisecond; l > 7*time.Second {
		t.Errorf("an idle socket lived %v, past the 5 s default deadline", l)
	}
	if !strings.Contains(logs.String(), "too many connections from this address") {
		t.Errorf("refusals not logged:\n%s", logs)
	}
}

// TestSlowHandshakeIsCut: a client that trickles a valid handshake, one
// byte at a time, is cut at the handshake deadline, not kept alive by its
// bytes.
func TestSlowHandshakeIsCut(t *testing.T) {
	s, _ := startServer(t, nil, nil)
	c, err := net.Dial("tcp", s.ListenAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := []byte{plainVersion}
		for time.Since(start) < 15*time.Second {
			if _, err := c.Write(b); err != nil {
				return
			}
			b[0] = 0
			time.Sleep(100 * time.Millisecond)
		}
	}()
	closed, took := closedWithin(c, 15*time.Second)
	if !closed {
		t.Fatal("trickled handshake never cut")
	}
	// The documented default, a few seconds.
	if want := 5 * time.Second; took < want-time.Second || took > want+time.Second {
		t.Errorf("trickled handshake cut after %v, want about %v", took, want)
	}
	c.Close()
	<-done
}

// TestHostileBeforeKey: before a key is accepted a connection may only
// send a handshake and a few small commands; anything that would make the
// library buffer more is dropped at once, with a log line.
func TestHostileBeforeKey(t *testing.T) {
	tests := []struct {
		name    string
		send    func(t *testing.T, c net.Conn)
		wantLog string
	}{
		{"1 MiB command", func(t *testing.T, c net.Conn) {
			handshake(t, c)
			_, _ = c.Write(chunk0(3, 20, 1<<20, make([]byte, 128)))
		}, "message of 1048576 bytes"},
		{"chunk size 1", func(t *testing.T, c net.Conn) {
			handshake(t, c)
			_, _ = c.Write(setChunkSize(1))
		}, "chunk size 1 "},
		{"endless small messages", func(t *testing.T, c net.Conn) {
			handshake(t, c)
			ack := chunk0(2, 3, 4, []byte{0, 0, 0, 1}) // acknowledgements, never a command
			_, _ = c.Write(bytes.Repeat(ack, 8000))
		}, "before the stream key"},
		{"unfinished messages on many chunk streams", func(t *testing.T, c net.Conn) {
			handshake(t, c)
			var b []byte
			for cs := byte(3); cs < 63; cs++ {
				b = append(b, chunk0(cs, 20, 60000, make([]byte, minChunkSize))...)
				for range 8 {
					b = append(b, 0xc0|cs)
					b = append(b, make([]byte, minChunkSize)...)
				}
			}
			_, _ = c.Write(b)
		}, "rtmp limit"},
		{"rtmpe", func(t *testing.T, c net.Conn) {
			_, _ = c.Write(append([]byte{rtmpeVersion}, make([]byte, handshakeSize)...))
		}, "rtmpe"},
		{"http", func(t *testing.T, c net.Conn) {
			_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		}, "not rtmp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, logs := startServer(t, nil, func(s *Server) { s.HandshakeTimeout = 10 * time.Second })
			c, err := net.Dial("tcp", s.ListenAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			tt.send(t, c)
			if closed, took := closedWithin(c, 2*time.Second); !closed {
				t.Fatalf("connection still open after %v", took)
			}
			waitLog(t, logs, tt.wantLog)
		})
	}
}

func waitLog(t *testing.T, logs *logBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %q:\n%s", want, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHostileAfterKey: a publisher with a valid key is still bounded: one
// oversized message, or unfinished messages spread over many chunk
// streams, drop it with a log line.
func TestHostileAfterKey(t *testing.T) {
	tests := []struct {
		name    string
		send    func(c net.Conn) error
		wantLog string
	}{
		{"one oversized frame", func(c net.Conn) error {
			_, err := c.Write(chunk0(20, 9, DefaultMaxMessage+1, nil))
			return err
		}, fmt.Sprintf("message of %d bytes", DefaultMaxMessage+1)},
		{"unfinished frames on many chunk streams", func(c net.Conn) error {
			// Each stream announces a frame of half the limit and sends
			// 640 KiB of it; the library would hold 25 MB.
			body := make([]byte, 65536)
			for cs := byte(20); cs < 60; cs++ {
				b := chunk0(cs, 9, DefaultMaxMessage/2, body)
				for range 9 {
					b = append(b, 0xc0|cs)
					b = append(b, body...)
				}
				if _, err := c.Write(b); err != nil {
					return err
				}
			}
			return nil
		}, "unfinished messages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{ended: make(chan error, 1)}
			s, logs := startServer(t, rec, nil)
			u, _ := url.Parse("rtmp://" + s.ListenAddr().String() + "/live/good-key")
			cl := &gortmplib.Client{URL: u, Publish: true}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := cl.Initialize(ctx); err != nil {
				t.Fatalf("publish with a good key: %v", err)
			}
			defer cl.Close()
			c := cl.NetConn()
			// The client set a chunk size of 64 KiB.
			_ = tt.send(c)
			if closed, took := closedWithin(c, 3*time.Second); !closed {
				t.Fatalf("connection still open after %v", took)
			}
			waitLog(t, logs, tt.wantLog)
		})
	}
}
