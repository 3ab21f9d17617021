package vod

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"testing"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
)

// A 1 kHz tone, encoded in chunks (4 s, then 8 s: joins at 4 and 12 s of
// 17), joins without a click or a gap: decoded to PCM, the track follows
// the tone across every join as closely as the single-process encode of
// the same source does anywhere, it holds the same number of samples as
// that encode (and as the source, plus AAC's priming), and it ends with
// the video.
func TestChunkedAudioIsContinuous(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes a 17 s source twice")
	}
	setup(t)
	const (
		seconds = 17.0
		rate    = 48000
		tone    = 1000.0
	)
	dir := t.TempDir()
	src := filepath.Join(dir, "tone.mp4")
	d := fmt.Sprint(seconds)
	if out, err := exec.Command("ffmpeg", "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc=size=320x180:rate=25:duration="+d,
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%g:sample_rate=%d:duration=%s", tone, rate, d),
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "192k", src).CombinedOutput(); err != nil {
		t.Fatalf("make source: %v: %s", err, out)
	}
	chunked, err := runTranscodeFile(newTranscoder(t), "tone-chunked.mp4", src)
	if err != nil {
		t.Fatal(err)
	}
	one, err := New(Config{MediaBucket: "media", UploadsBucket: "uploads", Preset: "superfast"}, Deps{Store: st, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	whole, err := runTranscodeFile(one, "tone-whole.mp4", src)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*catalog.Status{chunked, whole} {
		if s.State != catalog.StateReady {
			t.Fatalf("%s: state %s (%s), want ready", s.ID, s.State, s.Error)
		}
	}
	pcm := func(s *catalog.Status) []float64 {
		ts := joinRendition(t, s, "audio", dir)
		raw := filepath.Join(dir, s.ID+".f32")
		// Mono: the ladder's stereo is the tone twice.
		if out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-i", ts, "-ac", "1", "-ar", fmt.Sprint(rate), "-f", "f32le", raw).CombinedOutput(); err != nil {
			t.Fatalf("decode %s: %v: %s", ts, err, out)
		}
		return readF32(t, raw)
	}
	got, ref := pcm(chunked), pcm(whole)

	// The source's own samples (its MP4 edit list drops its priming).
	raw := filepath.Join(dir, "source.f32")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-i", src, "-vn", "-ac", "1", "-f", "f32le", raw).CombinedOutput(); err != nil {
		t.Fatalf("decode source: %v: %s", err, out)
	}
	srcSamples := len(readF32(t, raw))
	const frame = 1024
	if len(got) != len(ref) {
		t.Errorf("chunked track has %d samples, the single encode %d", len(got), len(ref))
	}
	// The TS track starts with the encoder's priming frame and ends on a
	// whole frame.
	if extra := len(got) - frame - srcSamples; extra < 0 || extra >= frame {
		t.Errorf("chunked track has %d samples: %d past the source's %d and the priming, want 0..%d", len(got), extra, srcSamples, frame-1)
	}

	// A pure tone y obeys y[n+1] + y[n-1] = 2cos(ω)·y[n]; what is left is
	// coding noise, and a click or a gap stands out of it (a join of
	// independently encoded chunks measures some 200 times the noise;
	// one frame of pre-roll short of what AAC needs, 10 times).
	w := 2 * math.Cos(2*math.Pi*tone/rate)
	residual := func(y []float64, from, to int) float64 {
		m := 0.0
		for n := max(1, from); n < min(to, len(y)-1); n++ {
			m = max(m, math.Abs(y[n+1]+y[n-1]-w*y[n]))
		}
		return m
	}
	// Skip the first and last frames: the tone's start and end are steps.
	edge := 4 * frame
	noise := residual(ref, edge, len(ref)-edge)
	if noise == 0 {
		t.Fatal("the single encode's track is silent")
	}
	if r := residual(got, edge, len(got)-edge); r > 3*noise {
		t.Errorf("chunked track departs from the tone by %.5f, the single encode by %.5f at most", r, noise)
	}
	amp := 0.0
	for _, v := range ref[edge : len(ref)-edge] {
		amp = max(amp, math.Abs(v))
	}
	for _, join := range []float64{4, 12} {
		at := int(join*rate) + frame // the priming comes first
		r := residual(got, at-2*frame, at+2*frame)
		t.Logf("join at %g s: residual %.5f (single encode's noise %.5f)", join, r, noise)
		if r > 3*noise {
			t.Errorf("join at %g s: a click (residual %.5f, noise %.5f)", join, r, noise)
		}
		// No silence: every 2 ms around the join holds the tone.
		for n := at - 2*frame; n+96 <= at+2*frame; n += 96 {
			peak := 0.0
			for _, v := range got[n : n+96] {
				peak = max(peak, math.Abs(v))
			}
			if peak < amp/2 {
				t.Errorf("join at %g s: peak %.4f at sample %d, the tone's is %.4f", join, peak, n, amp)
				break
			}
		}
	}

	// Lip sync holds to the end: the audio ends within a video frame of
	// the video.
	v := packets(t, joinRendition(t, chunked, "video", dir), "v", "")
	a := packets(t, joinRendition(t, chunked, "audio", dir), "a", "")
	if len(v) == 0 || len(a) == 0 {
		t.Fatal("no packets")
	}
	vEnd, aEnd := 0.0, a[len(a)-1].pts+frame/float64(rate)
	for _, p := range v {
		vEnd = max(vEnd, p.pts+1/25.0)
	}
	if d := aEnd - vEnd; math.Abs(d) > 1/25.0 {
		t.Errorf("audio ends at %.3f s, video at %.3f s: %.3f s apart", aEnd, vEnd, d)
	}
}

