package srt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/feed"
)

const (
	goodKey = "cam.good-key"
	// Debian's ffmpeg 5.1 passes URL options on without decoding them.
	passphrase = "correct-horse-battery"
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

// recorder is a feed that keeps what it is given.
type recorder struct {
	mu      sync.Mutex
	info    *feed.Info
	data    bytes.Buffer
	ended   chan struct{}
	endErr  error
	started chan struct{}
}

func newRecorder() *recorder {
	return &recorder{ended: make(chan struct{}), started: make(chan struct{})}
}

func (r *recorder) Start(info feed.Info) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.info = &info
	close(r.started)
	return nil
}

func (r *recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.data.Write(b)
	return len(b), nil
}

func (r *recorder) End(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.endErr = err
	close(r.ended)
}

func (r *recorder) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.data.Bytes()...)
}

// hub hands out recorders and remembers whom it gave them to.
type hub struct {
	mu     sync.Mutex
	claims []string
	feeds  []*recorder
	busy   bool
}

func (h *hub) Claim(name, remote string) (feed.Feed, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy {
		return nil, feed.ErrBusy
	}
	h.claims = append(h.claims, name+" "+remote)
	r := newRecorder()
	h.feeds = append(h.feeds, r)
	return r, nil
}

func (h *hub) claimed() []*recorder {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*recorder(nil), h.feeds...)
}

// startServer starts a Server whose only key is goodKey (stream "cam").
func startServer(t *testing.T, mod func(*Server)) (*Server, *hub, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	h := &hub{}
	s := &Server{
		Addr:   "127.0.0.1:0",
		Verify: func(key string) (string, bool) { return "cam", key == goodKey },
		Hub:    h,
		Log:    slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter{t}), nil)),
	}
	if mod != nil {
		mod(s)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		start := time.Now()
		_ = s.Close()
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Close took %v", d)
		}
		if left := serverGoroutines(); left != "" {
			t.Errorf("goroutines of the package left after Close:\n%s", left)
		}
	})
	return s, h, logs
}

// serverGoroutines returns the stacks of goroutines running the package's
// code (not its tests). libsrt's own threads, which call into Go for the
// listen callback, stay while any server in the process runs, and are
// not counted.
func serverGoroutines() string {
	buf := make([]byte, 1<<20)
	var left []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if ownCode.MatchString(g) {
			left = append(left, g)
		}
	}
	return strings.Join(left, "\n\n")
}

var ownCode = regexp.MustCompile(`internal/live/srt/[a-z]+\.go:`)

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func (s *Server) url(query string) string {
	return "srt://" + s.ListenAddr().String() + "?" + query
}

// publishFFmpeg sends seconds of a generated 320x240 H.264/AAC feed to
// url with Debian's ffmpeg (built with libsrt) and returns its output and
// error.
func publishFFmpeg(t *testing.T, url string, seconds int) (string, error) {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
		"-t", fmt.Sprint(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac",
		"-f", "mpegts", url)
	return runBounded(cmd, time.Duration(seconds)*time.Second+20*time.Second)
}

// runBounded runs cmd, killing it after d.
func runBounded(cmd *exec.Cmd, d time.Duration) (string, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	t := time.AfterFunc(d, func() { _ = cmd.Process.Kill() })
	defer t.Stop()
	err := cmd.Wait()
	return out.String(), err
}

// gst is GStreamer's srtsink sending what the test writes to its stdin;
// closing stdin ends it.
type gst struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   bytes.Buffer
	done  chan struct{}
	err   error
	close func()
}

func startGst(t *testing.T, s *Server, props ...string) *gst {
	t.Helper()
	args := []string{"-q", "fdsrc", "fd=0", "!", "srtsink", "uri=srt://" + s.ListenAddr().String(), "sync=false",
		"auto-reconnect=false"}
	g := &gst{cmd: exec.Command("gst-launch-1.0", append(args, props...)...), done: make(chan struct{})}
	g.cmd.Stdout, g.cmd.Stderr = &g.out, &g.out
	var err error
	if g.in, err = g.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		g.err = g.cmd.Wait()
		close(g.done)
	}()
	g.close = sync.OnceFunc(func() {
		g.in.Close()
		select {
		case <-g.done:
		case <-time.After(10 * time.Second):
			_ = g.cmd.Process.Kill()
			<-g.done
		}
	})
	t.Cleanup(func() { _ = g.cmd.Process.Kill(); g.close() })
	return g
}

