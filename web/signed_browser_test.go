package web_test

import (
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/testenv"
	"github.com/hlsflow/hlsflow/web/webtest"
)

// With signed playback the library has no playback URL: the page, which
// has the token, asks the API for a grant and plays the grant's URL; the
// same media without it is refused.
func TestPageSignedPlayback(t *testing.T) {
	sys := newStack(t, options{signed: true})
	page := webtest.Open(t, sys.url+"/")
	page.SignIn(browserToken)
	clip := testenv.Media(t, "02_flower_960x540_h264_aac.mp4")
	page.Choose(clip)
	name := filepath.Base(clip)
	page.Wait("video ready in the library", webtest.CardState(name)+` === 'ready'`, 3*time.Minute)
	page.PlayCard(name)
	page.Wait("playback", `document.getElementById('player').currentTime > 1`, 60*time.Second)
	src := page.String(`document.getElementById('player').dataset.src`)
	if !strings.HasPrefix(src, sys.url+"/p/") {
		t.Fatalf("the page played %q, want a grant's /p/ URL", src)
	}
	unsigned := sys.url + "/vod/" + strings.SplitN(strings.SplitN(src, "/vod/", 2)[1], "/", 2)[0] + "/master.m3u8"
	resp, err := http.Get(unsigned)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET %s without the grant = %d, want 403", unsigned, resp.StatusCode)
	}
}

// A live stream under signed playback: the page gets a grant for the
// stream's name and plays it live; ffmpeg reads the same grant's URL; the
// plain live URL is refused.
func TestPageSignedLiveStream(t *testing.T) {
	sys := newStack(t, options{live: true, signed: true})
	page := webtest.Open(t, sys.url+"/")
	page.SignIn(browserToken)
	page.Do(
		chromedp.Evaluate[chromedp.Void](`document.querySelector('.live-section details').open = true`),
		chromedp.SendKeys(chromedp.CSS("#stream-name"), "studio-2"),
		chromedp.Click(chromedp.CSS("#stream-form button")),
	)
	page.Wait("publish URL shown", `!document.getElementById('stream-created').hidden`, 10*time.Second)
	publish := page.String(`document.getElementById('publish-url').textContent`)
	ctx, cancel := context.WithCancel(context.Background())
	ff := exec.CommandContext(ctx, media.FFmpegPath(), "-hide_banner", "-nostdin", "-loglevel", "error",
		"-re", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
		"-t", "60", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-f", "flv", publish)
	if err := ff.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = ff.Wait() })

	page.Wait("LIVE in the list", `(() => { const li = document.querySelector('#streams li[data-name="studio-2"]'); return !!li && li.dataset.state === 'live'; })()`, 60*time.Second)
	page.Click(`#streams li[data-name="studio-2"] [data-testid=watch]`)
	page.Wait("live playback", `document.getElementById('player').currentTime > 1`, 60*time.Second)
	src := page.String(`document.getElementById('player').dataset.src`)
	if !strings.HasPrefix(src, sys.url+"/p/") || !strings.HasSuffix(src, "/live/studio-2/master.m3u8") {
		t.Fatalf("the page played %q, want a grant's /p/…/live/studio-2/ URL", src)
	}
	if out, err := exec.Command(media.FFmpegPath(), "-v", "error", "-nostdin", "-i", src, "-t", "2", "-f", "null", "-").CombinedOutput(); err != nil {
		t.Errorf("ffmpeg on the grant's URL: %v %s", err, out)
	}
	resp, err := http.Get(sys.url + "/live/studio-2/master.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("the live master without a grant = %d, want 403", resp.StatusCode)
	}
}
