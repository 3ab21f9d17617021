package vod

import (
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/captions"
	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/subtitles"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// tracksSource makes a seconds-long 320x240 video with two audio tracks
// (440 Hz "eng" titled English, 880 Hz "fra" titled Commentary) and, when
// srt is not empty, a mov_text subtitle track in Spanish made from it.
func tracksSource(t testing.TB, dir string, seconds int, srt string) string {
	t.Helper()
	out := filepath.Join(dir, "tracks.mp4")
	d := strconv.Itoa(seconds)
	args := []string{"-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=" + d,
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=" + d,
		"-f", "lavfi", "-i", "sine=frequency=880:sample_rate=48000:duration=" + d}
	maps := []string{"-map", "0:v", "-map", "1:a", "-map", "2:a"}
	if srt != "" {
		p := filepath.Join(dir, "subs.srt")
		if err := os.WriteFile(p, []byte(srt), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-i", p)
		maps = append(maps, "-map", "3:s", "-c:s", "mov_text", "-metadata:s:s:0", "language=spa", "-metadata:s:s:0", "handler_name=Español")
	}
	args = append(args, maps...)
	args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
		"-metadata:s:a:0", "language=eng", "-metadata:s:a:0", "handler_name=English",
		"-metadata:s:a:1", "language=fra", "-metadata:s:a:1", "handler_name=Commentary", out)
	if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("make source: %v: %s", err, b)
	}
	return out
}

// pitch decodes an audio playlist to mono 8 kHz and returns its frequency
// from the zero crossings: which source stream a rendition holds.
func pitch(t *testing.T, playlist string) float64 {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-protocol_whitelist", "file", "-i", playlist,
		"-ac", "1", "-ar", "8000", "-f", "s16le", "-").Output()
	if err != nil {
		t.Fatalf("decode %s: %v", playlist, err)
	}
	n := len(out) / 2
	if n < 8000 {
		t.Fatalf("%s decodes to %d samples", playlist, n)
	}
	crossings, prev := 0, int16(0)
	for i := range n {
		s := int16(binary.LittleEndian.Uint16(out[2*i:]))
		if (s >= 0) != (prev >= 0) {
			crossings++
		}
		prev = s
	}
	return float64(crossings) / 2 / (float64(n) / 8000)
}

// checkTracks wants the master to offer both audio tracks, labelled from
// the source, the first the default, each a rendition holding its own
// stream; and status.json to name them.
func checkTracks(t *testing.T, s3 *store.Store, bucket string, s *catalog.Status) {
	t.Helper()
	if s.State != catalog.StateReady {
		t.Fatalf("state %s (%s), want ready", s.State, s.Error)
	}
	want := []catalog.AudioTrack{{Language: "eng", Name: "English", Default: true}, {Language: "fra", Name: "Commentary"}}
	if !slices.Equal(s.AudioTracks, want) {
		t.Errorf("status audioTracks = %+v, want %+v", s.AudioTracks, want)
	}
	dir := t.TempDir()
	keys, err := s3.List(context.Background(), bucket, catalog.Prefix(s.ID))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		b, err := s3.GetBytes(context.Background(), bucket, k)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(k, catalog.Prefix(s.ID))))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := parseMasterFile(t, filepath.Join(dir, "master.m3u8"))
	var audio []hls.Media
	for _, x := range m.Media {
		if x.Type == hls.MediaAudio {
			audio = append(audio, x)
		}
	}
	if len(audio) != 2 {
		t.Fatalf("master has %d audio renditions, want 2: %+v", len(audio), m.Media)
	}
	freqs := []float64{440, 880}
	for i, a := range audio {
		if a.Language != want[i].Language || a.Name != want[i].Name || a.Default != want[i].Default || !a.Autoselect || a.GroupID != hls.AudioGroup {
			t.Errorf("audio rendition %d: %+v, want %+v", i, a, want[i])
		}
		p := probePlaylist(t, filepath.Join(dir, a.URI))
		if len(p.Streams) != 1 || p.Streams[0].CodecName != "aac" || p.Streams[0].Channels != 2 {
			t.Errorf("%s: streams %+v, want one stereo AAC", a.URI, p.Streams)
		}
		if f := pitch(t, filepath.Join(dir, a.URI)); !near(f, freqs[i], 10) {
			t.Errorf("%s sounds at %.0f Hz, want %.0f Hz (the source's track %d)", a.URI, f, freqs[i], i+1)
		}
	}
	for _, v := range m.Variants {
		if v.Audio != hls.AudioGroup {
			t.Errorf("variant %s offers audio group %q", v.URI, v.Audio)
		}
		p := probePlaylist(t, filepath.Join(dir, v.URI))
		if len(p.Streams) != 1 || p.Streams[0].CodecType != "video" {
			t.Errorf("%s holds %+v, want the video alone", v.URI, p.Streams)
		}
	}
}

