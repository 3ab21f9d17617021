package udp

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/feed"
)

// recorder is a feed.Feed that keeps what it is given.
type recorder struct {
	remote string
	mu     sync.Mutex
	info   feed.Info
	buf    bytes.Buffer
	ended  bool
}

func (r *recorder) Start(info feed.Info) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.info = info
	return nil
}

func (r *recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(b)
}

func (r *recorder) End(error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = true
}

// hub hands every claim a new recorder, as the ingest does across
// reconnects.
type hub struct {
	mu    sync.Mutex
	feeds []*recorder
}

func (h *hub) Claim(_, remote string) (feed.Feed, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range h.feeds {
		f.mu.Lock()
		busy := !f.ended
		f.mu.Unlock()
		if busy {
			return nil, feed.ErrBusy
		}
	}
	r := &recorder{remote: remote}
	h.feeds = append(h.feeds, r)
	return r, nil
}

func (h *hub) claims() []*recorder {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*recorder(nil), h.feeds...)
}

func startReceiver(t *testing.T, mod func(*Receiver)) (*Receiver, *hub) {
	t.Helper()
	h := &hub{}
	r := &Receiver{Addr: "127.0.0.1:0", Stream: "cam", Hub: h, IdleTimeout: time.Second,
		Log: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
	if mod != nil {
		mod(r)
	}
	before := runtime.NumGoroutine()
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Close()
		deadline := time.Now().Add(3 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("%d goroutines after Close, %d before\n%s", runtime.NumGoroutine(), before,
					buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	return r, h
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// send starts ffmpeg sending seconds of a solid colour as MPEG-TS from
// local address from (any 127.x) to r.
func send(t *testing.T, r *Receiver, from, color string, size string, seconds float64) *exec.Cmd {
	t.Helper()
	url := fmt.Sprintf("udp://%s?pkt_size=1316&localaddr=%s", r.ListenAddr(), from)
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re",
		// Noise gives the feed a realistic bit rate.
		"-f", "lavfi", "-i", fmt.Sprintf("color=c=%s:s=%s:r=25,noise=alls=20:allf=t", color, size), "-t", fmt.Sprint(seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-f", "mpegts", url)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// flood sends datagrams made by next from local address from until stop
// is closed.
func flood(t *testing.T, r *Receiver, from string, next func() []byte, stop chan struct{}) *sync.WaitGroup {
	t.Helper()
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)}, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(r.ListenAddr().String())))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer c.Close()
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				_, _ = c.Write(next())
			}
		}
	})
	t.Cleanup(wg.Wait)
	return &wg
}

func nullPackets() []byte {
	var d []byte
	for range 7 {
		p := make([]byte, packetSize)
		p[0], p[1], p[2], p[3] = syncByte, 0x1f, 0xff, 0x10
		d = append(d, p...)
	}
	return d
}

func garbage(rng *rand.Rand) func() []byte {
	return func() []byte {
		d := make([]byte, 1316)
		for i := range d {
			d[i] = byte(rng.Uint32())
		}
		if rng.IntN(2) == 0 {
			// Framed like TS, random PIDs and payloads.
			for i := 0; i < len(d); i += packetSize {
				d[i] = syncByte
			}
		}
		return d
	}
}

// colours decodes TS and returns each frame's average colour.
func colours(t *testing.T, ts []byte) [][3]byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "got.ts")
	if err := os.WriteFile(p, ts, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", p, "-vf", "scale=1:1", "-f", "rawvideo",
		"-pix_fmt", "rgb24", "-").Output()
	if err != nil {
		t.Fatalf("decode what was published: %v", err)
	}
	var c [][3]byte
	for i := 0; i+3 <= len(out); i += 3 {
		c = append(c, [3]byte{out[i], out[i+1], out[i+2]})
	}
	return c
}

// checkReal checks that the claims are all the real sender's (from
// 127.0.0.1, blue, 320x240) and hold nothing of the stranger's (red).
func checkReal(t *testing.T, h *hub, wantClaims int) {
	t.Helper()
	claims := h.claims()
	if len(claims) != wantClaims {
		t.Fatalf("%d claims, want %d", len(claims), wantClaims)
	}
	for i, f := range claims {
		f.mu.Lock()
		remote, info, ts := f.remote, f.info, bytes.Clone(f.buf.Bytes())
		f.mu.Unlock()
		if !strings.HasPrefix(remote, "127.0.0.1:") || info.Width != 320 {
			t.Errorf("claim %d by %s with %dx%d, want the real sender (127.0.0.1, 320x240)", i, remote, info.Width, info.Height)
		}
		frames := colours(t, ts)
		if len(frames) < 25 {
			t.Errorf("claim %d: %d frames published, want a few seconds' worth", i, len(frames))
		}
		for j, c := range frames {
			if c[0] > 60 || c[2] < 180 {
				t.Fatalf("claim %d frame %d has colour %v: not the real sender's blue", i, j, c)
			}
		}
	}
}

// TestStrangerFirst: a stranger sending first — null packets, junk, or a
// valid feed from outside the allow-list — does not claim the stream; the
// real sender does, and only its feed is published.
func TestStrangerFirst(t *testing.T) {
	tests := []struct {
		name     string
		mod      func(*Receiver)
		stranger func(t *testing.T, r *Receiver, stop chan struct{})
		check    func(t *testing.T, r *Receiver)
	}{
		{"null packets", nil, func(t *testing.T, r *Receiver, stop chan struct{}) {
			flood(t, r, "127.0.0.2", nullPackets, stop)
		}, nil},
		{"junk", nil, func(t *testing.T, r *Receiver, stop chan struct{}) {
			flood(t, r, "127.0.0.2", garbage(rand.New(rand.NewPCG(1, 2))), stop)
		}, func(t *testing.T, r *Receiver) {
			if r.JunkBytes.Load() == 0 {
				t.Error("junk not counted")
			}
		}},
		{"valid feed outside the allow-list", func(r *Receiver) {
			r.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		}, func(t *testing.T, r *Receiver, _ chan struct{}) {
			send(t, r, "127.0.0.2", "red", "160x120", 8)
		}, func(t *testing.T, r *Receiver) {
			if r.Denied.Load() == 0 {
				t.Error("datagrams from outside the allow-list not counted")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, h := startReceiver(t, tt.mod)
			stop := make(chan struct{})
			defer close(stop)
			tt.stranger(t, r, stop)
			time.Sleep(1500 * time.Millisecond) // the stranger is first
			if err := send(t, r, "127.0.0.1", "blue", "320x240", 3).Wait(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1500 * time.Millisecond) // past the idle timeout: the claim has ended
			checkReal(t, h, 1)
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

// TestStrangerDuringStream: a stranger sending a valid feed while the real
// sender publishes, and carrying on when the real encoder restarts on a
// new port, neither gets into the stream nor takes it over.
func TestStrangerDuringStream(t *testing.T) {
	r, h := startReceiver(t, func(r *Receiver) { r.Hold = 5 * time.Second })
	first := send(t, r, "127.0.0.1", "blue", "320x240", 3)
	time.Sleep(time.Second)
	send(t, r, "127.0.0.2", "red", "160x120", 10)
	if err := first.Wait(); err != nil {
		t.Fatal(err)
	}
	// The encoder restarts after its claim has ended (idle timeout 1 s),
	// within the hold; the stranger is still sending.
	time.Sleep(2 * time.Second)
	if err := send(t, r, "127.0.0.1", "blue", "320x240", 3).Wait(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	checkReal(t, h, 2)
	if r.Foreign.Load() == 0 {
		t.Error("the stranger's datagrams were not counted as foreign")
	}
}
