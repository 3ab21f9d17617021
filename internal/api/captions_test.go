package api

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/subtitles"
)

// readyVideo puts a ready one-variant video in the media bucket: a real
// 2 s MPEG-TS segment, its playlist, a master and status.json.
func (e *env) readyVideo(id string, state catalog.State) {
	e.t.Helper()
	seg := filepath.Join(e.t.(*testing.T).TempDir(), "seg.ts")
	if b, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:duration=2", "-c:v", "libx264",
		"-preset", "ultrafast", "-f", "mpegts", seg).CombinedOutput(); err != nil {
		e.t.Fatalf("%v %s", err, b)
	}
	ctx, p := context.Background(), catalog.Prefix(id)
	b, err := os.ReadFile(seg)
	if err != nil {
		e.t.Fatal(err)
	}
	files := map[string]string{
		p + "360p/seg_ab12_00000.ts": string(b),
		p + "360p/index_ab12.m3u8":   "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:2.000,\nseg_ab12_00000.ts\n#EXT-X-ENDLIST\n",
		p + "master.m3u8":            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=100000,RESOLUTION=160x120,CODECS=\"avc1.42c00c\"\n360p/index_ab12.m3u8\n",
	}
	for k, v := range files {
		if err := e.store.PutBytes(ctx, e.media, k, []byte(v), store.For(k)); err != nil {
			e.t.Fatal(err)
		}
	}
	st := &catalog.Status{ID: id, State: state, Playback: catalog.MasterKey(id), Duration: 2}
	if err := catalog.Write(ctx, e.store, e.media, st); err != nil {
		e.t.Fatal(err)
	}
}

const goodVTT = "WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nHello <i>there</i>\n"

func TestAddCaption(t *testing.T) {
	e := newEnv(t, nil)
	e.readyVideo("clip-1", catalog.StateReady)
	var c Caption
	e.callJSON("POST", "/api/videos/clip-1/captions?language=EN-gb&name=English%20(UK)", goodVTT, 201, &c, "Content-Type", "text/vtt")
	if c.Language != "en-GB" || c.Name != "English (UK)" || c.Pending || !strings.HasPrefix(c.URI, "vod/clip-1/subs/") || !strings.HasSuffix(c.URL, c.URI) {
		t.Fatalf("answer %+v", c)
	}
	// An SRT file, name defaulted to the language.
	e.callJSON("POST", "/api/videos/clip-1/captions?language=fr", "1\n00:00:00,100 --> 00:00:01,000\nBonjour\n", 201, &c)
	ctx := context.Background()
	st, err := catalog.Read(ctx, e.store, e.media, "clip-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Captions) != 2 || st.Captions[0].Name != "English (UK)" || st.Captions[1].Language != "fr" || st.Captions[1].Name != "fr" {
		t.Fatalf("status captions %+v", st.Captions)
	}
	b, _ := e.store.GetBytes(ctx, e.media, catalog.MasterKey("clip-1"))
	m, err := hls.ParseMaster(b)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, x := range m.Media {
		if x.Type == hls.MediaSubtitles {
			n++
			if _, err := e.store.GetBytes(ctx, e.media, catalog.Prefix("clip-1")+x.URI); err != nil {
				t.Errorf("subtitles playlist %s: %v", x.URI, err)
			}
		}
	}
	if n != 2 || m.Variants[0].Subtitles != hls.SubtitlesGroup {
		t.Errorf("master:\n%s", b)
	}
	vtt, err := e.store.GetBytes(ctx, e.media, st.Captions[0].URI)
	if err != nil || !strings.Contains(string(vtt), "X-TIMESTAMP-MAP=MPEGTS:") || !strings.Contains(string(vtt), "Hello <i>there</i>") {
		t.Errorf("caption file %v:\n%s", err, vtt)
	}
	// The same language and name again replaces it.
	e.callJSON("POST", "/api/videos/clip-1/captions?language=en-GB&name=English%20(UK)", "WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nHi\n", 201, &c)
	st, _ = catalog.Read(ctx, e.store, e.media, "clip-1")
	if len(st.Captions) != 2 {
		t.Errorf("after replacing: %+v", st.Captions)
	}
	// The video's GET shows them.
	v := e.video("clip-1")
	if len(v.Captions) != 2 {
		t.Errorf("GET shows captions %+v", v.Captions)
	}
}

