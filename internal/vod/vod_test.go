package vod

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/browsertest"
	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestTranscodeRealMedia runs the handler against the test S3 on real
// files and checks the output as a player would use it.
func TestTranscodeRealMedia(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes real media")
	}
	tests := []struct {
		name, media, key string
		cut              float64 // seconds to keep (0 = all), to keep the test short
		wantVideo        bool
		wantAudio        bool
		portrait         bool
		play             bool // also play it in hls.js (headless Chromium)
	}{
		{name: "landscape h264 with spaces and parens", media: "01_bbb_720p_h264_aac51.mp4", key: "phone/my video (1).mp4", wantVideo: true, wantAudio: true, play: true},
		{name: "rotated portrait mov non-ascii", media: "04_iphone4s_portrait_rot90.mov", key: "vacances/été à Zürich — 旅.mov", wantVideo: true, wantAudio: true, portrait: true},
		{name: "vp9 opus webm", media: "07_bbb_vp9_opus.webm", key: "web/bbb.webm", wantVideo: true, wantAudio: true},
		{name: "no audio", media: "11_bottles_640x360_noaudio.mp4", key: "cam/bottles.mp4", cut: 9, wantVideo: true},
		{name: "audio only", media: "14_t_rex_roar_audio_only.mp3", key: "sounds/t rex.mp3", wantAudio: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, env := newHandler(t)
			path := testenv.Media(t, tt.media)
			if tt.cut > 0 {
				path = cutSource(t, path, tt.cut)
			}
			key := t.Name() + "/" + tt.key
			uploadFile(t, env.Store, key, path)
			if err := h.Handle(context.Background(), putEvent(t, key)); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			noChildren(t)
			emptyDir(t, h.cfg.TmpDir)
			id := catalog.VideoID(key)
			checkOutput(t, env.Store, id, key, path, tt.wantVideo, tt.wantAudio, tt.portrait)
			if tt.play {
				playInBrowser(t, download(t, env.Store, id))
			}
		})
	}
}

// cutSource writes the first seconds of path to a temporary file, copying
// the streams.
func cutSource(t *testing.T, path string, seconds float64) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "cut"+filepath.Ext(path))
	cmd := exec.Command("ffmpeg", "-v", "error", "-i", path, "-t", strings.TrimRight(strings.TrimRight(
		strings.Replace(time.Duration(seconds*float64(time.Second)).String(), "s", "", 1), "0"), "."),
		"-c", "copy", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cut %s: %v %s", path, err, b)
	}
	return out
}

