package web_test

// Browser tests of the page: headless Chromium (chromedp) on the page as
// the edge serves it, with the real API (through the local API Gateway
// adapter), a real S3 server, and the real transcode handler run on every
// new upload, as the local cloud's event dispatcher would.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/chromedp/chromedp"

	"github.com/hlsflow/hlsflow/functions/api"
	"github.com/hlsflow/hlsflow/internal/apigw"
	"github.com/hlsflow/hlsflow/internal/edge"
	"github.com/hlsflow/hlsflow/internal/live/ingest"
	"github.com/hlsflow/hlsflow/internal/live/keys"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
	"github.com/hlsflow/hlsflow/internal/vod"
	"github.com/hlsflow/hlsflow/web"
	"github.com/hlsflow/hlsflow/web/webtest"
)

const (
	browserToken = "browser-test-token-0123"
	partSize     = 5 << 20
)

// system is the whole stack on one loopback port, as `hlsflow up` runs it,
// with the page served under the strict Content-Security-Policy the edge
// sends (plus a report-uri, so that every violation fails the test), and
// /api/* reached as CloudFront reaches it on AWS (see cloudFront).
type system struct {
	url            string
	rtmp           string // host:port of the live ingest, when running
	store          *store.Store
	uploads, media string
}

var bucketSeq struct {
	sync.Mutex
	n int
}

// options choose the optional parts of a system.
type options struct {
	live bool        // run the live ingest (RTMP on a free loopback port)
	s3   *flakyProxy // the browser and API reach S3 through this proxy
}

