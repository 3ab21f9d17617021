package web_test

// Audio tracks and subtitles through the whole system: an upload with two
// audio streams and a subtitle stream plays on the page with a track
// picker, and picking switches what hls.js plays and shows.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/web/webtest"
)

// tracksSource makes an 8 s video with two audio streams (English, and a
// French commentary) and Spanish mov_text subtitles.
func tracksSource(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	srt := filepath.Join(dir, "subs.srt")
	if err := os.WriteFile(srt, []byte("1\n00:00:00,500 --> 00:00:03,000\nHola mundo\n\n2\n00:00:04,000 --> 00:00:06,000\nAdiós\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "tracks.mp4")
	b, err := exec.Command("ffmpeg", "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=8",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=8",
		"-f", "lavfi", "-i", "sine=frequency=880:sample_rate=48000:duration=8",
		"-i", srt,
		"-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:s",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-c:s", "mov_text",
		"-metadata:s:a:0", "language=eng", "-metadata:s:a:0", "handler_name=English",
		"-metadata:s:a:1", "language=fra", "-metadata:s:a:1", "handler_name=Commentary",
		"-metadata:s:s:0", "language=spa", "-metadata:s:s:0", "handler_name=Español", out).CombinedOutput()
	if err != nil {
		t.Fatalf("make source: %v: %s", err, b)
	}
	return out
}

func TestTrackPicker(t *testing.T) {
	sys := newStack(t, options{})
	key := "outputs/commentary.mp4"
	if err := sys.store.PutFile(context.Background(), sys.uploads, key, tracksSource(t), store.Object{ContentType: "video/mp4"}); err != nil {
		t.Fatal(err)
	}
	st := sys.waitReady(t, catalog.VideoID(key), 2*time.Minute)
	if len(st.AudioTracks) != 2 || len(st.Captions) != 1 {
		t.Fatalf("status.json lists audio %+v and captions %+v, want two and one", st.AudioTracks, st.Captions)
	}

	page := webtest.Open(t, sys.url+"/")
	page.SignIn(browserToken)
	page.Wait("video in the library", webtest.CardState("commentary.mp4")+` === 'ready'`, 30*time.Second)
	page.PlayCard("commentary.mp4")
	page.Wait("track pickers", `!document.getElementById('tracks').hidden && !document.getElementById('audio-track').hidden
		&& document.getElementById('audio-track').options.length === 2 && document.getElementById('subtitle-track').options.length === 2`, 60*time.Second)
	names := page.String(`[...document.querySelectorAll('#tracks option')].map(o => o.textContent).join('|')`)
	if want := "English (eng)|Commentary (fra)|Off|Español (spa)"; names != want {
		t.Errorf("pickers offer %q, want %q", names, want)
	}
	if cur := page.String(`document.getElementById('audio-track').dataset.current`); cur != "0" {
		t.Errorf("hls.js starts on audio track %s, want the first", cur)
	}

	// Pick as a viewer does: the second audio track, then the subtitles.
	pick := func(id, value string) {
		page.String(`(() => { const s = document.getElementById('` + id + `'); s.value = '` + value + `';
			s.dispatchEvent(new Event('change', {bubbles: true})); return ''; })()`)
	}
	pick("audio-track", "1")
	page.Wait("hls.js on the second audio track", `document.getElementById('audio-track').dataset.current === '1'`, 20*time.Second)
	pick("subtitle-track", "0")
	page.Wait("subtitles showing", `document.getElementById('subtitle-track').dataset.current === '0'`, 20*time.Second)
	showing := `[...document.getElementById('player').textTracks].find(t => t.mode === 'showing')`
	page.Wait("cues loaded", `(() => { const t = `+showing+`; return !!t && !!t.cues && [...t.cues].some(c => c.text.includes('Hola')); })()`, 30*time.Second)
	// At 1 s the first cue is on screen; at 5 s the second.
	for _, c := range []struct{ at, text string }{{"1", "Hola mundo"}, {"5", "Adiós"}} {
		page.String(`(() => { document.getElementById('player').currentTime = ` + c.at + `; return ''; })()`)
		page.Wait("cue "+c.text+" at "+c.at+" s", `(() => { const t = `+showing+`; return !!t && !!t.activeCues && [...t.activeCues].some(c => c.text === '`+c.text+`'); })()`, 20*time.Second)
	}
}
