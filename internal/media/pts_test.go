package media

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FirstPTS agrees with ffprobe on segments with and without video.
func TestFirstPTS(t *testing.T) {
	dir := t.TempDir()
	for name, in := range map[string][]string{
		"video": {"-f", "lavfi", "-i", "testsrc=d=1", "-f", "lavfi", "-i", "sine=d=1", "-c:v", "libx264", "-output_ts_offset", "10"},
		"audio": {"-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac"},
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name+".ts")
			if b, err := exec.Command("ffmpeg", append(append([]string{"-v", "error"}, in...), "-f", "mpegts", p)...).CombinedOutput(); err != nil {
				t.Fatalf("%v %s", err, b)
			}
			stream := "v:0"
			if name == "audio" {
				stream = "a:0"
			}
			out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", stream, "-show_entries", "packet=pts", "-read_intervals", "%+#1", "-of", "csv=p=0", p).Output()
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
			first, _, _ = strings.Cut(first, ",")
			want, _ := strconv.ParseInt(first, 10, 64)
			b, _ := os.ReadFile(p)
			got, err := FirstPTS(bytes.NewReader(b))
			if err != nil || got != want || want == 0 {
				t.Errorf("FirstPTS = %d, %v; ffprobe says %d", got, err, want)
			}
		})
	}
	if _, err := FirstPTS(strings.NewReader(strings.Repeat("x", 400))); err == nil {
		t.Error("FirstPTS of text: no error")
	}
}
