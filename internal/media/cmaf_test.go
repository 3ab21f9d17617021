package media

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestInitCodecs reads the codec string from the init segment of real
// x264 output written by ffmpeg's HLS muxer in fMP4 mode, and compares
// it with ffprobe's reading of the same stream.
func TestInitCodecs(t *testing.T) {
	for _, tt := range []struct{ preset, profile, level, want string }{
		{"veryfast", "high", "3.1", "avc1.64001f"},
		{"veryfast", "main", "3.0", "avc1.4d401e"},
	} {
		t.Run(tt.profile, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(FFmpegPath(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x180:d=1:r=25",
				"-c:v", "libx264", "-preset", tt.preset, "-profile:v", tt.profile, "-level", tt.level,
				"-f", "hls", "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
				"-hls_segment_filename", filepath.Join(dir, CMAFSegmentPattern("")), filepath.Join(dir, "index.m3u8"))
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg: %v %s", err, b)
			}
			b, err := os.ReadFile(filepath.Join(dir, "init.mp4"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := InitCodecs(bytes.NewReader(b))
			if err != nil || got != tt.want {
				t.Fatalf("InitCodecs = %q, %v; want %q", got, err, tt.want)
			}
			if p := probedCodecs(t, filepath.Join(dir, "index.m3u8")); p != got {
				t.Errorf("InitCodecs = %q, ffprobe says %q", got, p)
			}
		})
	}
	for name, b := range map[string][]byte{"empty": nil, "text": []byte("#EXTM3U\n"), "truncated box": {0, 0, 0, 99, 'f', 't', 'y', 'p'}} {
		if c, err := InitCodecs(bytes.NewReader(b)); err == nil {
			t.Errorf("%s: InitCodecs = %q, want an error", name, c)
		}
	}
}

func TestSegmentFormatNames(t *testing.T) {
	for in, want := range map[string]SegmentFormat{"": TS, "ts": TS, "cmaf": CMAF} {
		if got, err := ParseSegmentFormat(in); err != nil || got != want {
			t.Errorf("ParseSegmentFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"fmp4", "TS", "mp4", " cmaf"} {
		if _, err := ParseSegmentFormat(in); err == nil {
			t.Errorf("ParseSegmentFormat(%q) accepted", in)
		}
	}
	if got := InitName("abc1"); got != "init_abc1.mp4" {
		t.Errorf("InitName = %q", got)
	}
	if got := CMAFSegmentPattern("abc1"); got != "seg_abc1_%05d.m4s" {
		t.Errorf("CMAFSegmentPattern = %q", got)
	}
}