func TestEveryAudioTrackIsARendition(t *testing.T) {
	h, env := newHandler(t)
	src := tracksSource(t, t.TempDir(), 6, "")
	uploadFile(t, env.Store, "tracks.mp4", src)
	if err := h.Handle(context.Background(), putEvent(t, "tracks.mp4")); err != nil {
		t.Fatal(err)
	}
	checkTracks(t, env.Store, testenv.BucketMedia, readStatus(t, env.Store, catalog.VideoID("tracks.mp4")))
}

func TestChunkedEncodeHasEveryAudioTrack(t *testing.T) {
	h := newTranscoder(t)
	src := tracksSource(t, t.TempDir(), 20, "1\n00:00:17,000 --> 00:00:18,000\nal final\n")
	ctx := context.Background()
	if err := st.PutFile(ctx, "uploads", "tracks-chunked.mp4", src, store.Object{ContentType: "video/mp4"}); err != nil {
		t.Fatal(err)
	}
	if err := h.Handle(ctx, putEvent(t, "tracks-chunked.mp4")); err != nil {
		t.Fatal(err)
	}
	s, err := catalog.Read(ctx, st, "media", catalog.VideoID("tracks-chunked.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	checkTracks(t, st, "media", s)
	// The chunks' timeline starts at chunk.TimeBase: the caption's
	// timestamp map follows it.
	if len(s.Captions) != 1 {
		t.Fatalf("captions %+v", s.Captions)
	}
	vtt, err := st.GetBytes(ctx, "media", s.Captions[0].URI)
	if err != nil {
		t.Fatal(err)
	}
	checkCaptionFile(t, st, "media", s.ID, string(vtt), []string{"00:00:17.000 --> 00:00:18.000\nal final"})
}

// A source's subtitle track becomes a subtitles rendition: checked WebVTT
// on the segments' clock, offered with every variant, named in
// status.json.
func TestSourceSubtitlesAreExtracted(t *testing.T) {
	h, env := newHandler(t)
	srt := "1\n00:00:01,000 --> 00:00:02,500\nHola <b>mundo</b>\n\n2\n00:00:03,000 --> 00:00:04,000\nAdiós\n"
	src := tracksSource(t, t.TempDir(), 6, srt)
	uploadFile(t, env.Store, "subs.mp4", src)
	if err := h.Handle(context.Background(), putEvent(t, "subs.mp4")); err != nil {
		t.Fatal(err)
	}
	id := catalog.VideoID("subs.mp4")
	s := readStatus(t, env.Store, id)
	if s.State != catalog.StateReady {
		t.Fatalf("state %s (%s)", s.State, s.Error)
	}
	if len(s.Captions) != 1 || s.Captions[0].Language != "spa" || s.Captions[0].Name != "Español" {
		t.Fatalf("status captions %+v, want one Spanish", s.Captions)
	}
	ctx := context.Background()
	vtt, err := env.Store.GetBytes(ctx, testenv.BucketMedia, s.Captions[0].URI)
	if err != nil {
		t.Fatal(err)
	}
	checkCaptionFile(t, env.Store, testenv.BucketMedia, id, string(vtt), []string{"00:00:01.000 --> 00:00:02.500\nHola <b>mundo</b>", "00:00:03.000 --> 00:00:04.000\nAdiós"})
}

// checkCaptionFile wants the cues, and a timestamp map naming the first
// video frame's PTS of the first variant, and the master offering the
// subtitles with every variant.
func checkCaptionFile(t *testing.T, s3 *store.Store, bucket, id, vtt string, cues []string) {
	t.Helper()
	ctx := context.Background()
	for _, c := range cues {
		if !strings.Contains(vtt, c) {
			t.Errorf("caption file lacks %q:\n%s", c, vtt)
		}
	}
	b, err := s3.GetBytes(ctx, bucket, catalog.MasterKey(id))
	if err != nil {
		t.Fatal(err)
	}
	m, err := hls.ParseMaster(b)
	if err != nil {
		t.Fatal(err)
	}
	var subs []hls.Media
	for _, x := range m.Media {
		if x.Type == hls.MediaSubtitles {
			subs = append(subs, x)
		}
	}
	if len(subs) == 0 {
		t.Fatalf("master has no subtitles:\n%s", b)
	}
	for _, v := range m.Variants {
		if v.Subtitles != hls.SubtitlesGroup {
			t.Errorf("variant %s: SUBTITLES=%q", v.URI, v.Subtitles)
		}
	}
	pl, err := s3.GetBytes(ctx, bucket, catalog.Prefix(id)+subs[0].URI)
	if err != nil {
		t.Fatal(err)
	}
	p, err := hls.ParseMedia(pl)
	if err != nil || len(p.Segments) != 1 || p.Duration().Seconds() < 2.5 {
		t.Errorf("subtitles playlist: %v\n%s", err, pl)
	}
	dir := t.TempDir()
	seg := filepath.Join(dir, "seg.ts")
	vp, _ := s3.GetBytes(ctx, bucket, catalog.Prefix(id)+m.Variants[0].URI)
	vpl, _ := hls.ParseMedia(vp)
	first, err := s3.GetBytes(ctx, bucket, catalog.Prefix(id)+path.Dir(m.Variants[0].URI)+"/"+vpl.Segments[0].URI)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seg, first, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts",
		"-read_intervals", "%+#1", "-of", "csv=p=0", seg).Output()
	if err != nil {
		t.Fatal(err)
	}
	pts, _, _ := strings.Cut(strings.TrimSpace(string(out)), ",")
	if want := "X-TIMESTAMP-MAP=MPEGTS:" + pts + ",LOCAL:00:00:00.000\n"; !strings.Contains(vtt, want) {
		t.Errorf("caption file lacks %q:\n%s", want, vtt)
	}
}

// A caption sent for a video is published with every later version: a
// re-upload keeps it (the source's own subtitles are those of the newest
// upload).
func TestReuploadKeepsCaptions(t *testing.T) {
	h, env := newHandler(t)
	ctx := context.Background()
	dir := t.TempDir()
	uploadFile(t, env.Store, "keep.mp4", tracksSource(t, dir, 4, "1\n00:00:00,500 --> 00:00:01,000\nuno\n"))
	if err := h.Handle(ctx, putEvent(t, "keep.mp4")); err != nil {
		t.Fatal(err)
	}
	id := catalog.VideoID("keep.mp4")
	tr, err := captions.Parse([]byte("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nkept across uploads\n"))
	if err != nil {
		t.Fatal(err)
	}
	subs := subtitles.Store{S: env.Store, Bucket: testenv.BucketMedia}
	if _, _, err := subs.Add(ctx, id, "en", "English", subtitles.Upload, tr); err != nil {
		t.Fatal(err)
	}
	// A different file under the same key (no subtitles of its own).
	uploadFile(t, env.Store, "keep.mp4", tracksSource(t, t.TempDir(), 5, ""))
	if err := h.Handle(ctx, putEvent(t, "keep.mp4")); err != nil {
		t.Fatal(err)
	}
	s := readStatus(t, env.Store, id)
	if s.State != catalog.StateReady || s.Replacement != nil || s.Duration < 4.5 {
		t.Fatalf("not replaced: %+v", s)
	}
	if len(s.Captions) != 1 || s.Captions[0].Language != "en" || !strings.Contains(s.Captions[0].URI, s.Source.Revision()) {
		t.Fatalf("captions after the re-upload: %+v (revision %s)", s.Captions, s.Source.Revision())
	}
	vtt, err := env.Store.GetBytes(ctx, testenv.BucketMedia, s.Captions[0].URI)
	if err != nil {
		t.Fatal(err)
	}
	checkCaptionFile(t, env.Store, testenv.BucketMedia, id, string(vtt), []string{"00:00:01.000 --> 00:00:02.000\nkept across uploads"})
	// The old version is retired (before Handle returns): only the new
	// version's caption files are left.
	for _, k := range listKeys(t, env.Store, id) {
		if strings.Contains(k, "/subs/") && catalog.RevisionOf(k) != s.Source.Revision() {
			t.Errorf("the replaced version's caption file %s is left", k)
		}
	}
}

// A caption the API kept while the job ran (and answered "pending" for)
// is published once the job's status.json says ready.
func TestCaptionSentWhileProcessingIsPublished(t *testing.T) {
	h, env := newHandler(t)
	ctx := context.Background()
	uploadFile(t, env.Store, "late.mp4", tracksSource(t, t.TempDir(), 3, ""))
	if err := h.Handle(ctx, putEvent(t, "late.mp4")); err != nil {
		t.Fatal(err)
	}
	id := catalog.VideoID("late.mp4")
	subs := subtitles.Store{S: env.Store, Bucket: testenv.BucketMedia}
	before, err := subs.Version(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	master, err := env.Store.GetBytes(ctx, testenv.BucketMedia, catalog.MasterKey(id))
	if err != nil {
		t.Fatal(err)
	}
	// As the job saw things when it published, then the API's caption.
	j := &job{Pipeline: h, id: id, st: readStatus(t, env.Store, id), log: quiet}
	res := &result{master: master, ladder: media.Ladder{Video: []media.Rung{{Name: "240p"}}}, captionsVersion: before}
	tr, _ := captions.Parse([]byte("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nlate\n"))
	if _, _, err := subs.Add(ctx, id, "it", "", subtitles.Upload, tr); err != nil {
		t.Fatal(err)
	}
	j.recaption(ctx, res)
	s := readStatus(t, env.Store, id)
	if len(s.Captions) != 1 || s.Captions[0].Language != "it" {
		t.Fatalf("status captions %+v", s.Captions)
	}
	vtt, err := env.Store.GetBytes(ctx, testenv.BucketMedia, s.Captions[0].URI)
	if err != nil {
		t.Fatal(err)
	}
	checkCaptionFile(t, env.Store, testenv.BucketMedia, id, string(vtt), []string{"late"})
}
