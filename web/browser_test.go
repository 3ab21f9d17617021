package web_test

// Browser tests of the page: headless Chromium (chromedp) on the page as
// the edge serves it, on the whole local system as `hlsflow up` runs it
// (internal/system): the real API, S3 with its bucket events, and the
// transcoder run for every new upload.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hlsflow/hlsflow/internal/api"
	"github.com/hlsflow/hlsflow/internal/live/ingest"
	"github.com/hlsflow/hlsflow/internal/live/keys"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/playsign"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/system"
	"github.com/hlsflow/hlsflow/internal/testenv"
	"github.com/hlsflow/hlsflow/web/webtest"
)

const (
	browserToken = "browser-test-token-0123"
	partSize     = 5 << 20
)

// stack is the whole system on loopback ports, with the page served under
// the strict Content-Security-Policy the edge sends (plus a report-uri, so
// that every violation fails the test), and /api/* reached as CloudFront
// reaches it on AWS (see cloudFront).
type stack struct {
	url     string
	store   *store.Store
	uploads string
	s3      *flakyProxy // with options.flakyS3
}

// options choose the optional parts of a stack.
type options struct {
	live    bool // run the RTMP ingest
	whip    bool // run the WHIP endpoint
	flakyS3 bool // the browser reaches S3 through a flakyProxy
	signed  bool // signed playback (hlsflow up --signed-playback)

	// env adds to or overrides the transcoder's fast settings.
	env map[string]string
}

// newStack starts the system; the test's cleanup stops it. The local S3
// is one per process, so tests using a stack never run in parallel.
func newStack(t *testing.T, opt options) *stack {
	t.Helper()
	signer, err := keys.New([]byte("browser-test-secret-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	csp := &cspReports{}
	env := map[string]string{"X264_PRESET": "ultrafast", "LADDER_RUNGS": "540p,480p"}
	maps.Copy(env, opt.env)
	cfg := system.Config{
		DataDir: t.TempDir(), S3Addr: testenv.FreeAddr(t), EdgeAddr: testenv.FreeAddr(t),
		UploadsBucket: "uploads", MediaBucket: "media",
		AccessKey: "test", SecretKey: "test", Keys: signer,
		EdgeCacheBytes: -1,
		// Fast encodes of two rungs at most.
		Getenv: func(k string) string { return env[k] },
		API:    api.Config{Token: browserToken, MultipartThreshold: partSize, PartSize: partSize},
		Live:   ingest.Config{Preset: "ultrafast", Threads: 1, MaxRungs: 1, SegmentSeconds: 1, Grace: time.Second},
		Front:  csp.wrap,
		Log:    slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if opt.live {
		cfg.RTMPAddr = testenv.FreeAddr(t)
	}
	if opt.signed {
		k, err := playsign.LoadDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		cfg.Playback = &k
	}
	if opt.whip {
		cfg.WHIPAddr = testenv.FreeAddr(t) // UDP and TCP on that number
	}
	st := &stack{url: "http://" + cfg.EdgeAddr, uploads: cfg.UploadsBucket}
	if opt.flakyS3 {
		// Presigned uploads name the proxy, so the page's PUTs cross it.
		st.s3 = newFlakyProxy(t, cfg.S3Addr, 1<<20)
		cfg.API.ByHost = func(string) api.Addresses {
			return api.Addresses{PublicURL: st.url, S3: "http://" + st.s3.Addr()}
		}
	}
	sys, err := system.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sys.Close(context.Background()); err != nil {
			t.Errorf("stop the system: %v", err)
		}
		if r := csp.all(); len(r) > 0 {
			t.Errorf("the page broke its Content-Security-Policy:\n%s", strings.Join(r, "\n"))
		}
		if csp.served.Load() == 0 {
			t.Error("no request crossed the CSP and CloudFront stand-in")
		}
	})
	st.store = sys.Store()
	return st
}

// cspReports serves a handler under the page's own policy and collects the browser's
// violation reports, and the requests CloudFront would have refused.
type cspReports struct {
	mu      sync.Mutex
	reports []string
	served  atomic.Int64 // requests that crossed wrap: proof that it stands in front
}

func (c *cspReports) report(s string) {
	c.mu.Lock()
	c.reports = append(c.reports, s)
	c.mu.Unlock()
}

func (c *cspReports) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.served.Add(1)
		if r.URL.Path == "/csp-report" {
			b, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
			c.report(string(b))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/") && !c.cloudFront(w, r) {
			return
		}
		h.ServeHTTP(&reportingWriter{ResponseWriter: w}, r)
	})
}

