package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// Bomb returns a decompression bomb like the one in issue 15: an MPEG-TS
// whose first 2 s are 64x48 H.264 (all a probe looks at) followed, on the
// same stream, by bigFrames IDR frames of 8192x8192 (one encoded frame,
// repeated by remuxing so tests stay cheap), the parts joined at the TS
// level. About 210 kB per big frame. (internal/media's tests keep their
// own copy: that package's tests import nothing of the project.)
func Bomb(t testing.TB, bigFrames int) []byte {
	t.Helper()
	dir := t.TempDir()
	small, big1, big := filepath.Join(dir, "small.ts"), filepath.Join(dir, "big1.ts"), filepath.Join(dir, "big.ts")
	gen := func(args ...string) {
		t.Helper()
		cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, stderr.String())
		}
	}
	// "h264" is ffmpeg's default H.264 encoder, x264 in every build we
	// use; which one the pipeline encodes with is internal/encoder's to
	// say (testenv cannot import it: internal/media's tests import testenv).
	gen("-f", "lavfi", "-i", "color=c=black:s=64x48:r=25:d=2",
		"-c:v", "h264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-f", "mpegts", small)
	gen("-f", "lavfi", "-i", "color=c=black:s=8192x8192:r=25:d=0.04",
		"-c:v", "h264", "-preset", "ultrafast", "-x264-params", "threads=1:lookahead-threads=1",
		"-pix_fmt", "yuv420p", "-f", "mpegts", big1)
	gen("-stream_loop", strconv.Itoa(bigFrames-1), "-i", big1, "-c", "copy", "-output_ts_offset", "2", "-f", "mpegts", big)
	var data []byte
	for _, p := range []string{small, big} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, b...)
	}
	return data
}