var (
	clipOnce sync.Once
	clipPath string
	clipErr  error
)

// tsClip is a 4 s 320x240 H.264/AAC MPEG-TS file made once per test run.
func tsClip(t *testing.T) []byte {
	t.Helper()
	clipOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hlsflow-srt-test-")
		if err != nil {
			clipErr = err
			return
		}
		clipPath = filepath.Join(dir, "clip.ts")
		out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
			"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
			"-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac",
			"-f", "mpegts", clipPath).CombinedOutput()
		if err != nil {
			clipErr = fmt.Errorf("make clip: %v\n%s", err, out)
		}
	})
	if clipErr != nil {
		t.Fatal(clipErr)
	}
	b, err := os.ReadFile(clipPath)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitChan(t *testing.T, what string, c <-chan struct{}, d time.Duration) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(d):
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

// TestFFmpegPublishes: ffmpeg publishes with the key (bare, and in SRT's
// access-control syntax, with and without encryption); the stream named by
// the key is claimed, described and fed whole TS packets, and ends cleanly
// when ffmpeg hangs up.
func TestFFmpegPublishes(t *testing.T) {
	tests := []struct {
		name, passphrase, query string
	}{
		{"bare key", "", "streamid=" + goodKey},
		{"access control syntax", "", "streamid=#!::r=" + goodKey + ",m=publish"},
		{"encrypted", passphrase, "streamid=" + goodKey + "&passphrase=" + passphrase + "&pbkeylen=32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, h, logs := startServer(t, func(s *Server) { s.Passphrase = tt.passphrase })
			if out, err := publishFFmpeg(t, s.url(tt.query), 3); err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, out)
			}
			feeds := h.claimed()
			if len(feeds) != 1 {
				t.Fatalf("%d claims, want 1", len(feeds))
			}
			r := feeds[0]
			waitChan(t, "end of the feed", r.ended, 5*time.Second)
			if r.endErr != nil {
				t.Errorf("feed ended with %v, want a clean end", r.endErr)
			}
			if r.info == nil || r.info.Width != 320 || r.info.Height != 240 || r.info.AudioCodec != "aac" {
				t.Fatalf("feed described as %+v", r.info)
			}
			data := r.bytes()
			if len(data) < 50<<10 || len(data)%packetSize != 0 {
				t.Fatalf("feed got %d bytes, want whole packets of about 3 s", len(data))
			}
			if info, err := feed.ProbeTS(data); err != nil || info.Width != 320 {
				t.Errorf("the bytes fed do not probe as the feed: %+v, %v", info, err)
			}
			if !strings.HasPrefix(h.claims[0], "cam 127.0.0.1:") {
				t.Errorf("claim %q, want stream cam from 127.0.0.1", h.claims[0])
			}
			if !strings.Contains(logs.String(), "srt: publishing") {
				t.Error("no publishing log line")
			}
		})
	}
}

// TestRefusedInHandshake: a caller with a wrong or missing key or
// passphrase, or asking to play, is rejected in the handshake (ffmpeg
// fails), and nothing is claimed.
func TestRefusedInHandshake(t *testing.T) {
	pass := "&passphrase=" + passphrase
	const plain, secret = "", passphrase
	tests := []struct {
		name   string
		server string // its passphrase
		query  string
		reason string // counted by our callback; "" when libsrt refuses
	}{
		{"wrong key", plain, "streamid=cam.bad-key", "bad stream key"},
		{"key of another stream", plain, "streamid=show.good-key", "bad stream key"},
		{"no streamid", plain, "latency=200000", "no stream key"},
		{"playback asked", plain, "streamid=#!::r=" + goodKey + ",m=request", "playback"},
		{"wrong passphrase", secret, "streamid=" + goodKey + "&passphrase=wrong-passphrase", ""},
		{"no passphrase", secret, "streamid=" + goodKey, ""},
		{"passphrase the server has not", plain, "streamid=" + goodKey + pass, ""},
		{"wrong key, right passphrase", secret, "streamid=cam.bad-key" + pass, "bad stream key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, h, _ := startServer(t, func(s *Server) { s.Passphrase = tt.server })
			start := time.Now()
			out, err := publishFFmpeg(t, s.url(tt.query+"&connect_timeout=3000"), 2)
			if err == nil {
				t.Fatalf("ffmpeg published:\n%s", out)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("refusal took %v", time.Since(start))
			}
			if tt.reason != "" && s.Refused.Load() == 0 {
				t.Errorf("refusal not counted (%s)", tt.reason)
			}
			if n := len(h.claimed()); n != 0 {
				t.Errorf("%d claims by a refused caller", n)
			}
		})
	}
}