// newSystem starts the stack.
func newSystem(t *testing.T, opt options) *system {
	t.Helper()
	s3env := testenv.S3(t)
	ctx := context.Background()
	bucketSeq.Lock()
	bucketSeq.n++
	suffix := fmt.Sprintf("%d-%d", time.Now().UnixNano()%1e9, bucketSeq.n)
	bucketSeq.Unlock()
	sys := &system{store: s3env.Store, uploads: "web-up-" + suffix, media: "web-media-" + suffix}
	for _, b := range []string{sys.uploads, sys.media} {
		if err := sys.store.EnsureBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	// The page (on the edge's origin) PUTs straight to S3: the uploads
	// bucket must allow it, as the CDK stack's CORS rule does on AWS.
	if _, err := sys.store.Client.PutBucketCors(ctx, &s3.PutBucketCorsInput{
		Bucket: &sys.uploads,
		CORSConfiguration: &types.CORSConfiguration{CORSRules: []types.CORSRule{{
			AllowedOrigins: []string{"*"}, AllowedMethods: []string{"PUT"},
			AllowedHeaders: []string{"*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: aws.Int32(600),
		}}},
	}); err != nil {
		t.Fatalf("put bucket cors: %v", err)
	}
	signer, err := keys.New([]byte("browser-test-secret-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	rtmpURL := ""
	if opt.live {
		svc, err := ingest.New(ingest.Config{Store: sys.store, Bucket: sys.media, Keys: signer,
			RTMPAddr: "127.0.0.1:0", Preset: "ultrafast", Threads: 1, MaxRungs: 1, SegmentSeconds: 1,
			Grace: time.Second, WorkDir: t.TempDir(),
			Log: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = svc.Close(cctx)
		})
		sys.rtmp = svc.RTMPAddr()
		rtmpURL = "rtmp://" + sys.rtmp + "/live"
	}
	apiStore := sys.store
	s3Origin := strings.TrimRight(s3env.Endpoint, "/") // where presigned URLs point: the page's CSP must allow it
	if opt.s3 != nil {
		cfg := s3env.Config()
		cfg.BaseEndpoint = aws.String("http://" + opt.s3.Addr())
		apiStore = store.New(cfg)
		s3Origin = "http://" + opt.s3.Addr()
	}
	h, err := api.New(api.Config{Store: apiStore, UploadsBucket: sys.uploads, MediaBucket: sys.media,
		Token: browserToken, Keys: signer, RTMPURL: rtmpURL,
		MultipartThreshold: partSize, PartSize: partSize})
	if err != nil {
		t.Fatal(err)
	}
	adapter := apigw.New(lambda.NewHandler(h.Handle))
	adapter.Logf = t.Logf
	e, err := edge.New(edge.Config{Store: sys.store, Bucket: sys.media, CacheBytes: -1, API: adapter, Web: web.HandlerFor(func(*http.Request) []string { return []string{s3Origin} })})
	if err != nil {
		t.Fatal(err)
	}
	csp := &cspReports{}
	srv := httptest.NewServer(csp.wrap(e))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if r := csp.all(); len(r) > 0 {
			t.Errorf("the page broke its Content-Security-Policy:\n%s", strings.Join(r, "\n"))
		}
	})
	sys.url = srv.URL

	tc, err := vod.New(vod.Config{MediaBucket: sys.media, UploadsBucket: sys.uploads, Preset: "ultrafast",
		Ladder: media.LadderOptions{SegmentSeconds: 2, MaxRungs: 2}, ProgressEvery: 500 * time.Millisecond},
		vod.Deps{Store: sys.store, Log: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		dispatch(runCtx, t, sys, tc)
	}()
	t.Cleanup(func() { stop(); <-done })
	return sys
}

// dispatch stands in for the local cloud's S3 event dispatcher: it hands
// every new object of the uploads bucket to the transcode handler.
func dispatch(ctx context.Context, t *testing.T, sys *system, tc *vod.Pipeline) {
	seen := map[string]bool{}
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		objs, err := sys.store.Objects(ctx, sys.uploads, "")
		if err != nil {
			continue
		}
		for _, o := range objs {
			// A new upload under a known key (a replacement) is a new event.
			k, version := o.Key, fmt.Sprintf("%s %d %d", o.Key, o.Size, o.LastModified.UnixNano())
			if seen[version] {
				continue
			}
			seen[version] = true
			ev := events.S3Event{Records: []events.S3EventRecord{{EventName: "ObjectCreated:Put",
				S3: events.S3Entity{Bucket: events.S3Bucket{Name: sys.uploads},
					Object: events.S3Object{Key: k, URLDecodedKey: k}}}}}
			if err := tc.Handle(ctx, ev); err != nil && ctx.Err() == nil {
				t.Logf("transcode %s: %v", k, err)
			}
		}
	}
}

// cspReports serves a handler under the page's own policy and collects the browser's
// violation reports, and the requests CloudFront would have refused.
type cspReports struct {
	mu      sync.Mutex
	reports []string
}

func (c *cspReports) report(s string) {
	c.mu.Lock()
	c.reports = append(c.reports, s)
	c.mu.Unlock()
}

func (c *cspReports) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	sys := newSystem(t, options{})
	page := webtest.Open(t, sys.url+"/")
	page.SignIn(browserToken)

	// A real camera clip: small enough for one presigned PUT.
	clip := testenv.Media(t, "02_flower_960x540_h264_aac.mp4")
	page.Choose(clip)
	name := filepath.Base(clip)
	page.Wait("upload finished", `document.querySelector('[data-testid=upload].done') !== null`, 30*time.Second)
	page.Wait("video ready in the library", webtest.CardState(name)+` === 'ready'`, 3*time.Minute)

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
	sys := newSystem(t, options{})
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
	sys := newSystem(t, options{})
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
	sys := newSystem(t, options{live: true})
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
	if strings.Contains(page.String(`JSON.stringify(document.querySelector('#streams').innerHTML)`), publish[strings.LastIndex(publish, "/")+1:]) {
		t.Error("the stream list shows the secret key")
	}
}

// A network failure in the middle of a multipart upload: the page retries
// the parts that failed and finishes without starting over.
func TestPageUploadResumesAfterNetworkError(t *testing.T) {
	s3env := testenv.S3(t)
	proxy := newFlakyProxy(t, strings.TrimPrefix(s3env.Endpoint, "http://"), 1<<20)
	sys := newSystem(t, options{s3: proxy})
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
	sys := newSystem(t, options{})
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