// checkOutput verifies a ready video: status, master, every playlist and
// object, decoding to the end, durations and master attributes.
func checkOutput(t *testing.T, st *store.Store, id, key, srcPath string, wantVideo, wantAudio, portrait bool) {
	t.Helper()
	ctx := context.Background()
	s := readStatus(t, st, id)
	fi, err := os.Stat(srcPath)
	if err != nil {
		t.Fatal(err)
	}
	srcDur := sourceDuration(t, srcPath)
	if s.State != catalog.StateReady || s.Error != "" || s.Progress != 1 {
		t.Fatalf("status %s %q progress %v, want ready", s.State, s.Error, s.Progress)
	}
	if s.ID != id || s.Source.Size != fi.Size() || s.Source.ETag == "" {
		t.Errorf("status source %+v id %s, want %d bytes and an ETag, id %s", s.Source, s.ID, fi.Size(), id)
	}
	// status.json is public: it names neither the bucket nor the key,
	// which holds the file's name.
	raw, err := st.GetBytes(ctx, testenv.BucketMedia, catalog.StatusKey(id))
	if err != nil {
		t.Fatal(err)
	}
	for _, private := range []string{testenv.BucketUploads, key, filepath.Base(key), `"bucket"`, `"key"`} {
		if strings.Contains(string(raw), private) {
			t.Errorf("status.json holds %q: %s", private, raw)
		}
	}
	if s.Playback != catalog.MasterKey(id) {
		t.Errorf("playback %q, want %q", s.Playback, catalog.MasterKey(id))
	}
	if !near(s.Duration, srcDur, 4) {
		t.Errorf("status duration %.2f, source %.2f", s.Duration, srcDur)
	}

	// Every object has the type and caching its kind needs.
	keys := listKeys(t, st, id)
	for _, k := range keys {
		info, err := st.Head(ctx, testenv.BucketMedia, k)
		if err != nil {
			t.Fatal(err)
		}
		want := store.For(k)
		if info.ContentType != want.ContentType || info.CacheControl != want.CacheControl {
			t.Errorf("%s: Content-Type %q Cache-Control %q, want %q %q", k, info.ContentType, info.CacheControl, want.ContentType, want.CacheControl)
		}
	}

	dir := download(t, st, id)
	m := parseMasterFile(t, filepath.Join(dir, "master.m3u8"))
	referenced := map[string]bool{catalog.MasterKey(id): true, catalog.StatusKey(id): true}
	sizes := map[string]int64{}
	checkRendition := func(uri string) (probed, float64) {
		path := filepath.Join(dir, filepath.FromSlash(uri))
		p := parseMediaFile(t, path)
		referenced[catalog.Prefix(id)+uri] = true
		// The master lists the upload's revisioned playlist; the same
		// playlist is also the rendition's stable index.m3u8.
		if stable := uri[:strings.LastIndex(uri, "/")+1] + "index.m3u8"; stable != uri {
			a, errA := os.ReadFile(filepath.Join(dir, filepath.FromSlash(stable)))
			b, errB := os.ReadFile(path)
			if errA != nil || errB != nil || !bytes.Equal(a, b) {
				t.Errorf("%s: the stable %s is missing or differs (%v, %v)", uri, stable, errA, errB)
			}
			referenced[catalog.Prefix(id)+stable] = true
		}
		var total int64
		for _, seg := range p.Segments {
			if seg.Map != nil { // a CMAF rendition's init segment
				referenced[catalog.Prefix(id)+uri[:strings.LastIndex(uri, "/")+1]+seg.Map.URI] = true
			}
			rel := filepath.Join(filepath.Dir(path), seg.URI)
			fi, err := os.Stat(rel)
			if err != nil {
				t.Errorf("%s lists %s: %v", uri, seg.URI, err)
				continue
			}
			total += fi.Size()
			referenced[catalog.Prefix(id)+strings.TrimPrefix(filepath.ToSlash(rel), filepath.ToSlash(dir)+"/")] = true
		}
		sizes[uri] = total
		if !p.EndList || p.Type != "VOD" {
			t.Errorf("%s: not a finished VOD playlist", uri)
		}
		got := p.Duration().Seconds()
		if !near(got, srcDur, 4) {
			t.Errorf("%s lasts %.2f s, source %.2f s: more than a segment apart", uri, got, srcDur)
		}
		pr := probePlaylist(t, path)
		decodeAll(t, path)
		return pr, got
	}

	var audioURI string
	for _, md := range m.Media {
		if md.Type == "AUDIO" {
			audioURI = md.URI
		}
	}
	if wantVideo {
		if (audioURI != "") != wantAudio {
			t.Errorf("audio rendition %q, want audio %v", audioURI, wantAudio)
		}
		if len(m.Variants) == 0 {
			t.Fatal("no variants")
		}
		var audioAvg int64
		if audioURI != "" {
			pr, dur := checkRendition(audioURI)
			if len(pr.Streams) != 1 || pr.Streams[0].CodecName != "aac" || pr.Streams[0].Channels != 2 {
				t.Errorf("audio rendition streams %+v, want one stereo AAC", pr.Streams)
			}
			audioAvg = int64(float64(sizes[audioURI]) * 8 / dur)
		}
		for i, v := range m.Variants {
			pr, dur := checkRendition(v.URI)
			if len(pr.Streams) != 1 || pr.Streams[0].CodecType != "video" {
				t.Fatalf("%s: streams %+v, want video only", v.URI, pr.Streams)
			}
			vs := pr.Streams[0]
			if v.Width != vs.Width || v.Height != vs.Height || v.Width%2 != 0 || v.Height%2 != 0 {
				t.Errorf("%s: RESOLUTION %dx%d, encoded %dx%d", v.URI, v.Width, v.Height, vs.Width, vs.Height)
			}
			if portrait != (vs.Height > vs.Width) {
				t.Errorf("%s: %dx%d, want portrait %v", v.URI, vs.Width, vs.Height, portrait)
			}
			wantCodecs := h264Codecs(vs.Profile, vs.Level)
			if wantAudio {
				wantCodecs += ",mp4a.40.2"
			}
			if v.Codecs != wantCodecs {
				t.Errorf("%s: CODECS %q, encoded %q", v.URI, v.Codecs, wantCodecs)
			}
			if fr := ratio(vs.AvgFrameRate); !near(v.FrameRate, fr, 0.05) {
				t.Errorf("%s: FRAME-RATE %.3f, encoded %.3f", v.URI, v.FrameRate, fr)
			}
			wantAvg := int64(float64(sizes[v.URI])*8/dur) + audioAvg
			if !near(float64(v.AverageBandwidth), float64(wantAvg), float64(wantAvg)/50) || v.Bandwidth < v.AverageBandwidth {
				t.Errorf("%s: BANDWIDTH %d AVERAGE-BANDWIDTH %d, measured average %d", v.URI, v.Bandwidth, v.AverageBandwidth, wantAvg)
			}
			if wantAudio != (v.Audio != "") {
				t.Errorf("%s: AUDIO group %q, want audio %v", v.URI, v.Audio, wantAudio)
			}
			if i > 0 && v.Height*v.Width >= m.Variants[i-1].Height*m.Variants[i-1].Width {
				t.Errorf("variants not from highest to lowest")
			}
		}
	} else {
		if len(m.Variants) != 1 || len(m.Media) != 0 {
			t.Fatalf("audio-only master: %+v, want one variant", m)
		}
		v := m.Variants[0]
		pr, _ := checkRendition(v.URI)
		if len(pr.Streams) != 1 || pr.Streams[0].CodecType != "audio" || v.Codecs != "mp4a.40.2" || v.Width != 0 {
			t.Errorf("audio-only variant %+v streams %+v", v, pr.Streams)
		}
	}
	if hasVideo := len(m.Media) > 0 || (len(m.Variants) > 0 && m.Variants[0].Width > 0); hasVideo {
		if want := catalog.PosterKey(id, s.Source); s.Poster != want {
			t.Errorf("status poster %q, want %q", s.Poster, want)
		}
		referenced[s.Poster] = true
	} else if s.Poster != "" {
		t.Errorf("audio-only video has poster %q", s.Poster)
	}
	referenced[checkDownload(t, st, testenv.BucketMedia, s, wantVideo, wantAudio, media.DefaultSegmentSeconds)] = true
	for _, k := range checkStoryboard(t, st, testenv.BucketMedia, s, wantVideo) {
		referenced[k] = true
	}
	if s.DASH != "" {
		referenced[s.DASH] = true // checked by checkMPD, over the same files
	}
	for _, k := range keys {
		if !referenced[k] {
			t.Errorf("object %s is not referenced by any playlist", k)
		}
	}
	if len(s.Renditions) != len(m.Variants)+len(m.Media) {
		t.Errorf("status lists %d renditions, master %d", len(s.Renditions), len(m.Variants)+len(m.Media))
	}
	for i, r := range s.Renditions {
		if i < len(m.Variants) && wantVideo && (r.Width != m.Variants[i].Width || int64(r.Bandwidth) != m.Variants[i].Bandwidth || r.Codecs != m.Variants[i].Codecs) {
			t.Errorf("status rendition %+v does not match variant %+v", r, m.Variants[i])
		}
	}
	if !slices.Contains(keys, catalog.MasterKey(id)) {
		t.Error("no master key listed")
	}
}

// playInBrowser serves a downloaded output (with CORS, as the edge does)
// and plays its master in hls.js to past 4 s with no fatal error.
func playInBrowser(t *testing.T, dir string) []browsertest.Level {
	t.Helper()
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Content-Type", store.ContentType(r.URL.Path))
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()
	res, err := browsertest.Play(t, srv.URL+"/master.m3u8", browsertest.Options{MinTime: 4, Artifacts: t.TempDir()})
	if err != nil {
		t.Fatalf("hls.js playback: %v; result %+v", err, res)
	}
	if len(res.Levels) == 0 || len(res.FatalErrors()) > 0 {
		t.Errorf("hls.js saw levels %+v, fatal errors %+v", res.Levels, res.FatalErrors())
	}
	t.Logf("hls.js %s played to %.1f s, levels %v", res.Version, res.CurrentTime, res.Heights())
	return res.Levels
}
