package media

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSegmentCodecs reads the codec string from real x264 output for
// several profiles and compares it with ffprobe's reading.
func TestSegmentCodecs(t *testing.T) {
	tests := []struct {
		name, preset, profile, level, want string
	}{
		{"high", "veryfast", "high", "3.1", "avc1.64001f"},
		{"main", "veryfast", "main", "3.0", "avc1.4d401e"},
		{"ultrafast caps at baseline", "ultrafast", "high", "4.0", "avc1.42c028"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "seg.ts")
			cmd := exec.Command(FFmpegPath(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x180:d=1:r=25",
				"-c:v", "libx264", "-preset", tt.preset, "-profile:v", tt.profile, "-level", tt.level, "-f", "mpegts", out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg: %v %s", err, b)
			}
			got := segmentCodecs(t, out)
			if got != tt.want {
				t.Errorf("SegmentCodecs = %q, want %q", got, tt.want)
			}
			if fromProbe := probedCodecs(t, out); fromProbe != got {
				t.Errorf("SegmentCodecs = %q, ffprobe says %q", got, fromProbe)
			}
		})
	}
	t.Run("not a transport stream", func(t *testing.T) {
		if _, err := SegmentCodecs(strings.NewReader("hello")); err == nil {
			t.Error("no error for a file without an SPS")
		}
	})
	t.Run("audio only", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "seg.ts")
		cmd := exec.Command(FFmpegPath(), "-v", "error", "-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", "-f", "mpegts", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v %s", err, b)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if c, err := SegmentCodecs(f); err == nil {
			t.Errorf("SegmentCodecs = %q for a segment without video", c)
		}
	})
}

func segmentCodecs(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := SegmentCodecs(f)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// probedCodecs is the RFC 6381 string of what ffprobe finds in path.
func probedCodecs(t *testing.T, path string) string {
	t.Helper()
	s := ffprobeOut(t, "-select_streams", "v:0", "-show_entries", "stream=profile,level", "-of", "csv=p=0", path)
	s, _, _ = strings.Cut(s, "\n") // a transport stream lists its stream under the program too
	profile, level, _ := strings.Cut(s, ",")
	n, err := strconv.Atoi(level)
	if err != nil {
		t.Fatalf("ffprobe level %q", s)
	}
	p := map[string]string{"High": "6400", "Main": "4d40", "Constrained Baseline": "42c0"}[profile]
	return fmt.Sprintf("avc1.%s%02x", p, n)
}
