package web_test

// The outputs beside the ladder, through the whole system: the MP4
// download as the edge serves it, and instant clips of a video and of a
// live stream played in hls.js.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/hlsflow/hlsflow/internal/browsertest"
	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
	"github.com/hlsflow/hlsflow/web/webtest"
)

// apiCall sends a JSON request with the API token to the system's API and
// decodes the answer into v (when not nil); it returns the status.
func (s *stack) apiCall(t *testing.T, method, path, body string, v any) int {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+browserToken)
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256([]byte(body)) // as CloudFront wants a POST to a function URL signed
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// waitReady polls a video's status.json until it is ready.
func (s *stack) waitReady(t *testing.T, id string, timeout time.Duration) *catalog.Status {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, err := catalog.Read(context.Background(), s.store, "media", id)
		switch {
		case err == nil && st.State == catalog.StateReady:
			return st
		case err == nil && st.State == catalog.StateFailed:
			t.Fatalf("%s failed: %s", id, st.Error)
		case time.Now().After(deadline):
			t.Fatalf("%s not ready after %s (%+v, %v)", id, timeout, st, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// playClip plays a clip in hls.js through the edge: from its start to
// its end, within one segment.
func (s *stack) playClip(t *testing.T, id string, segment float64) {
	t.Helper()
	st := s.waitReady(t, id, 10*time.Second)
	res, err := browsertest.Play(t, s.url+"/"+st.Playback, browsertest.Options{MinTime: st.Duration - segment, Timeout: 90 * time.Second})
	if err != nil {
		t.Fatalf("clip %s (%.1f s) in hls.js: %v; %+v", id, st.Duration, err, res)
	}
	if res.CurrentTime > st.Duration+segment {
		t.Errorf("clip %s played to %.1f s, longer than its %.1f s", id, res.CurrentTime, st.Duration)
	}
	t.Logf("clip %s: hls.js played %.1f to %.1f s of %.1f s", id, res.StartTime, res.CurrentTime, st.Duration)
}

func TestDownloadAndClips(t *testing.T) {
	sys := newStack(t, options{live: true})
	ctx := context.Background()
	// 33 s: two chunks, so the download joins a fanned-out encode.
	key := "outputs/trailer.flv"
	if err := sys.store.PutFile(ctx, sys.uploads, key, testenv.Media(t, "10_bbb_trailer_h264_aac.flv"), store.Object{ContentType: "video/x-flv"}); err != nil {
		t.Fatal(err)
	}
	id := catalog.VideoID(key)
	st := sys.waitReady(t, id, 4*time.Minute)

	// The download, as a browser gets it from the edge.
	if st.Download == "" {
		t.Fatal("no download in status.json")
	}
	resp, err := http.Get(sys.url + "/" + st.Download)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d, p, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); resp.StatusCode != 200 || err != nil || d != "attachment" || p["filename"] != id+".mp4" {
		t.Errorf("download: %d, Content-Disposition %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", sys.url+"/"+st.Download).Output()
	if d, _ := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err != nil || d < st.Duration-media.DefaultSegmentSeconds || d > st.Duration+media.DefaultSegmentSeconds {
		t.Errorf("download over the edge lasts %s s (%v), the video %.1f s", out, err, st.Duration)
	}

	// The page: hovering the seek strip shows the storyboard's tile for
	// that time, from a sheet the edge serves.
	if st.Storyboard == "" {
		t.Fatal("no storyboard in status.json")
	}
	page := webtest.Open(t, sys.url+"/")
	page.SignIn(browserToken)
	page.Wait("video in the library", webtest.CardState("trailer.flv")+` === 'ready'`, 30*time.Second)
	page.PlayCard("trailer.flv")
	page.Wait("seek strip with a storyboard", `!document.getElementById('scrub').hidden && document.getElementById('player').duration > 0`, 60*time.Second)
	var box struct{ X, Y, W float64 }
	if err := json.Unmarshal([]byte(page.String(`(() => { const r = document.getElementById('scrub').getBoundingClientRect();
		return JSON.stringify({X: r.left, Y: r.top + r.height / 2, W: r.width}); })()`)), &box); err != nil {
		t.Fatal(err)
	}
	page.Do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box.X+box.W/2, box.Y))
	page.Wait("thumbnail shown", `!document.getElementById('thumb').hidden`, 10*time.Second)
	from, _ := strconv.ParseFloat(page.String(`document.getElementById('thumb').dataset.from`), 64)
	dur, _ := strconv.ParseFloat(page.String(`String(document.getElementById('player').duration)`), 64)
	if from > dur/2 || from < dur/2-5 {
		t.Errorf("hovering the middle of %.1f s shows the tile from %.1f s", dur, from)
	}
	bg := page.String(`getComputedStyle(document.getElementById('thumb')).backgroundImage`)
	sheet := strings.TrimSuffix(strings.TrimPrefix(bg, `url("`), `")`)
	if !strings.HasPrefix(sheet, sys.url+"/vod/"+id+"/storyboard-") {
		t.Fatalf("thumbnail background %q, want a sheet of the video", bg)
	}
	if resp, err := http.Get(sheet); err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("sheet %s: %v %v", sheet, resp, err)
	} else {
		resp.Body.Close()
	}

	// A clip of the video: made in the request (no encode), so ready
	// when the answer arrives; plays its span.
	var c struct{ ID string }
	if code := sys.apiCall(t, "POST", "/api/videos/"+id+"/clips", `{"start":9,"end":19}`, &c); code != 201 || c.ID == "" {
		t.Fatalf("clip: %d %+v", code, c)
	}
	cs, err := catalog.Read(ctx, sys.store, "media", c.ID)
	if err != nil || cs.State != catalog.StateReady {
		t.Fatalf("clip %s when its 201 arrived: %v %+v, want ready", c.ID, err, cs)
	}
	if o := cs.ClipOf; o == nil || o.ID != id || o.Start > 9 || o.Start < 9-media.DefaultSegmentSeconds || o.End < 19 || o.End > 19+media.DefaultSegmentSeconds {
		t.Errorf("clipOf %+v, want 9..19 grown to whole segments", o)
	}
	sys.playClip(t, c.ID, media.DefaultSegmentSeconds)
	var ae struct{ Error string }
	if code := sys.apiCall(t, "POST", "/api/videos/"+id+"/clips", `{"start":19,"end":9}`, &ae); code != 400 || ae.Error == "" {
		t.Errorf("end before start: %d %q", code, ae.Error)
	}

	// A clip of a live stream's window while it is live, which plays on
	// after the stream and its recording are gone.
	var created struct {
		PublishURL string `json:"publishUrl"`
	}
	if code := sys.apiCall(t, "POST", "/api/streams", `{"name":"clipped"}`, &created); code != 201 {
		t.Fatalf("create stream: %d", code)
	}
	ff := exec.Command(media.FFmpegPath(), "-hide_banner", "-nostdin", "-loglevel", "error",
		"-re", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
		"-t", "12", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-f", "flv", created.PublishURL)
	if err := ff.Start(); err != nil {
		t.Fatal(err)
	}
	var ffErr error
	done := make(chan struct{})
	go func() { ffErr = ff.Wait(); close(done) }()
	t.Cleanup(func() { _ = ff.Process.Kill(); <-done })
	var live struct{ ID string }
	deadline := time.Now().Add(60 * time.Second)
	for {
		// Until the window holds 4 s: refused as beyond its end before.
		code := sys.apiCall(t, "POST", "/api/streams/clipped/clips", `{"start":0,"end":4}`, &live)
		if code == 201 {
			break
		}
		if time.Now().After(deadline) || (code != 404 && code != 400) {
			t.Fatalf("live clip: %d", code)
		}
		time.Sleep(500 * time.Millisecond)
	}
	<-done
	if ffErr != nil {
		t.Fatalf("publisher: %v", ffErr)
	}
	// The stream ends (grace of 1 s), its recording is made; then both go.
	var recording string
	for deadline := time.Now().Add(30 * time.Second); recording == "" && time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		dirs, err := sys.store.Dirs(ctx, "media", "vod/clipped-2")
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dirs {
			if s, err := catalog.Read(ctx, sys.store, "media", "clipped-2"+d); err == nil && s.State == catalog.StateReady {
				recording = s.ID
			}
		}
	}
	if recording == "" {
		t.Fatal("the stream's recording was not made")
	}
	for _, prefix := range []string{catalog.LivePrefix("clipped"), catalog.Prefix(recording)} {
		keys, err := sys.store.List(ctx, "media", prefix)
		if err == nil {
			err = sys.store.DeleteKeys(ctx, "media", keys)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	sys.playClip(t, live.ID, 1)
}
