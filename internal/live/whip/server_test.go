package whip

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/hlsflow/hlsflow/internal/live/feed"
	"github.com/hlsflow/hlsflow/internal/live/whip/whiptest"
)

// Keys of the tests: "{name}.good" is name's key.
func verify(key string) (string, bool) {
	name, sig, ok := strings.Cut(key, ".")
	return name, ok && sig == "good" && name != ""
}

// recorder is a feed that keeps what it is given.
type recorder struct {
	mu      sync.Mutex
	info    *feed.Info
	data    bytes.Buffer
	ended   chan struct{}
	endErr  error
	started chan struct{}
	release func()
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
	r.endErr = err
	r.mu.Unlock()
	r.release()
	close(r.ended)
}

func (r *recorder) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.data.Bytes()...)
}

func (r *recorder) wasStarted() bool {
	select {
	case <-r.started:
		return true
	default:
		return false
	}
}

// hub hands out recorders, one publisher per stream at a time, as the
// ingest does.
type hub struct {
	mu     sync.Mutex
	active map[string]bool
	feeds  []*recorder
}

func (h *hub) Claim(name, _ string) (feed.Feed, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.active == nil {
		h.active = map[string]bool{}
	}
	if h.active[name] {
		return nil, feed.ErrBusy
	}
	h.active[name] = true
	r := &recorder{ended: make(chan struct{}), started: make(chan struct{}), release: func() {
		h.mu.Lock()
		delete(h.active, name)
		h.mu.Unlock()
	}}
	h.feeds = append(h.feeds, r)
	return r, nil
}

func (h *hub) claimed() []*recorder {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*recorder(nil), h.feeds...)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

type fixture struct {
	s   *Server
	hub *hub
	url string // the endpoint's base: url + "/whip/" + name
}

// start runs a Server on loopback behind an httptest server; cleanup
// closes it and checks that no goroutine is left.
func start(t *testing.T, mod func(*Server)) *fixture {
	t.Helper()
	before := runtime.NumGoroutine()
	h := &hub{}
	s := &Server{Verify: verify, Hub: h, UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0",
		Log: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
	if mod != nil {
		mod(s)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		begin := time.Now()
		_ = s.Close()
		if d := time.Since(begin); d > 3*time.Second {
			t.Errorf("Close took %v", d)
		}
		hs.Close()
		http.DefaultClient.CloseIdleConnections()
		for _, r := range h.claimed() {
			select {
			case <-r.ended:
			default:
				t.Error("a claimed feed was never ended")
			}
		}
		checkGoroutines(t, before)
	})
	return &fixture{s: s, hub: h, url: hs.URL}
}

// checkGoroutines fails t unless the goroutines come back to before
// (pion's own stop within a few seconds of Close).
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Errorf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (f *fixture) endpoint(name string) string { return f.url + "/whip/" + name }

var (
	clipOnce sync.Once
	clip     whiptest.Clip
)

// testClip is a 4 s 320x240 clip made once for the package.
func testClip(t *testing.T) whiptest.Clip {
	clipOnce.Do(func() {
		dir, err := os.MkdirTemp("", "whip-clip-")
		if err != nil {
			t.Fatal(err)
		}
		clip = whiptest.MakeClipIn(t, dir, 320, 240, 4)
	})
	return clip
}

func TestMain(m *testing.M) {
	code := m.Run()
	if clip.H264 != "" {
		os.RemoveAll(filepath.Dir(clip.H264))
	}
	os.Exit(code)
}