// TestGStreamer: GStreamer's srtsink publishes with the key and the
// passphrase, and is refused with a wrong one.
func TestGStreamer(t *testing.T) {
	clip := tsClip(t)
	s, h, _ := startServer(t, func(s *Server) { s.Passphrase = passphrase })

	bad := startGst(t, s, "streamid="+goodKey, "passphrase=not-the-passphrase")
	_, _ = bad.in.Write(clip[:64<<10])
	bad.close()
	if bad.err == nil {
		t.Errorf("srtsink with a wrong passphrase succeeded:\n%s", bad.out.String())
	}
	badKey := startGst(t, s, "streamid=cam.forged", "passphrase="+passphrase)
	_, _ = badKey.in.Write(clip[:64<<10])
	badKey.close()
	if badKey.err == nil {
		t.Errorf("srtsink with a wrong key succeeded:\n%s", badKey.out.String())
	}
	if n := len(h.claimed()); n != 0 {
		t.Fatalf("%d claims by refused srtsinks", n)
	}

	g := startGst(t, s, "streamid="+goodKey, "passphrase="+passphrase, "pbkeylen=16")
	if _, err := g.in.Write(clip); err != nil {
		t.Fatalf("write to gst-launch: %v\n%s", err, g.out.String())
	}
	waitFor(t, "claim", 10*time.Second, func() bool { return len(h.claimed()) == 1 })
	r := h.claimed()[0]
	waitChan(t, "feed started", r.started, 10*time.Second)
	if r.info.Width != 320 || r.info.Height != 240 {
		t.Errorf("feed described as %+v", r.info)
	}
	waitFor(t, "the whole clip", 10*time.Second, func() bool { return len(r.bytes()) >= len(clip)*9/10 })
	g.close()
	waitChan(t, "end of the feed", r.ended, 10*time.Second)
	if !bytes.Equal(r.bytes(), clip[:len(r.bytes())]) {
		t.Error("the feed is not the clip that was sent")
	}
}

// TestStalledAndGarbageSessionsEnd: a publisher with a valid key that
// sends nothing, garbage, or a valid start and then nothing, is dropped
// after the probe or idle timeout, freeing its stream.
func TestStalledAndGarbageSessionsEnd(t *testing.T) {
	clip := tsClip(t)
	s, h, logs := startServer(t, func(s *Server) {
		s.ProbeTimeout, s.IdleTimeout = 2*time.Second, 2*time.Second
	})
	tests := []struct {
		name    string
		send    []byte
		started bool
		log     string
	}{
		{"silent", nil, false, "no feed description"},
		{"garbage", bytes.Repeat([]byte("not mpeg-ts \x47"), 20000), false, "no feed description"},
		{"stalls after its start", clip[:len(clip)/2], true, "no MPEG-TS from the publisher"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := startGst(t, s, "streamid="+goodKey)
			if tt.send != nil {
				if _, err := g.in.Write(tt.send); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, "claim", 10*time.Second, func() bool { return len(h.claimed()) == i+1 })
			r := h.claimed()[i]
			start := time.Now()
			waitChan(t, "the server to drop the publisher", r.ended, 10*time.Second)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("dropped after %v", d)
			}
			if r.endErr == nil {
				t.Error("feed ended without an error")
			}
			if (r.info != nil) != tt.started {
				t.Errorf("feed started: %v, want %v", r.info != nil, tt.started)
			}
			if !strings.Contains(logs.String(), tt.log) {
				t.Errorf("no log line saying %q", tt.log)
			}
			g.close()
		})
	}
	if s.JunkBytes.Load() == 0 {
		t.Error("garbage not counted")
	}
}

