package e2e

// The page at the edge's "/", driven in headless Chromium like a person
// would: upload through it and watch, see a failure explained, go live.
// These tests skip while the target serves no page or API (until `hlsflow
// up` mounts them on the edge).

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/testenv"

	"github.com/hlsflow/hlsflow/web/webtest"
)

// EnvAPIToken is the API token of the target (printed by `hlsflow up`),
// which the page and the API need.
const EnvAPIToken = "HLSFLOW_E2E_API_TOKEN"

// apiToken is the target's API token: `hlsflow up` keeps it in its data
// dir; other targets give it in EnvAPIToken.
func apiToken(t *testing.T) string {
	t.Helper()
	if sys.Local == nil {
		return os.Getenv(EnvAPIToken)
	}
	b, err := os.ReadFile(filepath.Join(sys.Local.DataDir, "api.token"))
	if err != nil {
		t.Fatalf("read the local API token: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// needWebUI skips (or, locally, fails) unless the target serves the page
// and the API, and returns the API token.
func needWebUI(t *testing.T) string {
	t.Helper()
	// The local system always serves the API and the page: there, their
	// absence is a failure. Other targets may deploy without them.
	miss := t.Skipf
	if sys.Local != nil {
		miss = t.Fatalf
	}
	token := apiToken(t)
	if token == "" {
		miss("needs the target's API token (%s)", EnvAPIToken)
	}
	// Without the token the library is closed; with it, open.
	if resp, _ := edgeGet(t, "GET", "/api/videos?limit=1", nil); resp.StatusCode != 401 && resp.StatusCode != 200 {
		miss("the target's edge serves no API (GET /api/videos = %d)", resp.StatusCode)
	}
	resp, body := edgeGet(t, "GET", "/api/videos?limit=1", map[string]string{"Authorization": "Bearer " + token})
	if resp.StatusCode != 200 || !json.Valid(body) {
		miss("the target's API refuses its token (GET /api/videos = %d)", resp.StatusCode)
	}
	if _, page := edgeGet(t, "GET", "/", nil); !bytes.Contains(page, []byte(`id="dropzone"`)) {
		miss("the target's edge serves no page at /")
	}
	return token
}

// forgetUploads removes, on an external target, the videos a page test
// uploaded (their keys are chosen by the API).
func forgetUploads(t *testing.T, page *webtest.Page, token string) {
	t.Cleanup(func() {
		if sys.Local != nil {
			return
		}
		ids := page.String(`[...document.querySelectorAll('#library li.card')].map(c => c.dataset.id).join(' ')`)
		for _, id := range strings.Fields(ids) {
			_, body := edgeGet(t, "GET", "/api/videos/"+id, map[string]string{"Authorization": "Bearer " + token})
			var v struct{ Source struct{ Key string } }
			if json.Unmarshal(body, &v) == nil && v.Source.Key != "" {
				cleanupVideo(v.Source.Key)
			}
		}
	})
}

func TestWebUIUploadAndPlay(t *testing.T) {
	token := needWebUI(t)
	page := webtest.Open(t, sys.EdgeURL+"/")
	page.SignIn(token)
	forgetUploads(t, page, token)
	clip := testenv.Media(t, "02_flower_960x540_h264_aac.mp4")
	name := filepath.Base(clip)
	page.Choose(clip)
	page.Wait("upload finished", `document.querySelector('[data-testid=upload].done') !== null`, time.Minute)
	page.Wait("video ready", webtest.CardState(name)+` === 'ready'`, 5*time.Minute)
	page.PlayCard(name)
	page.Wait("playback", `document.getElementById('player').currentTime > 2`, 90*time.Second)
	if br := page.String(`document.getElementById('bitrate').textContent`); !strings.Contains(br, "Mbps") {
		t.Errorf("bitrate shown %q, want a Mbps figure", br)
	}
}

func TestWebUIShowsFailures(t *testing.T) {
	token := needWebUI(t)
	page := webtest.Open(t, sys.EdgeURL+"/")
	page.SignIn(token)
	forgetUploads(t, page, token)
	page.Choose(writeFile(t, "notes.txt", []byte("not a video")))
	page.Wait("type refusal shown", `[...document.querySelectorAll('[data-testid=upload] .error')].some(e => !e.hidden && e.textContent.includes('not a video type'))`, 30*time.Second)

	page.Choose(writeFile(t, "e2e-broken.mp4", bytes.Repeat([]byte("this is not an mp4 file "), 400)))
	page.Wait("failed video listed", webtest.CardState("e2e-broken.mp4")+` === 'failed'`, 3*time.Minute)
	msg := page.String(`[...document.querySelectorAll('#library li.card[data-state=failed] [data-testid=error]')].map(e => e.textContent).join('|')`)
	if strings.TrimSpace(msg) == "" || msg == "Processing failed." {
		t.Errorf("failed video shows no reason: %q", msg)
	}
}

func TestWebUILiveStream(t *testing.T) {
	token := needWebUI(t)
	if sys.RTMPAddr == "" {
		t.Skip("needs the target's RTMP ingest")
	}
	page := webtest.Open(t, sys.EdgeURL+"/")
	page.SignIn(token)
	name := "e2e-web-" + time.Now().UTC().Format("150405")
	page.Click(`.live-section summary`)
	page.String(`(() => { document.getElementById('stream-name').value = ` + jsString(name) + `; document.querySelector('#stream-form button').click(); return ''; })()`)
	page.Wait("publish URL shown", `!document.getElementById('stream-created').hidden`, 20*time.Second)
	publish := page.String(`document.getElementById('publish-url').textContent`)
	if !strings.HasPrefix(publish, "rtmp://") {
		t.Fatalf("publish URL %q", publish)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ff := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
		"-re", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
		"-t", "90", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-f", "flv", publish)
	if err := ff.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = ff.Wait() })
	sel := `#streams li[data-name="` + name + `"]`
	page.Wait("LIVE badge", `(() => { const li = document.querySelector('`+sel+`'); return !!li && li.dataset.state === 'live'; })()`, 90*time.Second)
	page.Click(sel + ` [data-testid=watch]`)
	page.Wait("live playback", `document.getElementById('player').currentTime > 1`, 90*time.Second)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
