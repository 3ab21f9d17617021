package vod

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/chunk"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// putOptions writes the API's record of upload id with options, as
// POST /api/uploads does before the bytes arrive.
func putOptions(t *testing.T, st *store.Store, bucket, id, record string) {
	t.Helper()
	if err := st.PutBytes(context.Background(), bucket, catalog.RecordKey(id), []byte(record), store.Object{ContentType: "application/json"}); err != nil {
		t.Fatal(err)
	}
}

// TestTranscodeExtraCodecs: an upload that asks for hevc and av1 on a
// deployment whose default is MPEG-TS H.264 gets one CMAF master with its
// H.264, HEVC and AV1 variants: each decodes with ffmpeg (AV1 with
// libdav1d), HEVC's sample entry is hvc1, each CODECS is what ffprobe
// reads of the stream, status.json names each rendition's codec, and
// Chromium's hls.js plays the AV1 variant.
func TestTranscodeExtraCodecs(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes HEVC and AV1")
	}
	h, env := newHandler(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "clip.mp4")
	gen := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=6", "-f", "lavfi", "-i", "sine=d=6",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", src)
	if b, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("make source: %v %s", err, b)
	}
	key := t.Name() + "/clip.mp4"
	id := catalog.VideoID(key)
	putOptions(t, env.Store, testenv.BucketMedia, id, `{"id":"`+id+`","options":{"codecs":["hevc","av1"]}}`)
	uploadFile(t, env.Store, key, src)
	if err := h.Handle(context.Background(), putEvent(t, key)); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	noChildren(t)
	emptyDir(t, h.cfg.TmpDir)
	s := readStatus(t, env.Store, id)
	if s.State != catalog.StateReady {
		t.Fatalf("status %s %q", s.State, s.Error)
	}
	codecOf := map[string]string{}
	for _, r := range s.Renditions {
		codecOf[r.Name] = r.Codec
	}
	if want := map[string]string{"360p": "h264", "360p-hevc": "hevc", "360p-av1": "av1", "audio": ""}; !reflect.DeepEqual(codecOf, want) {
		t.Errorf("status renditions' codecs %v, want %v", codecOf, want)
	}

	out := download(t, env.Store, id)
	m := parseMasterFile(t, filepath.Join(out, "master.m3u8"))
	if len(m.Variants) != 3 {
		t.Fatalf("variants %+v", m.Variants)
	}
	rev := s.Source.Revision()
	for i, v := range m.Variants {
		name := strings.Split(v.URI, "/")[0]
		if want := []string{"360p", "360p-hevc", "360p-av1"}[i]; name != want {
			t.Errorf("variant %d is %s, want %s (H.264 first)", i, name, want)
		}
		if v.Audio != hls.AudioGroup || v.Width != 640 || v.Height != 360 || v.Bandwidth <= 0 {
			t.Errorf("%s: %+v", name, v)
		}
		playlist := filepath.Join(out, filepath.FromSlash(v.URI))
		p := parseMediaFile(t, playlist)
		if p.Segments[0].Map == nil || p.Segments[0].Map.URI != media.InitName(rev) {
			t.Errorf("%s: not CMAF: %+v", name, p.Segments[0])
		}
		init := filepath.Join(out, name, media.InitName(rev))
		raw, err := os.ReadFile(init)
		if err != nil {
			t.Fatal(err)
		}
		pr := probePlaylist(t, playlist)
		if len(pr.Streams) != 1 {
			t.Fatalf("%s: streams %+v", name, pr.Streams)
		}
		st := pr.Streams[0]
		video, audio, _ := strings.Cut(v.Codecs, ",")
		if audio != "mp4a.40.2" {
			t.Errorf("%s: CODECS %q lack the audio's", name, v.Codecs)
		}
		decoder := ""
		switch name {
		case "360p":
			if st.CodecName != "h264" || video != h264Codecs(st.Profile, st.Level) {
				t.Errorf("%s: CODECS %q, ffprobe %s %s %d", name, v.Codecs, st.CodecName, st.Profile, st.Level)
			}
		case "360p-hevc":
			// The sample entry is hvc1 (parameter sets in the init
			// segment only), which Apple's players require.
			if st.CodecName != "hevc" || st.Profile != "Main" || !strings.HasPrefix(video, "hvc1.1.6.L"+strconv.Itoa(st.Level)+".") ||
				!bytes.Contains(raw, []byte("hvc1")) || bytes.Contains(raw, []byte("hev1")) {
				t.Errorf("%s: CODECS %q, ffprobe %s %s %d", name, v.Codecs, st.CodecName, st.Profile, st.Level)
			}
		case "360p-av1":
			if st.CodecName != "av1" || st.Profile != "Main" || video != "av01.0."+twoDigit(st.Level)+"M.08" || !bytes.Contains(raw, []byte("av01")) {
				t.Errorf("%s: CODECS %q, ffprobe %s %s %d", name, v.Codecs, st.CodecName, st.Profile, st.Level)
			}
			decoder = "libdav1d"
		}
		if d := ratio(st.AvgFrameRate); !near(d, 25, 0.01) {
			t.Errorf("%s: %g fps", name, d)
		}
		args := []string{"-v", "error", "-protocol_whitelist", "file"}
		if decoder != "" {
			args = append(args, "-c:v", decoder)
		}
		if b, err := exec.Command("ffmpeg", append(args, "-i", playlist, "-f", "null", "-")...).CombinedOutput(); err != nil || len(bytes.TrimSpace(b)) > 0 {
			t.Errorf("%s does not decode: %v %s", name, err, b)
		}
	}
	// The AV1 variant alone, in Chromium: hls.js keeps it (MSE says it
	// can decode av01) and plays it.
	av1 := *m
	av1.Variants = m.Variants[2:]
	b, err := av1.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "master.m3u8"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	lv := playInBrowser(t, out)
	if len(lv) != 1 || !strings.HasPrefix(lv[0].Codecs, "av01.") {
		t.Errorf("hls.js levels %+v, want the AV1 variant", lv)
	}
}