// joinRendition downloads the segments of rendition name ("audio", or
// "video" for the top rung) of a ready video and joins them into one
// MPEG-TS file in dir, as a player reads them.
func joinRendition(t *testing.T, s *catalog.Status, name, dir string) string {
	t.Helper()
	ctx := context.Background()
	data, err := st.GetBytes(ctx, "media", catalog.MasterKey(s.ID))
	if err != nil {
		t.Fatal(err)
	}
	m, err := hls.ParseMaster(data)
	if err != nil {
		t.Fatal(err)
	}
	var uri string
	switch {
	case name == "video" && len(m.Variants) > 0:
		uri = m.Variants[0].URI
	case name == "audio" && len(m.Media) > 0:
		uri = m.Media[0].URI
	default:
		t.Fatalf("no %s rendition in the master:\n%s", name, data)
	}
	pl := getPlaylist(t, catalog.Prefix(s.ID)+uri)
	out := filepath.Join(dir, s.ID+"-"+name+".ts")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, seg := range pl.Segments {
		b, err := st.GetBytes(ctx, "media", catalog.Prefix(s.ID)+path.Dir(uri)+"/"+seg.URI)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// readF32 reads raw little-endian 32-bit float samples.
func readF32(t *testing.T, path string) []float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	y := make([]float64, len(b)/4)
	for i := range y {
		y[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
	}
	return y
}

// A source whose sound stops early (3 s of 17) is still made whole: the
// chunks after its end have no audio to read, yet each gives its
// segments (silence up to the last chunk), so the video is ready and its
// audio track does not stop short of the last chunk.
func TestChunkedAudioTrackEndingEarly(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes a 17 s source")
	}
	setup(t)
	src := filepath.Join(t.TempDir(), "short-audio.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc=size=320x180:rate=25:duration=17", "-f", "lavfi", "-i", "sine=sample_rate=48000:duration=3",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", src).CombinedOutput(); err != nil {
		t.Fatalf("make source: %v: %s", err, out)
	}
	s, err := runTranscodeFile(newTranscoder(t), "short-audio.mp4", src)
	if err != nil {
		t.Fatal(err)
	}
	if s.State != catalog.StateReady {
		t.Fatalf("state %s (%s), want ready", s.State, s.Error)
	}
	a := packets(t, joinRendition(t, s, "audio", t.TempDir()), "a", "")
	if len(a) == 0 {
		t.Fatal("no audio")
	}
	// Chunks: 0-4, 4-12, 12-17 s; the last one is read to the track's end.
	if span := a[len(a)-1].pts - a[0].pts; span < 12 {
		t.Errorf("the audio spans %.2f s, want at least the 12 s before the last chunk", span)
	}
	checkTimeline(t, a, 1024/48000.0)
}