// reportingWriter adds a report-uri to the Content-Security-Policy the
// page is served with (web.HandlerFor's, the product's own), so the test
// hears of every violation of the real policy.
type reportingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *reportingWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if csp := w.Header().Get("Content-Security-Policy"); csp != "" {
			w.Header().Set("Content-Security-Policy", csp+"; report-uri /csp-report")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *reportingWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// cloudFront does to an /api/* request what CloudFront does on AWS
// (infra/apirequest.js, then origin access control): a POST or PUT
// without the hex SHA-256 of its body in x-amz-content-sha256 is refused
// (and reported: the page must always send it), the viewer's
// Authorization moves to X-Hlsflow-Authorization, and Authorization
// becomes CloudFront's signature. It reports whether to go on.
func (c *cspReports) cloudFront(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return false
		}
		sum := sha256.Sum256(body)
		if got := r.Header.Get("x-amz-content-sha256"); got != hex.EncodeToString(sum[:]) {
			c.report(fmt.Sprintf("%s %s: x-amz-content-sha256 %q is not the SHA-256 of its %d-byte body", r.Method, r.URL.Path, got, len(body)))
			http.Error(w, `{"error":"x-amz-content-sha256 missing or wrong"}`, http.StatusBadRequest)
			return false
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.Header.Del(api.ForwardedAuthorization)
	if a := r.Header.Get("Authorization"); a != "" {
		r.Header.Set(api.ForwardedAuthorization, a)
	}
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=CLOUDFRONT/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=00")
	return true
}

func (c *cspReports) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.reports)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestPageUploadAndPlay(t *testing.T) {
	sys := newStack(t, options{})
	page := webtest.Open(t, sys.url+"/")
	page.SignIn(browserToken)

	// A real camera clip: small enough for one presigned PUT.
	clip := testenv.Media(t, "02_flower_960x540_h264_aac.mp4")
	name := page.UploadReady(clip)

	// Play it: hls.js loads the ladder, the picker lists the renditions
	// and the bitrate being played is shown.
	page.PlayCard(name)
	page.Wait("playback", `document.getElementById('player').currentTime > 1`, 60*time.Second)
	if n := page.String(`String(document.getElementById('rendition').options.length)`); n != "3" {
		t.Errorf("rendition picker has %s options, want Auto + 2 renditions", n)
	}
	if br := page.String(`document.getElementById('bitrate').textContent`); !strings.Contains(br, "Mbps") {
		t.Errorf("bitrate shown %q, want a Mbps figure", br)
	}
	checkCodecShown(t, page)
	// Pick a rendition by hand: the shown bitrate is no longer "auto".
	page.Do(chromedp.SetValue(chromedp.CSS("#rendition"), "1"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('rendition').dispatchEvent(new Event('change'))`))
	page.Wait("manual rendition", `!document.getElementById('bitrate').textContent.includes('auto')`, 10*time.Second)

	// A larger file goes up as a multipart upload, parts in parallel.
	big := filepath.Join(t.TempDir(), "noisy clip.mp4")
	out, err := exec.Command(media.FFmpegPath(), "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=480x270:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
		"-t", "3", "-vf", "noise=alls=30:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "12",
		"-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", big).CombinedOutput()
	if err != nil {
		t.Fatalf("make test clip: %v: %s", err, out)
	}
	if fi, err := os.Stat(big); err != nil || fi.Size() <= partSize {
		t.Fatalf("test clip must exceed one part (%d bytes): %v", partSize, err)
	}
	page.Choose(big)
	page.Wait("multipart upload finished", `document.querySelectorAll('[data-testid=upload].done').length === 2`, 60*time.Second)
	page.Wait("multipart video ready", webtest.CardState("noisy clip.mp4")+` === 'ready'`, 3*time.Minute)
}

func TestPageShowsFailures(t *testing.T) {
	sys := newStack(t, options{})
	page := webtest.Open(t, sys.url+"/")
	page.SignIn(browserToken)
	dir := t.TempDir()

	// Refused before any byte is sent: not a video type.
	notes := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notes, []byte("not a video"), 0o644); err != nil {
		t.Fatal(err)
	}
	page.Choose(notes)
	page.Wait("type refusal shown", `[...document.querySelectorAll('[data-testid=upload] .error')].some(e => !e.hidden && e.textContent.includes('not a video type'))`, 20*time.Second)

	// Accepted and uploaded, but the transcoder finds it is no video: the
	// library shows the failure and its reason, not a spinner.
	broken := filepath.Join(dir, "broken.mp4")
	if err := os.WriteFile(broken, []byte(strings.Repeat("this is not an mp4 file ", 400)), 0o644); err != nil {
		t.Fatal(err)
	}
	page.Choose(broken)
	page.Wait("failed video in the library", webtest.CardState("broken.mp4")+` === 'failed'`, 2*time.Minute)
	msg := page.String(`[...document.querySelectorAll('#library li.card[data-state=failed] [data-testid=error]')].map(e => e.textContent).join('|')`)
	if strings.TrimSpace(msg) == "" || msg == "Processing failed." {
		t.Errorf("failed video shows no reason: %q", msg)
	}
}

// A newer upload under the key of a ready video: the card says the
// version shown keeps playing, and after the newer one failed, why.
func TestPageShowsReplacement(t *testing.T) {
	sys := newStack(t, options{})
	ctx := context.Background()
	key := "replace/me.mp4"
	if err := sys.store.PutFile(ctx, sys.uploads, key, testenv.Media(t, "14_t_rex_roar_audio_only.mp3"), store.Object{ContentType: "audio/mpeg"}); err != nil {
		t.Fatal(err)
	}
	page := webtest.Open(t, sys.url+"/")
	page.SignIn(browserToken)
	page.Wait("the first version ready", `[...document.querySelectorAll('#library li.card')].some(c => c.dataset.state === 'ready')`, 2*time.Minute)

	time.Sleep(1100 * time.Millisecond) // a new LastModified for the same key
	if err := sys.store.PutBytes(ctx, sys.uploads, key, []byte(strings.Repeat("not a video at all ", 100)), store.Object{ContentType: "video/mp4"}); err != nil {
		t.Fatal(err)
	}
	page.Wait("the failed replacement shown", `[...document.querySelectorAll('#library li.card[data-state=ready] [data-testid=replacement]')].some(e => e.textContent.includes('still plays'))`, 2*time.Minute)
	if n := page.String(`String(document.querySelectorAll('#library li.card[data-state=ready] [data-testid=play]').length)`); n != "1" {
		t.Errorf("%s play buttons on ready cards after the failed replacement; want the old version's 1", n)
	}
}

func TestPageLiveStream(t *testing.T) {
	sys := newStack(t, options{live: true})
	page := webtest.Open(t, sys.url+"/")
	page.SignIn(browserToken)

	// Create the stream through the page, which sends the API token.
	page.Do(
		chromedp.Evaluate[chromedp.Void](`document.querySelector('.live-section details').open = true`),
		chromedp.SendKeys(chromedp.CSS("#stream-name"), "studio-1"),
		chromedp.Click(chromedp.CSS("#stream-form button")),
	)
	page.Wait("publish URL shown", `!document.getElementById('stream-created').hidden`, 10*time.Second)
	publish := page.String(`document.getElementById('publish-url').textContent`)
	if !strings.HasPrefix(publish, "rtmp://127.0.0.1:") || !strings.Contains(publish, "/live/studio-1.") {
		t.Fatalf("publish URL %q", publish)
	}
	page.Wait("idle stream listed", `document.querySelector('#streams li[data-name="studio-1"]') !== null`, 10*time.Second)

	// Publish with ffmpeg, as OBS would.
	ctx, cancel := context.WithCancel(context.Background())
	ff := exec.CommandContext(ctx, media.FFmpegPath(), "-hide_banner", "-nostdin", "-loglevel", "error",
		"-re", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
		"-t", "60", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-f", "flv", publish)
	if err := ff.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = ff.Wait() })

	page.Wait("LIVE badge in the list", `(() => { const li = document.querySelector('#streams li[data-name="studio-1"]'); return !!li && li.dataset.state === 'live' && li.querySelector('.badge.live') !== null; })()`, 60*time.Second)
	page.Click(`#streams li[data-name="studio-1"] [data-testid=watch]`)
	page.Wait("live playback", `document.getElementById('player').currentTime > 1`, 60*time.Second)
	if hidden := page.String(`String(document.getElementById('live-badge').hidden)`); hidden != "false" {
		t.Error("the player shows no LIVE badge")
	}
	// The latency shown is now less the program date time of the frame on
	// screen: positive, and within the live window of a real-time feed.
	page.Wait("latency shown", `!document.getElementById('latency').hidden`, 20*time.Second)
	if s := page.String(`document.getElementById('latency').dataset.seconds`); s == "" {
		t.Error("no latency figure")
	} else if lat, err := strconv.ParseFloat(s, 64); err != nil || lat <= 0 || lat > 15 {
		t.Errorf("latency shown %q s; want a positive figure below 15 s", s)
	}
	if strings.Contains(page.String(`JSON.stringify(document.querySelector('#streams').innerHTML)`), publish[strings.LastIndex(publish, "/")+1:]) {
		t.Error("the stream list shows the secret key")
	}
}

// A network failure in the middle of a multipart upload: the page retries
// the parts that failed and finishes without starting over.
func TestPageUploadResumesAfterNetworkError(t *testing.T) {
	sys := newStack(t, options{flakyS3: true})
	proxy := sys.s3
	page := webtest.Open(t, sys.url+"/")
	page.SignIn(browserToken)

	big := filepath.Join(t.TempDir(), "resume.mp4")
	data := make([]byte, 2*partSize+4096)
	for i := range data {
		data[i] = byte(i*31 + i>>11)
	}
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	page.Choose(big)
	// Both parts are under way (about 1 MB/s each): drop the network.
	page.Wait("upload under way", `(() => { const b = document.querySelector('[data-testid=upload] progress'); return !!b && b.value > 2e6; })()`, 30*time.Second)
	proxy.Cut()
	page.Wait("the page retries", `(document.querySelector('[data-testid=upload]').dataset.retries|0) > 0`, 30*time.Second)
	time.Sleep(2 * time.Second)
	proxy.Restore()
	page.Wait("upload finished after the outage", `document.querySelector('[data-testid=upload].done') !== null`, 90*time.Second)

	page.Wait("the upload in the library", `document.querySelector('#library li.card') !== null`, 20*time.Second)
	objects, err := sys.store.List(context.Background(), sys.uploads, "")
	if err != nil || len(objects) != 1 {
		t.Fatalf("uploads bucket holds %v, %v; want one object", objects, err)
	}
	got, err := sys.store.GetBytes(context.Background(), sys.uploads, objects[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(data) || string(got) != string(data) {
		t.Fatalf("assembled object has %d bytes and differs from the %d-byte file", len(got), len(data))
	}
}

// TestPageAsksForToken: the page is an operator console. Without a token
// it says so and asks for one; a wrong token is refused and not kept; the
// right one is kept for the tab (sessionStorage, across a reload) and sent
// on every call, after which the page works as before; "Forget the token"
// asks again.
func TestPageAsksForToken(t *testing.T) {
	sys := newStack(t, options{})
	page := webtest.Open(t, sys.url+"/")
	page.Wait("token prompt", `!document.getElementById('signin').hidden && document.activeElement !== null`, 10*time.Second)
	page.Wait("library asks for the token", `document.getElementById('library-empty').textContent.includes('API token')`, 10*time.Second)

	// An upload without the token is refused before any byte is sent.
	clip := testenv.Media(t, "02_flower_960x540_h264_aac.mp4")
	page.Choose(clip)
	page.Wait("upload refused for want of the token", `(() => { const e = document.querySelector('[data-testid=upload] .error'); return !!e && !e.hidden && e.textContent.includes('token'); })()`, 20*time.Second)
	if keys, err := sys.store.List(context.Background(), sys.uploads, ""); err != nil || len(keys) != 0 {
		t.Fatalf("uploads bucket after a refused upload: %v %v", keys, err)
	}

	// A wrong token: refused, said so, not kept.
	page.Do(chromedp.Evaluate[chromedp.Void](`(() => { document.getElementById('token').value = 'not-the-token'; document.querySelector('#token-form button[type=submit]').click(); })()`))
	page.Wait("wrong token refused", `!document.getElementById('token-error').hidden && document.getElementById('token-error').textContent.includes('refused')`, 10*time.Second)
	if s := page.String(`String(sessionStorage.getItem('hlsflow-token'))`); s != "null" || !strings.Contains(page.String(`String(document.getElementById('signin').hidden)`), "false") {
		t.Errorf("after a wrong token: stored %q, prompt hidden %s", s, page.String(`String(document.getElementById('signin').hidden)`))
	}

	// The right one: kept for this tab only, and the refused upload can go on.
	page.SignIn(browserToken)
	if s := page.String(`String(sessionStorage.getItem('hlsflow-token'))`); s != browserToken {
		t.Errorf("sessionStorage holds %q, want the token", s)
	}
	if n := page.String(`String(localStorage.length)`); n != "0" {
		t.Errorf("localStorage holds %s items; the token must not outlive the tab", n)
	}
	page.Click(`[data-testid=upload] .upload-actions .button:not(.secondary)`)
	page.Wait("upload finished after signing in", `document.querySelector('[data-testid=upload].done') !== null`, 30*time.Second)
	name := filepath.Base(clip)
	page.Wait("the upload in the library", webtest.CardState(name)+` !== ''`, 30*time.Second)

	// A reload keeps the token: no prompt, the library is there.
	page.Do(chromedp.Evaluate[chromedp.Void](`window.beforeReload = true; location.reload()`))
	page.Wait("reloaded", `window.beforeReload === undefined && document.readyState === 'complete'`, 20*time.Second)
	page.Wait("library after the reload", webtest.CardState(name)+` !== ''`, 20*time.Second)
	if hidden := page.String(`String(document.getElementById('signin').hidden)`); hidden != "true" {
		t.Error("the prompt came back after a reload")
	}

	// Forget it: asked again, nothing kept.
	page.Click(`#signout`)
	page.Wait("prompt after forgetting", `!document.getElementById('signin').hidden && sessionStorage.getItem('hlsflow-token') === null`, 10*time.Second)
	page.Wait("library hidden again", `document.querySelectorAll('#library li.card').length === 0`, 20*time.Second)
}

// TestPageGoLiveFromBrowser: the operator creates a stream on the page,
// which fills in its WHIP URL and key, and presses "Go live from this
// browser": Chromium's fake camera and microphone publish over WHIP, the
// stream goes live, and it plays in hls.js on the same page.
func TestPageGoLiveFromBrowser(t *testing.T) {
	sys := newStack(t, options{whip: true})
	page := webtest.Open(t, sys.url+"/",
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true))
	page.SignIn(browserToken)
	page.Do(
		chromedp.Evaluate[chromedp.Void](`document.querySelector('.live-section details').open = true`),
		chromedp.SendKeys(chromedp.CSS("#stream-name"), "browser-cam"),
		chromedp.Click(chromedp.CSS("#stream-form button")),
	)
	page.Wait("WHIP URL filled in", `document.getElementById('golive-url').value !== ''`, 10*time.Second)
	if u := page.String(`document.getElementById('golive-url').value`); u != sys.url+"/whip/browser-cam" {
		t.Fatalf("WHIP URL %q, want %s/whip/browser-cam", u, sys.url)
	}

	// A wrong key is refused, and the page says so.
	page.Do(chromedp.Evaluate[chromedp.Void](`(() => { const k = document.getElementById('golive-key'); window.realKey = k.value; k.value = 'browser-cam.wrong'; })()`))
	page.Click(`#golive-start`)
	page.Wait("the refusal shown", `document.getElementById('golive-status').dataset.state === 'failed'`, 20*time.Second)
	if s := page.String(`document.getElementById('golive-status').textContent`); !strings.Contains(s, "key") {
		t.Errorf("status after a wrong key: %q", s)
	}

	page.Do(chromedp.Evaluate[chromedp.Void](`document.getElementById('golive-key').value = window.realKey`))
	page.Click(`#golive-start`)
	page.Wait("publishing", `document.getElementById('golive-status').dataset.state === 'live'`, 30*time.Second)
	page.Wait("LIVE badge in the list", `(() => { const li = document.querySelector('#streams li[data-name="browser-cam"]'); return !!li && li.dataset.state === 'live'; })()`, 60*time.Second)
	page.Click(`#streams li[data-name="browser-cam"] [data-testid=watch]`)
	page.Wait("live playback", `document.getElementById('player').currentTime > 1`, 60*time.Second)

	page.Click(`#golive-stop`)
	page.Wait("stopped", `document.getElementById('golive-status').dataset.state === 'stopped'`, 10*time.Second)
	page.Wait("the stream ends", `(() => { const li = document.querySelector('#streams li[data-name="browser-cam"]'); return !!li && li.dataset.state !== 'live'; })()`, 60*time.Second)
}