func twoDigit(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// The codecs of an upload: its own choice, else the deployment's; a
// record that does not decode is the deployment's choice.
func TestUploadCodecsChoice(t *testing.T) {
	h, env := newHandler(t)
	h.cfg.Codecs = []media.Codec{media.HEVC}
	l, err := media.PlanLadder(&media.Source{Video: &media.Video{Width: 1280, Height: 720, FPS: 30}}, media.LadderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		record string
		want   []string
	}{
		"no record":   {"", []string{"720p-hevc", "480p-hevc"}},
		"no options":  {`{"id":"x"}`, []string{"720p-hevc", "480p-hevc"}},
		"h264 only":   {`{"options":{"codecs":["h264"]}}`, nil},
		"av1":         {`{"options":{"codecs":["av1"]}}`, []string{"720p-av1", "480p-av1"}},
		"tampered":    {`{"options":{"codecs":["vp9"]}}`, []string{"720p-hevc", "480p-hevc"}},
		"not json":    {`{"options":`, []string{"720p-hevc", "480p-hevc"}},
		"wrong types": {`{"options":{"codecs":"av1"}}`, []string{"720p-hevc", "480p-hevc"}},
	} {
		t.Run(name, func(t *testing.T) {
			id := catalog.VideoID(strings.ReplaceAll(t.Name(), " ", "-") + "/a.mp4")
			if tt.record != "" {
				putOptions(t, env.Store, testenv.BucketMedia, id, tt.record)
			}
			j := &job{Pipeline: h, id: id, log: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
			got, err := j.withCodecs(context.Background(), l)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, r := range got.Extra {
				names = append(names, r.Name)
			}
			if !reflect.DeepEqual(names, tt.want) || !reflect.DeepEqual(got.Video, l.Video) {
				t.Errorf("extra rungs %v, want %v", names, tt.want)
			}
		})
	}
}

// A source long enough for the fan-out is encoded in chunks with its HEVC
// rungs too, in CMAF, every chunk's init segment the same bytes (the
// fan-out checks it), and the joined HEVC rendition decodes whole.
func TestChunkedSourceWithCodecs(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes real media")
	}
	h := newTranscoder(t)
	h.cfg.Codecs = []media.Codec{media.HEVC}
	var calls atomic.Int32
	faults.set(func(chunk.Request) bool { calls.Add(1); return false })
	defer faults.set(nil)
	s := transcodeUpload(t, h, "codecs/chunked.mp4")
	if s.State != catalog.StateReady || calls.Load() < 2 {
		t.Fatalf("status %s %q after %d chunk encodes, want ready after several", s.State, s.Error, calls.Load())
	}
	var hevc int
	for _, r := range s.Renditions {
		if r.Codec == "hevc" {
			hevc++
			if !strings.HasPrefix(r.Codecs, "hvc1.") {
				t.Errorf("%s: codecs %q", r.Name, r.Codecs)
			}
		}
	}
	if hevc != 2 {
		t.Errorf("%d HEVC renditions, want 2: %+v", hevc, s.Renditions)
	}
	// Every rendition joined from the chunks decodes without a warning.
	out := download(t, st, s.ID)
	m := parseMasterFile(t, filepath.Join(out, "master.m3u8"))
	for _, v := range m.Variants {
		playlist := filepath.Join(out, filepath.FromSlash(v.URI))
		if b, err := exec.Command("ffmpeg", "-v", "warning", "-nostdin", "-protocol_whitelist", "file", "-i", playlist, "-f", "null", "-").CombinedOutput(); err != nil || len(bytes.TrimSpace(b)) > 0 {
			t.Errorf("joined %s does not decode cleanly: %v %s", v.URI, err, b)
		}
	}
	keys, err := st.List(context.Background(), "media", catalog.Prefix(s.ID))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.HasSuffix(k, ".ts") {
			t.Errorf("MPEG-TS segment %s in a video with HEVC rungs", k)
		}
	}
}

