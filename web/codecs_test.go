package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hlsflow/hlsflow/internal/lambdaspec"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/web"
	"github.com/hlsflow/hlsflow/web/webtest"
)

// TestCodecNames: the player bar names what hls.js plays from the
// master's CODECS strings (codecs.js), in the page as the edge serves it.
func TestCodecNames(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	page := webtest.Open(t, srv.URL+"/")
	for codec, want := range map[string]string{
		"avc1.64001f":      "H.264",
		"avc1.4d401e":      "H.264",
		"avc3.640028":      "H.264",
		"hvc1.1.6.L93.B0":  "HEVC",
		"hev1.2.4.L120.90": "HEVC",
		"av01.0.05M.08":    "AV1",
		"AV01.0.08M.10":    "AV1",
		"vp09.00.10.08":    "VP9",
		"mp4a.40.2":        "AAC",
		"mp4a.40.5":        "AAC",
		"mp4a.40.34":       "MP3",
		"mp4a.69":          "MP3",
		"ec-3":             "E-AC-3",
		"opus":             "Opus",
		" avc1.42e01e ":    "H.264",
		"dvh1.05.06":       "dvh1.05.06", // unknown: shown as it is
		"":                 "",
	} {
		if got := page.String(fmt.Sprintf("hlsflowCodecs.name(%q)", codec)); got != want {
			t.Errorf("name(%q) = %q, want %q", codec, got, want)
		}
	}
	for _, tt := range []struct {
		level map[string]any
		want  string
	}{
		{map[string]any{"videoCodec": "avc1.64001f", "audioCodec": "mp4a.40.2", "width": 1280, "height": 720}, "H.264 · 1280×720"},
		{map[string]any{"videoCodec": "hvc1.1.6.L93.B0", "width": 640, "height": 360}, "HEVC · 640×360"},
		{map[string]any{"videoCodec": "av01.0.05M.08", "height": 540}, "AV1 · 540p"},
		{map[string]any{"width": 960, "height": 540}, "960×540"},
		{map[string]any{"audioCodec": "mp4a.40.2"}, "AAC"},
		{map[string]any{}, ""},
	} {
		b, _ := json.Marshal(tt.level)
		if got := page.String(fmt.Sprintf("hlsflowCodecs.describe(%s)", b)); got != tt.want {
			t.Errorf("describe(%s) = %q, want %q", b, got, tt.want)
		}
	}
}

// TestPreferredVideo: the page asks hls.js for AV1, then HEVC, before
// H.264, among the levels whose codec the browser's MSE accepts.
func TestPreferredVideo(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	page := webtest.Open(t, srv.URL+"/")
	h264 := `{videoCodec: "avc1.64001f"}`
	hevc := `{videoCodec: "hvc1.1.6.L93.90"}`
	av1 := `{videoCodec: "av01.0.05M.08"}`
	for _, tt := range []struct {
		levels, denied, want string
	}{
		{h264 + "," + hevc + "," + av1, "", "av01"},
		{av1 + "," + h264, "", "av01"},
		{h264 + "," + hevc + "," + av1, "av01", "hvc1"},
		{h264 + "," + av1, "av01", ""},
		{h264 + "," + hevc, "", "hvc1"},
		{h264 + "," + hevc, "hvc1", ""},
		{h264, "", ""},
		{`{audioCodec: "mp4a.40.2"}`, "", ""},
	} {
		expr := fmt.Sprintf(`hlsflowCodecs.preferredVideo([%s], (t) => !%q || !t.includes(%q))`, tt.levels, tt.denied, tt.denied)
		if got := page.String(expr); got != tt.want {
			t.Errorf("levels %s, MSE denying %q: preferred %q, want %q", tt.levels, tt.denied, got, tt.want)
		}
	}
	// What MSE is asked is the level's own CODECS in an MP4 type.
	if got := page.String(`(() => { let asked = []; hlsflowCodecs.preferredVideo([{videoCodec: "av01.0.05M.08"}], (t) => { asked.push(t); return true; }); return asked.join(";"); })()`); got != `video/mp4; codecs="av01.0.05M.08"` {
		t.Errorf("asked MSE %q", got)
	}
}

// TestPagePlaysAV1: on a stack that adds AV1 rungs, the page plays the
// AV1 variant where Chromium decodes it (the codec preference it gives
// hls.js matches hls.js's own codec sets: else hls.js would choose
// between the codecs by bitrate and take H.264) and names it in the bar.
func TestPagePlaysAV1(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes AV1")
	}
	sys := newStack(t, options{env: map[string]string{lambdaspec.SegmentFormat: string(media.CMAF), lambdaspec.VideoCodecs: "h264,av1"}})
	page := webtest.Open(t, sys.url+"/")
	page.SignIn(browserToken)
	if page.String(`String(MediaSource.isTypeSupported('video/mp4; codecs="av01.0.04M.08"'))`) != "true" {
		t.Fatal("this Chromium's MSE does not decode AV1")
	}
	// 480p at 25 fps: a rung with whole frames per segment, so AV1 too.
	clip := filepath.Join(t.TempDir(), "av1 clip.mp4")
	out, err := exec.Command(media.FFmpegPath(), "-v", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=854x480:rate=25:duration=8", "-f", "lavfi", "-i", "sine=frequency=440:duration=8",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", clip).CombinedOutput()
	if err != nil {
		t.Fatalf("make the clip: %v\n%s", err, out)
	}
	name := page.UploadReady(clip)
	page.PlayCard(name)
	// To the end (at 4×): hls.js switching codecs by bitrate would have
	// moved to H.264's higher one by then.
	page.Wait("playback", `document.getElementById('player').currentTime > 0`, 60*time.Second)
	page.Do(chromedp.Evaluate[chromedp.Void](`document.getElementById('player').playbackRate = 4`))
	page.Wait("playback to the end", `document.getElementById('player').ended`, 60*time.Second)
	if br := page.String(`document.getElementById('bitrate').textContent`); !strings.HasPrefix(br, "AV1 · ") {
		t.Errorf("player bar shows %q, want AV1 first", br)
	}
	if m := get(t, page.String(`document.getElementById('player').dataset.src`)); !strings.Contains(m, `CODECS="avc1.`) || !strings.Contains(m, `CODECS="av01.`) {
		t.Errorf("master without both H.264 and AV1 variants:\n%s", m)
	}
}

// checkCodecShown: the player bar names the codec hls.js plays (H.264:
// the ladder is H.264 only) and its bitrate is one of the master's
// BANDWIDTH values.
func checkCodecShown(t *testing.T, page *webtest.Page) {
	t.Helper()
	if br := page.String(`document.getElementById('bitrate').textContent`); !strings.HasPrefix(br, "H.264 · ") {
		t.Errorf("player bar shows %q, want the codec first (H.264 · …)", br)
	}
	master := page.String(`document.getElementById('player').dataset.src`)
	resp, err := http.Get(master)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", master, resp.StatusCode, err)
	}
	var bandwidths []string
	for _, m := range regexp.MustCompile(`[:,]BANDWIDTH=(\d+)`).FindAllStringSubmatch(string(body), -1) {
		bandwidths = append(bandwidths, m[1])
	}
	if shown := page.String(`document.getElementById('bitrate').dataset.bitrate || ''`); !slices.Contains(bandwidths, shown) {
		t.Errorf("player bar's bitrate %q is none of the master's BANDWIDTH values %v", shown, bandwidths)
	}
}