func TestCaptionWhileProcessingIsPending(t *testing.T) {
	e := newEnv(t, nil)
	e.readyVideo("clip-2", catalog.StateProcessing)
	var c Caption
	e.callJSON("POST", "/api/videos/clip-2/captions?language=de", goodVTT, 202, &c)
	if !c.Pending || c.URI != "" {
		t.Errorf("answer %+v", c)
	}
	b, _ := e.store.GetBytes(context.Background(), e.media, catalog.MasterKey("clip-2"))
	if strings.Contains(string(b), "SUBTITLES") {
		t.Errorf("a processing video's master was rewritten:\n%s", b)
	}
}

// Bad captions are refused with a reason, and nothing is kept.
func TestBadCaptionsRefused(t *testing.T) {
	e := newEnv(t, nil)
	e.readyVideo("clip-3", catalog.StateReady)
	many := "WEBVTT\n\n" + strings.Repeat("00:00:01.000 --> 00:00:02.000\nx\n\n", 10001)
	cases := []struct {
		name, query, body string
		status            int
		reason            string
	}{
		{"binary", "language=en", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 400, "binary"},
		{"utf-16", "language=en", "\xff\xfeW\x00E\x00B\x00V\x00T\x00T\x00", 400, "UTF-16"},
		{"latin-1", "language=en", "1\n00:00:01,000 --> 00:00:02,000\ncaf\xe9\n", 400, "not UTF-8"},
		{"huge", "language=en", "WEBVTT\n\n" + strings.Repeat("a", 1<<20), 413, "larger than"},
		{"too many cues", "language=en", many, 400, "more than 10000 cues"},
		{"bad times", "language=en", "WEBVTT\n\n00:00:05.000 --> 00:00:01.000\nx\n", 400, "before it starts"},
		{"no language", "", goodVTT, 400, "not a BCP 47"},
		{"bad language", "language=english%20please", goodVTT, 400, "not a BCP 47"},
		{"quote in language", "language=en%22", goodVTT, 400, "not a BCP 47"},
		{"long name", "language=en&name=" + strings.Repeat("n", 65), goodVTT, 400, "longer than"},
		{"empty", "language=en", "", 400, "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, b := e.call("POST", "/api/videos/clip-3/captions?"+c.query, c.body)
			var ae struct{ Error string }
			_ = json.Unmarshal(b, &ae)
			if status != c.status || !strings.Contains(ae.Error, c.reason) {
				t.Errorf("= %d %s, want %d saying %q", status, b, c.status, c.reason)
			}
		})
	}
	if status, _ := e.call("POST", "/api/videos/clip-3/captions?language=en", goodVTT, "Authorization", ""); status != 401 {
		t.Errorf("without the token: %d, want 401", status)
	}
	if status, _ := e.call("POST", "/api/videos/no-such-1/captions?language=en", goodVTT); status != 404 {
		t.Errorf("unknown video: %d, want 404", status)
	}
	keys, _ := e.store.List(context.Background(), e.media, catalog.CaptionsMetaPrefix)
	if len(keys) != 0 {
		t.Errorf("refused captions kept: %v", keys)
	}
	// At most subtitles.MaxUploads per video.
	for i := range subtitles.MaxUploads {
		e.callJSON("POST", fmt.Sprintf("/api/videos/clip-3/captions?language=en&name=n%d", i), goodVTT, 201, nil)
	}
	if status, b := e.call("POST", "/api/videos/clip-3/captions?language=en&name=one-more", goodVTT); status != 409 {
		t.Errorf("caption %d: %d %s, want 409", subtitles.MaxUploads+1, status, b)
	}
}
