package encoder

import (
	"github.com/hlsflow/hlsflow/internal/media"

	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// makeBomb writes a decompression bomb like the one in issue 15: an
// MPEG-TS whose first 2 s are 64x48 H.264 (all a probe looks at) followed,
// on the same stream, by bigFrames IDR frames of 8192x8192 (one encoded
// frame, repeated by remuxing so the test stays cheap). The two parts are
// joined at the TS level. About 210 kB per big frame.
func makeBomb(t testing.TB, bigFrames int) string {
	t.Helper()
	dir := t.TempDir()
	small, big1, big := filepath.Join(dir, "small.ts"), filepath.Join(dir, "big1.ts"), filepath.Join(dir, "big.ts")
	ffmpegGen(t, "-f", "lavfi", "-i", "color=c=black:s=64x48:r=25:d=2",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-f", "mpegts", small)
	ffmpegGen(t, "-f", "lavfi", "-i", "color=c=black:s=8192x8192:r=25:d=0.04",
		"-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "threads=1:lookahead-threads=1",
		"-pix_fmt", "yuv420p", "-f", "mpegts", big1)
	ffmpegGen(t, "-stream_loop", strconv.Itoa(bigFrames-1), "-i", big1, "-c", "copy", "-output_ts_offset", "2", "-f", "mpegts", big)
	return concatFiles(t, filepath.Join(dir, "bomb.ts"), small, big)
}

// concatFiles writes the files one after the other into out.
func concatFiles(t testing.TB, out string, files ...string) string {
	t.Helper()
	var data []byte
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, b...)
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// peakRSS is the largest resident size of the process, from wait4's rusage.
func peakRSS(t testing.TB, st *os.ProcessState) int64 {
	t.Helper()
	ru, ok := st.SysUsage().(*syscall.Rusage)
	if !ok || st == nil {
		t.Fatal("no resource usage for the ffmpeg process")
	}
	return ru.Maxrss << 10 // kB on Linux
}

// TestDecompressionBomb: a file that probes as 64x48 and then carries
// 8192x8192 frames is refused as soon as the decoder meets them, with a
// reason a person understands, and ffmpeg never holds an 8K picture. The
// same encode without -max_pixels is run first, to show the bomb works.
func TestDecompressionBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffmpeg")
	}
	bomb := makeBomb(t, 2)
	src := probe(t, bomb)
	if src.Video.Width != 64 || src.Video.Height != 48 || src.Duration > 3 {
		t.Fatalf("the bomb probes as %dx%d, %.1f s; want 64x48 and about 2 s", src.Video.Width, src.Video.Height, src.Duration)
	}
	l, err := media.PlanLadder(src, media.LadderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	args := ladderArgs(src, l, encodeOptions{Input: bomb, OutDir: t.TempDir(), Preset: "ultrafast"})
	budget := EncodeBudget(src, l, src.Duration+media.DurationMargin(src.Duration), "ultrafast")

	unbounded := slices.Clone(args)
	if i := slices.Index(unbounded, "-max_pixels"); i >= 0 {
		unbounded = slices.Delete(unbounded, i, i+2)
	}
	st, err := runState(context.Background(), media.FFmpegPath(), unbounded, Budget{}, nil)
	if err != nil {
		t.Fatalf("without -max_pixels: %v", err)
	}
	before := peakRSS(t, st)
	t.Logf("without -max_pixels: ffmpeg peak RSS %d MB", before>>20)

	start := time.Now()
	st, err = runState(context.Background(), media.FFmpegPath(), args, budget, nil)
	after := peakRSS(t, st)
	t.Logf("with -max_pixels %d and %s: ffmpeg peak RSS %d MB, %v: %v", media.MaxPixels(src.Video), budget, after>>20, time.Since(start).Round(time.Millisecond), err)
	if !errors.Is(err, media.ErrUnsupported) || !strings.Contains(err.Error(), "grows mid-stream to 8192x8192") {
		t.Errorf("error %v, want a refusal saying the picture grows to 8192x8192", err)
	}
	const ceiling = 200 << 20
	if after > ceiling {
		t.Errorf("ffmpeg peaked at %d MB, want at most %d MB", after>>20, ceiling>>20)
	}
	if before < 2*after {
		t.Errorf("the bomb is not one: %d MB without the bound, %d MB with it", before>>20, after>>20)
	}
}

// TestEncodeStopsAtProbedDuration: an MPEG-TS that claims 2 s (its
// timestamps restart at every part) but holds 60 s is encoded for the
// probed duration plus media.DurationMargin, not for all it holds.
func TestEncodeStopsAtProbedDuration(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffmpeg")
	}
	dir := t.TempDir()
	part := filepath.Join(dir, "part.ts")
	ffmpegGen(t, "-f", "lavfi", "-i", "color=c=gray:s=64x48:r=10:d=2",
		"-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts", part)
	parts := make([]string, 30)
	for i := range parts {
		parts[i] = part
	}
	liar := concatFiles(t, filepath.Join(dir, "liar.ts"), parts...)
	src := probe(t, liar)
	if src.Duration > 3 {
		t.Fatalf("probed %.1f s; the test needs a file that claims about 2 s", src.Duration)
	}
	l, err := media.PlanLadder(src, media.LadderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := runBin(context.Background(), media.FFmpegPath(), ladderArgs(src, l, encodeOptions{Input: liar, OutDir: out, Preset: "ultrafast"}), nil); err != nil {
		t.Fatal(err)
	}
	total := playlistSeconds(t, filepath.Join(out, l.Video[0].Name, "index.m3u8"))
	limit := src.Duration + media.DurationMargin(src.Duration) + 1
	t.Logf("probed %.1f s, encoded %.1f s (at most %.1f s allowed)", src.Duration, total, limit)
	if total > limit {
		t.Errorf("encoded %.1f s of a file that claims %.1f s; want at most %.1f s", total, src.Duration, limit)
	}
}

// playlistSeconds adds up the #EXTINF durations of a media playlist.
func playlistSeconds(t *testing.T, path string) float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for line := range strings.SplitSeq(string(b), "\n") {
		if d, ok := strings.CutPrefix(line, "#EXTINF:"); ok {
			d, _, _ = strings.Cut(d, ",")
			f, err := strconv.ParseFloat(d, 64)
			if err != nil {
				t.Fatalf("%s: bad #EXTINF %q", path, line)
			}
			total += f
		}
	}
	return total
}