// TestPerAddressCap: a second publisher from one address is refused in the
// handshake at MaxConnsPerAddr 1, while another address would still get
// in.
func TestPerAddressCap(t *testing.T) {
	s, h, logs := startServer(t, func(s *Server) { s.MaxConnsPerAddr = 1 })
	first := startGst(t, s, "streamid="+goodKey)
	waitFor(t, "first claim", 10*time.Second, func() bool { return len(h.claimed()) == 1 })
	out, err := publishFFmpeg(t, s.url("streamid="+goodKey+"&connect_timeout=3000"), 2)
	if err == nil {
		t.Fatalf("second publisher from 127.0.0.1 accepted:\n%s", out)
	}
	if !strings.Contains(logs.String(), "too many connections from this address") {
		t.Error("refusal not logged")
	}
	// The clients here cannot choose their source address; the decision
	// for others is the callback's, asked directly.
	for _, from := range []string{"127.0.0.2:4000", "[2001:db8:0:1::5]:4000"} {
		if code := s.check(5, netip.MustParseAddrPort(from), goodKey); code != 0 {
			t.Errorf("caller from %s refused (%d) while 127.0.0.1 holds its one connection", from, code)
		}
	}
	if code := s.check(5, netip.MustParseAddrPort("[::ffff:127.0.0.1]:4000"), goodKey); code != rejectOverload {
		t.Errorf("127.0.0.1 as an IPv4-mapped address: %d, want %d", code, rejectOverload)
	}
	first.close()
	if n := len(h.claimed()); n != 1 {
		t.Errorf("%d claims, want 1", n)
	}
}

// TestBusyStream: a publisher with the key of a stream that has one
// already is dropped after the handshake.
func TestBusyStream(t *testing.T) {
	s, h, logs := startServer(t, nil)
	h.mu.Lock()
	h.busy = true
	h.mu.Unlock()
	if out, err := publishFFmpeg(t, s.url("streamid="+goodKey), 3); err == nil {
		t.Errorf("publisher to a busy stream succeeded:\n%s", out)
	}
	if !strings.Contains(logs.String(), "publish refused") {
		t.Error("refusal not logged")
	}
}

// TestCloseWhilePublishing: Close drops a live publisher and returns
// within its bound (startServer's cleanup checks the time and goroutines).
func TestCloseWhilePublishing(t *testing.T) {
	clip := tsClip(t)
	s, h, _ := startServer(t, nil)
	g := startGst(t, s, "streamid="+goodKey)
	_, _ = g.in.Write(clip)
	waitFor(t, "claim", 10*time.Second, func() bool { return len(h.claimed()) == 1 })
	r := h.claimed()[0]
	waitChan(t, "start", r.started, 10*time.Second)
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	select {
	case <-r.ended:
		if !errors.Is(r.endErr, errClosed) {
			t.Errorf("feed ended with %v, want %v", r.endErr, errClosed)
		}
	default:
		t.Error("Close returned before the feed ended")
	}
	g.close()
}

// TestFailedStartLeavesOthersRunning: a server that cannot bind (the port
// is taken) fails to start, and closing it does not take the library away
// from the one running.
func TestFailedStartLeavesOthersRunning(t *testing.T) {
	s, h, _ := startServer(t, nil)
	taken := &Server{Addr: s.ListenAddr().String(), Verify: s.Verify, Hub: &hub{}, Log: s.Log}
	if err := taken.Start(); err == nil {
		taken.Close()
		t.Fatal("a second server started on a port in use")
	}
	if err := taken.Close(); err != nil {
		t.Fatal(err)
	}
	if out, err := publishFFmpeg(t, s.url("streamid="+goodKey), 2); err != nil {
		t.Fatalf("publish after the failed start: %v\n%s", err, out)
	}
	if n := len(h.claimed()); n != 1 {
		t.Errorf("%d claims, want 1", n)
	}
}
