package media

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

// The HEVC codec string of ISO/IEC 14496-15 annex E from a sequence
// parameter set as it is in a stream (with its emulation prevention byte).
func TestHvc1Codecs(t *testing.T) {
	// NAL header (type 33), ids, then Main profile, compatibility 0x60000000
	// ("00 00 03 00" on the wire), constraints B0, level 93.
	sps := []byte{0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0xb0, 0, 0, 0, 0, 0, 93, 0xa0}
	if got, err := hvc1Codecs(sps); err != nil || got != "hvc1.1.6.L93.B0" {
		t.Errorf("hvc1Codecs = %q, %v; want hvc1.1.6.L93.B0", got, err)
	}
	// High tier, profile space 1, Main 10, two constraint bytes.
	sps = []byte{0x42, 0x01, 0x01, 0x62, 0x20, 0x00, 0x00, 0x03, 0x00, 0x90, 0x01, 0, 0, 0, 0, 120}
	if got, err := hvc1Codecs(sps); err != nil || got != "hvc1.A2.4.H120.90.1" {
		t.Errorf("hvc1Codecs = %q, %v; want hvc1.A2.4.H120.90.1", got, err)
	}
	for name, b := range map[string][]byte{"short": sps[:10], "an h264 sps": {0x67, 0x64, 0, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if got, err := hvc1Codecs(b); err == nil {
			t.Errorf("%s: hvc1Codecs = %q, want an error", name, got)
		}
	}
}

// InitCodecs of real libx265 output tagged hvc1, against ffprobe's profile
// and level.
func TestInitCodecsHEVC(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes HEVC")
	}
	dir := t.TempDir()
	cmd := exec.Command(FFmpegPath(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x180:d=1:r=25",
		"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-tag:v", "hvc1",
		"-f", "hls", "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
		"-hls_segment_filename", filepath.Join(dir, CMAFSegmentPattern("")), filepath.Join(dir, "index.m3u8"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("no libx265: %v %s", err, b)
	}
	b, err := os.ReadFile(filepath.Join(dir, "init.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := InitCodecs(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	probe := ffprobeOut(t, "-select_streams", "v:0", "-show_entries", "stream=profile,level,codec_tag_string", "-of", "csv=p=0", filepath.Join(dir, "index.m3u8"))
	line, _, _ := strings.Cut(strings.TrimSpace(probe), "\n") // ffprobe's order: profile, tag, level
	profile, rest, _ := strings.Cut(line, ",")
	tag, level, _ := strings.Cut(rest, ",")
	if profile != "Main" || tag != "hvc1" {
		t.Fatalf("ffprobe: %q, want Main and hvc1", probe)
	}
	t.Logf("InitCodecs: %s", got)
	if want := "hvc1.1.6.L" + level + "."; !strings.HasPrefix(got, want) {
		t.Errorf("InitCodecs = %q, want %s… (ffprobe: %s)", got, want, probe)
	}
}

// InitCodecs of real SVT-AV1 output, against ffprobe's profile and level
// (ffprobe prints seq_level_idx as the level).
func TestInitCodecsAV1(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes AV1")
	}
	dir := t.TempDir()
	cmd := exec.Command(FFmpegPath(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x180:d=1:r=25",
		"-c:v", "libsvtav1", "-preset", "12",
		"-f", "hls", "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
		"-hls_segment_filename", filepath.Join(dir, CMAFSegmentPattern("")), filepath.Join(dir, "index.m3u8"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("no libsvtav1: %v %s", err, b)
	}
	b, err := os.ReadFile(filepath.Join(dir, "init.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := InitCodecs(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	probe := ffprobeOut(t, "-select_streams", "v:0", "-show_entries", "stream=profile,level,codec_tag_string", "-of", "csv=p=0", filepath.Join(dir, "index.m3u8"))
	line, _, _ := strings.Cut(strings.TrimSpace(probe), "\n")
	f := strings.Split(line, ",")
	if len(f) != 3 || f[0] != "Main" || f[1] != "av01" {
		t.Fatalf("ffprobe: %q, want Main, av01, level", probe)
	}
	level, _ := strconv.Atoi(f[2])
	if want := fmt.Sprintf("av01.0.%02dM.08", level); got != want {
		t.Errorf("InitCodecs = %q, want %s (ffprobe: %s)", got, want, probe)
	}
	// A damaged sequence header is an error, not a made-up string.
	for name, obu := range map[string][]byte{"empty": nil, "not a sequence header": {0x32, 0}, "truncated": {0x0a, 0x0b, 0, 0}} {
		if c, err := av01Codecs(obu); err == nil {
			t.Errorf("%s: av01Codecs = %q, want an error", name, c)
		}
	}
}