func wait(t *testing.T, c <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(d):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// TestPublish: a pion client publishes H.264 and Opus; the feed is
// described from the SPS, gets MPEG-TS that ffprobe reads as H.264 and
// Opus of the right length, and the publisher's DELETE ends it cleanly.
func TestPublish(t *testing.T) {
	for _, tc := range []struct {
		name string
		tcp  bool
	}{{"udp", false}, {"tcp", true}} {
		t.Run(tc.name, func(t *testing.T) {
			f := start(t, nil)
			p, err := whiptest.Publish(context.Background(), f.endpoint("cam"), "cam.good", testClip(t),
				whiptest.Options{SendFor: 3 * time.Second, TCP: tc.tcp})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(p.Location, f.url+"/whip/cam/") {
				t.Errorf("Location %q, want under %s/whip/cam/", p.Location, f.url)
			}
			feeds := f.hub.claimed()
			if len(feeds) != 1 {
				t.Fatalf("%d feeds claimed, want 1", len(feeds))
			}
			r := feeds[0]
			wait(t, r.started, 10*time.Second, "the feed to start")
			if got := *r.info; got.Width != 320 || got.Height != 240 || got.VideoCodec != "h264" || got.AudioCodec != "opus" {
				t.Errorf("feed info %+v, want 320x240 h264 with opus", got)
			}
			wait(t, p.Sent(), 10*time.Second, "the clip to be sent")
			if err := p.Err(); err != nil {
				t.Fatal(err)
			}
			if err := p.Close(true); err != nil {
				t.Fatal(err)
			}
			wait(t, r.ended, 5*time.Second, "the feed to end")
			if r.endErr != nil {
				t.Errorf("the feed ended with %v after DELETE, want a clean end", r.endErr)
			}
			streams, dur := probe(t, r.bytes())
			if streams != "h264,opus" && streams != "opus,h264" {
				t.Errorf("the TS holds %q, want h264 and opus", streams)
			}
			if dur < 2 || dur > 4 {
				t.Errorf("the TS lasts %.2f s, want about 3", dur)
			}
			if n := f.s.Sessions(); n != 0 {
				t.Errorf("%d sessions after DELETE", n)
			}
		})
	}
}

// probe runs ffprobe on ts and returns its streams' codecs and its
// duration in seconds.
func probe(t *testing.T, ts []byte) (string, float64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "feed.ts")
	if err := os.WriteFile(path, ts, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=duration",
		"-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var res struct {
		Streams []struct {
			Codec string `json:"codec_name"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ffprobe said %q: %v", out, err)
	}
	var codecs []string
	for _, s := range res.Streams {
		codecs = append(codecs, s.Codec)
	}
	dur, _ := strconv.ParseFloat(res.Format.Duration, 64)
	return strings.Join(codecs, ","), dur
}

// TestRefused: offers without the stream's key, or that are not an SDP
// offer with media, are refused with the status WHIP clients show, before
// any session: nothing is claimed.
func TestRefused(t *testing.T) {
	f := start(t, func(s *Server) { s.MaxOffer = 8 << 10 })
	// A real offer, so that only the one thing each case changes is wrong.
	offer := realOffer(t)
	for _, tc := range []struct {
		name, stream, token, ctype string
		body                       []byte
		want                       int
	}{
		{"no token", "cam", "", "application/sdp", offer, http.StatusUnauthorized},
		{"wrong key", "cam", "cam.bad", "application/sdp", offer, http.StatusUnauthorized},
		{"another stream's key", "cam", "other.good", "application/sdp", offer, http.StatusUnauthorized},
		{"not sdp", "cam", "cam.good", "text/plain", offer, http.StatusUnsupportedMediaType},
		{"garbage", "cam", "cam.good", "application/sdp", []byte("\x00\x01 not an offer at all\r\n"), http.StatusBadRequest},
		{"no media", "cam", "cam.good", "application/sdp", []byte("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"), http.StatusBadRequest},
		{"too large", "cam", "cam.good", "application/sdp", append(append([]byte{}, offer...), bytes.Repeat([]byte("a=x-junk:0123456789\r\n"), 1000)...), http.StatusRequestEntityTooLarge},
		{"no ice", "cam", "cam.good", "application/sdp", stripICE(offer), http.StatusBadRequest},
		{"vp9 only", "cam", "cam.good", "application/sdp", offerOf(t, webrtc.MimeTypeVP9), http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := whiptest.Post(context.Background(), f.endpoint(tc.stream), tc.token, tc.ctype, tc.body)
			var se *whiptest.StatusError
			if !errors.As(err, &se) || se.Code != tc.want {
				t.Fatalf("got %v, want status %d", err, tc.want)
			}
			if why := map[string]string{"garbage": "not SDP", "vp9 only": "neither H.264 or VP8", "no media": "no audio or video"}[tc.name]; why != "" && !strings.Contains(se.Body, why) {
				t.Errorf("refusal %q does not say %q", se.Body, why)
			}
		})
	}
	if n := len(f.hub.claimed()); n != 0 {
		t.Errorf("%d feeds claimed by refused offers", n)
	}
	if n := f.s.Sessions(); n != 0 {
		t.Errorf("%d sessions after refused offers", n)
	}
	if f.s.Refused.Load() < 8 {
		t.Errorf("Refused = %d, want every refusal counted", f.s.Refused.Load())
	}
}

// realOffer is a browser-like offer (pion's), with its candidates.
func realOffer(t *testing.T) []byte {
	t.Helper()
	o, err := whiptest.Offer("")
	if err != nil {
		t.Fatal(err)
	}
	return []byte(o)
}

// offerOf is an offer of video alone in codec mime alone.
func offerOf(t *testing.T, mime string) []byte {
	t.Helper()
	o, err := whiptest.Offer(mime)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(o)
}

func stripICE(offer []byte) []byte {
	var out []string
	for _, l := range strings.Split(string(offer), "\r\n") {
		if !strings.HasPrefix(l, "a=ice-") && !strings.HasPrefix(l, "a=fingerprint") {
			out = append(out, l)
		}
	}
	return []byte(strings.Join(out, "\r\n"))
}

// TestOneSessionPerStreamAndLimits: a second publisher to a live stream
// gets 409; past the per-address cap 429; the first publishes on.
func TestOneSessionPerStreamAndLimits(t *testing.T) {
	f := start(t, func(s *Server) { s.MaxSessionsPerAddr = 2 })
	first, err := whiptest.Publish(context.Background(), f.endpoint("cam"), "cam.good", testClip(t), whiptest.Options{SendFor: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close(true)
	_, err = whiptest.Publish(context.Background(), f.endpoint("cam"), "cam.good", testClip(t), whiptest.Options{SendFor: time.Minute})
	var se *whiptest.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusConflict {
		t.Fatalf("second publisher to cam: %v, want 409", err)
	}
	other, err := whiptest.Publish(context.Background(), f.endpoint("two"), "two.good", testClip(t), whiptest.Options{SendFor: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(true)
	_, err = whiptest.Publish(context.Background(), f.endpoint("three"), "three.good", testClip(t), whiptest.Options{SendFor: time.Minute})
	if !errors.As(err, &se) || se.Code != http.StatusTooManyRequests {
		t.Fatalf("third session from one address: %v, want 429", err)
	}
	wait(t, f.hub.claimed()[0].started, 10*time.Second, "the first feed to start")
	select {
	case <-f.hub.claimed()[0].ended:
		t.Fatal("the first publisher was disturbed")
	default:
	}
}

// TestStall: a publisher that stops sending, or never connects, is
// dropped after its timeout: the feed ends with an error, the session is
// gone, and (the fixture checks) no goroutine is left.
func TestStall(t *testing.T) {
	f := start(t, func(s *Server) { s.IdleTimeout, s.ConnectTimeout = time.Second, 2*time.Second })
	p, err := whiptest.Publish(context.Background(), f.endpoint("cam"), "cam.good", testClip(t), whiptest.Options{SendFor: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(false)
	// An offer whose publisher never answers ICE.
	offer := realOffer(t)
	if _, _, err := whiptest.Post(context.Background(), f.endpoint("ghost"), "ghost.good", "application/sdp", offer); err != nil {
		t.Fatal(err)
	}
	feeds := f.hub.claimed()
	if len(feeds) != 2 {
		t.Fatalf("%d feeds, want 2", len(feeds))
	}
	stalled, ghost := feeds[0], feeds[1]
	wait(t, stalled.started, 10*time.Second, "the feed to start")
	wait(t, stalled.ended, 10*time.Second, "the stalled feed to end")
	if !errors.Is(stalled.endErr, errIdle) {
		t.Errorf("stalled feed ended with %v, want %v", stalled.endErr, errIdle)
	}
	wait(t, ghost.ended, 10*time.Second, "the ghost feed to end")
	if !errors.Is(ghost.endErr, errNoConnect) || ghost.wasStarted() {
		t.Errorf("ghost feed ended with %v (started %v), want %v without a start", ghost.endErr, ghost.wasStarted(), errNoConnect)
	}
	if n := noSessions(f.s); n != 0 {
		t.Errorf("%d sessions after the stalls", n)
	}
}

// TestGarbageMedia: a publisher with the key whose video is random bytes
// is dropped once the probe budget is spent, its feed never started (no
// transcoder), and nothing is left (the fixture checks).
func TestGarbageMedia(t *testing.T) {
	f := start(t, func(s *Server) { s.ProbeTimeout = 2 * time.Second })
	p, err := whiptest.Publish(context.Background(), f.endpoint("cam"), "cam.good", testClip(t),
		whiptest.Options{SendFor: time.Minute, Garbage: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(false)
	r := f.hub.claimed()[0]
	wait(t, r.ended, 15*time.Second, "the garbage feed to end")
	if r.wasStarted() || !errors.Is(r.endErr, feed.ErrUnsupported) {
		t.Errorf("garbage feed: started %v, ended with %v; want never started, %v", r.wasStarted(), r.endErr, feed.ErrUnsupported)
	}
	if n := noSessions(f.s); n != 0 {
		t.Errorf("%d sessions after the garbage publisher", n)
	}
}

// TestCloseEndsSessions: Close drops live publishers; their feeds end
// with an error, within the fixture's bound on Close.
func TestCloseEndsSessions(t *testing.T) {
	f := start(t, nil)
	p, err := whiptest.Publish(context.Background(), f.endpoint("cam"), "cam.good", testClip(t), whiptest.Options{SendFor: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(false)
	r := f.hub.claimed()[0]
	wait(t, r.started, 10*time.Second, "the feed to start")
	_ = f.s.Close()
	wait(t, r.ended, time.Second, "the feed to end")
	if !errors.Is(r.endErr, errClosed) {
		t.Errorf("feed ended with %v, want %v", r.endErr, errClosed)
	}
	_, _, err = whiptest.Post(context.Background(), f.endpoint("cam"), "cam.good", "application/sdp", realOffer(t))
	var se *whiptest.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusServiceUnavailable {
		t.Errorf("offer after Close: %v, want 503", err)
	}
}

// TestHTTPMethods: browsers' preflight gets CORS, PATCH (trickle) 405,
// DELETE without the key 401 and of an unknown session 404.
func TestHTTPMethods(t *testing.T) {
	f := start(t, nil)
	do := func(method, path, token string) *http.Response {
		req, _ := http.NewRequest(method, f.url+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := do(http.MethodOptions, "/whip/cam", "")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := do(http.MethodPatch, "/whip/cam/abc", "cam.good"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PATCH: %d, want 405", resp.StatusCode)
	}
	if resp := do(http.MethodDelete, "/whip/cam/abc", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("DELETE without key: %d, want 401", resp.StatusCode)
	}
	if resp := do(http.MethodDelete, "/whip/cam/abc", "cam.good"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("DELETE of no session: %d, want 404", resp.StatusCode)
	}
}

// TestPublicIPs: with PublicIPs (a load balancer's, NAT 1:1) the answer's
// candidates carry them instead of the listeners' own addresses, and the
// publisher reaches the endpoint through them.
func TestPublicIPs(t *testing.T) {
	// Bound on every interface, reached at 127.0.0.2: an address the
	// listeners do not name themselves.
	f := start(t, func(s *Server) { s.UDPAddr, s.TCPAddr, s.PublicIPs = "0.0.0.0:0", "", []string{"127.0.0.2"} })
	answer, loc, err := whiptest.Post(context.Background(), f.endpoint("ghost"), "ghost.good", "application/sdp", realOffer(t))
	if err != nil {
		t.Fatal(err)
	}
	var cands []string
	for _, l := range strings.Split(string(answer), "\r\n") {
		if strings.HasPrefix(l, "a=candidate:") {
			cands = append(cands, l)
		}
	}
	if len(cands) == 0 {
		t.Fatalf("no candidates in the answer:\n%s", answer)
	}
	for _, c := range cands {
		if !strings.Contains(c, " 127.0.0.2 ") {
			t.Errorf("candidate %q does not carry the public address", c)
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, f.url+loc, nil)
	req.Header.Set("Authorization", "Bearer ghost.good")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	p, err := whiptest.Publish(context.Background(), f.endpoint("cam"), "cam.good", testClip(t), whiptest.Options{SendFor: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(true)
	wait(t, f.hub.claimed()[1].started, 15*time.Second, "the feed to start through the public address")
}

// noSessions waits a moment for the server to drop sessions whose feeds
// ended (the session goes a little after its feed) and returns how many
// are left.
func noSessions(s *Server) int {
	deadline := time.Now().Add(5 * time.Second)
	for s.Sessions() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return s.Sessions()
}