// A 29.97 fps source with AV1 asked for gets its AV1 rung on the chunked
// path as on the single-process one: the same renditions, every
// rendition's segments 4.004 s (120 frames, the whole-frame segment of
// media.PlanCodecs) index by index on both paths, every keyframe the
// first frame of a segment (SVT-AV1's GOP counted in frames, x264's
// forced by time), the DASH manifest's timelines agree, and each joined
// rendition decodes. The fan-out checks itself that the chunks' init
// segments are the same bytes.
func TestChunkedNTSCWithAV1(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes AV1")
	}
	src := filepath.Join(t.TempDir(), "ntsc.mp4")
	gen := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=30000/1001:d=17", "-f", "lavfi", "-i", "sine=d=17",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", src)
	if b, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("make source: %v %s", err, b)
	}
	var calls atomic.Int32
	faults.set(func(chunk.Request) bool { calls.Add(1); return false })
	defer faults.set(nil)
	chunked := newTranscoder(t)
	chunked.cfg.Codecs = []media.Codec{media.AV1}
	// Chunks of whole segments up to 8.1 s: two 4.004 s segments each
	// after the first, so AV1's second keyframe of a chunk is its GOP's.
	chunked.cfg.ChunkSeconds = 8.1
	single := newTranscoder(t)
	single.cfg.Codecs = []media.Codec{media.AV1}
	single.chunks = nil                        // one ffmpeg in this process
	segments := map[string][][]time.Duration{} // path: each rendition's
	var renditions [][]catalog.Rendition
	for _, p := range []struct {
		name string
		h    *Pipeline
	}{{"chunked", chunked}, {"single", single}} {
		before := calls.Load()
		s, err := runTranscodeFile(p.h, "ntsc/"+p.name+".mp4", src)
		if err != nil {
			t.Fatal(err)
		}
		if s.State != catalog.StateReady {
			t.Fatalf("%s: status %s %q", p.name, s.State, s.Error)
		}
		if n := calls.Load() - before; (p.name == "chunked") != (n >= 2) {
			t.Fatalf("%s: %d chunk encodes", p.name, n)
		}
		var rs []catalog.Rendition
		for _, r := range s.Renditions {
			r.Bandwidth = 0 // measured: the joins' bytes may differ a little
			rs = append(rs, r)
		}
		renditions = append(renditions, rs)
		out := download(t, st, s.ID)
		m := parseMasterFile(t, filepath.Join(out, "master.m3u8"))
		var av1 bool
		for _, v := range m.Variants {
			playlist := filepath.Join(out, filepath.FromSlash(v.URI))
			av1 = av1 || strings.HasPrefix(v.Codecs, "av01.")
			pl := parseMediaFile(t, playlist)
			var durs []time.Duration
			var starts []float64
			var at float64
			for _, sg := range pl.Segments {
				durs = append(durs, sg.Duration)
				starts = append(starts, at)
				at += sg.Duration.Seconds()
			}
			segments[p.name] = append(segments[p.name], durs)
			if len(durs) != 5 || slices.ContainsFunc(durs[:4], func(d time.Duration) bool { return d != 4004*time.Millisecond }) {
				t.Errorf("%s %s: segments %v, want 4.004 s ones", p.name, v.URI, durs)
			}
			if keys := testenv.KeyframeTimes(t, playlist); !slices.EqualFunc(keys, starts, func(a, b float64) bool { return math.Abs(a-b) < 0.5/29.97 }) {
				t.Errorf("%s %s: keyframes at %v, segments start at %v", p.name, v.URI, keys, starts)
			}
			args := []string{"-v", "warning", "-nostdin", "-protocol_whitelist", "file"}
			if strings.HasPrefix(v.Codecs, "av01.") {
				args = append(args, "-c:v", "libdav1d")
			}
			if b, err := exec.Command("ffmpeg", append(args, "-i", playlist, "-f", "null", "-")...).CombinedOutput(); err != nil || len(bytes.TrimSpace(b)) > 0 {
				t.Errorf("%s %s does not decode cleanly: %v %s", p.name, v.URI, err, b)
			}
		}
		t.Logf("%s: %d chunk encodes, segments %v", p.name, calls.Load()-before, segments[p.name])
		// The DASH manifest over the same segments says the same.
		for rep, d := range mpdVideoDurations(t, filepath.Join(out, "manifest.mpd")) {
			if len(d) != 5 || slices.ContainsFunc(d[:4], func(d int64) bool { return d != 4004 }) {
				t.Errorf("%s: MPD representation %s segments %v ms, want 4004 ms ones", p.name, rep, d)
			}
		}
		if !av1 {
			t.Errorf("%s: no AV1 variant in %+v", p.name, m.Variants)
		}
	}
	if !reflect.DeepEqual(renditions[0], renditions[1]) {
		t.Errorf("renditions chunked %+v, single-process %+v", renditions[0], renditions[1])
	}
	for i, d := range segments["chunked"] {
		if i >= len(segments["single"]) || !slices.Equal(d, segments["chunked"][0]) || !slices.Equal(d, segments["single"][i]) {
			t.Errorf("rendition %d's segments chunked %v, single-process %v, the first's %v", i, d, segments["single"], segments["chunked"][0])
		}
	}
}

// mpdVideoDurations are the segment durations (in the MPD's timescale)
// of each video representation of the DASH manifest at path.
func mpdVideoDurations(t *testing.T, path string) map[string][]int64 {
	t.Helper()
	mpd := readMPD(t, path)
	out := map[string][]int64{}
	for _, set := range mpd.Sets {
		for _, rep := range set.Reps {
			if set.ContentType != "video" {
				continue
			}
			for _, s := range rep.Template.S {
				for range s.R + 1 {
					out[rep.ID] = append(out[rep.ID], s.D)
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no video representations", path)
	}
	return out
}
