package transcode

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFirstPTS reads a segment's first video PTS as ffprobe does, for a
// segment whose timeline does not start at zero.
func TestFirstPTS(t *testing.T) {
	dir := t.TempDir()
	seg := filepath.Join(dir, "seg.ts")
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "sine=duration=2", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=2",
		"-map", "0:a", "-map", "1:v", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
		"-output_ts_offset", "1234.5", "-f", "mpegts", seg).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts",
		"-read_intervals", "%+#1", "-of", "csv=p=0", seg).Output()
	if err != nil {
		t.Fatal(err)
	}
	want, err := strconv.ParseInt(strings.Trim(strings.Split(string(out), "\n")[0], ", "), 10, 64)
	if err != nil {
		t.Fatalf("ffprobe said %q", out)
	}
	got, ok := firstPTS(seg)
	if !ok || got != want {
		t.Errorf("firstPTS = %d, %v; ffprobe says %d", got, ok, want)
	}
	if err := os.WriteFile(seg, []byte("not a transport stream at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := firstPTS(seg); ok {
		t.Error("firstPTS found a PTS in junk")
	}
}

func TestUnwrap(t *testing.T) {
	var u unwrap
	steps := []struct {
		pts  int64
		want time.Duration
	}{
		{ptsWrap - 90000, (ptsWrap - 90000) * time.Second / 90000},
		{90000, (ptsWrap + 90000) * time.Second / 90000}, // wrapped: 2 s later
		{180000, (ptsWrap + 180000) * time.Second / 90000},
	}
	for i, s := range steps {
		if got := u.next(s.pts); got != s.want {
			t.Errorf("step %d: %v, want %v", i, got, s.want)
		}
	}
}
