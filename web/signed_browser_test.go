package web_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
