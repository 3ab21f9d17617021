package transcode

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func segs(durs ...float64) *hls.MediaPlaylist {
	p := &hls.MediaPlaylist{TargetDuration: 4}
	for i, d := range durs {
		p.Segments = append(p.Segments, hls.Segment{URI: fmt.Sprintf("s%d.ts", i), Duration: time.Duration(d * float64(time.Second))})
	}
	return p
}

func TestMeasure(t *testing.T) {
	tests := []struct {
		name          string
		p             *hls.MediaPlaylist
		sizes         []int64
		wantPeak      int64
		wantAverage   int64
		wantDurationS float64
	}{
		{
			name: "steady", p: segs(4, 4, 4), sizes: []int64{500_000, 500_000, 500_000},
			wantPeak: 1_000_000, wantAverage: 1_000_000, wantDurationS: 12,
		},
		{
			name: "one busy segment", p: segs(4, 4, 4), sizes: []int64{250_000, 1_000_000, 250_000},
			// Runs between 2 s and 6 s long: each segment alone.
			wantPeak: 2_000_000, wantAverage: 1_000_000, wantDurationS: 12,
		},
		{
			name: "short last segment does not count alone", p: segs(4, 4, 0.5), sizes: []int64{500_000, 500_000, 250_000},
			// 0.5 s at 4 Mb/s is under half a target; with the one before it,
			// 750 kB over 4.5 s.
			wantPeak: 1_333_334, wantAverage: 1_176_471, wantDurationS: 8.5,
		},
		{
			name: "video shorter than half a segment", p: segs(1.5), sizes: []int64{300_000},
			wantPeak: 1_600_000, wantAverage: 1_600_000, wantDurationS: 1.5,
		},
		{name: "empty", p: segs(), wantDurationS: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sizes := map[string]int64{}
			for i, n := range tt.sizes {
				sizes[fmt.Sprintf("s%d.ts", i)] = n
			}
			got := measure(tt.p, sizes)
			if got.peak != tt.wantPeak || got.average != tt.wantAverage || got.duration.Seconds() != tt.wantDurationS {
				t.Errorf("measure = peak %d avg %d dur %v, want %d %d %vs", got.peak, got.average, got.duration, tt.wantPeak, tt.wantAverage, tt.wantDurationS)
			}
		})
	}
}

// TestBuildMasterGolden writes the master playlist of typical ladders and
// compares it with testdata/master_*.m3u8.
func TestBuildMasterGolden(t *testing.T) {
	audio := &media.AudioRung{Name: "audio", Bitrate: 128_000, Channels: 2, SampleRate: 48_000}
	r720 := media.Rung{Name: "720p", Width: 1280, Height: 720, FPS: 25, Bitrate: 3_000_000, Profile: "high", Level: "3.1"}
	r360 := media.Rung{Name: "360p", Width: 640, Height: 360, FPS: 25, Bitrate: 800_000, Profile: "main", Level: "3.0"}
	portrait := media.Rung{Name: "360p", Width: 360, Height: 640, FPS: 29.97, Bitrate: 800_000, Profile: "main", Level: "3.0"}
	rates := map[string]rate{
		"720p":  {peak: 3_300_000, average: 2_950_000},
		"360p":  {peak: 900_000, average: 780_000},
		"audio": {peak: 140_000, average: 131_000},
	}
	tests := []struct {
		name    string
		ladder  media.Ladder
		encoded map[string]string
	}{
		{"landscape", media.Ladder{Video: []media.Rung{r720, r360}, Audio: audio}, map[string]string{"720p": "avc1.64001f"}},
		{"ultrafast_codecs", media.Ladder{Video: []media.Rung{r720, r360}, Audio: audio}, map[string]string{"720p": "avc1.42c01f", "360p": "avc1.42c01e"}},
		{"portrait_no_audio", media.Ladder{Video: []media.Rung{portrait}}, nil},
		{"audio_only", media.Ladder{Audio: audio}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, rs := buildMaster(tt.ladder, "3fa9c2d1", rates, tt.encoded)
			got, err := m.Encode()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, []byte(fmt.Sprintf("# status renditions: %+v\n", rs))...)
			path := filepath.Join("testdata", "master_"+tt.name+".m3u8")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("master differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
			}
		})
	}
}

// TestAVCCodecs reads the codec string from real x264 output for several
// profiles and compares it with ffprobe's reading.
func TestAVCCodecs(t *testing.T) {
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
			cmd := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x180:d=1:r=25",
				"-c:v", "libx264", "-preset", tt.preset, "-profile:v", tt.profile, "-level", tt.level, "-f", "mpegts", out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg: %v %s", err, b)
			}
			got, err := avcCodecs(out)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("avcCodecs = %q, want %q", got, tt.want)
			}
			pr := probePlaylist(t, out)
			if fromProbe := h264Codecs(pr.Streams[0].Profile, pr.Streams[0].Level); fromProbe != got {
				t.Errorf("avcCodecs = %q, ffprobe says %q", got, fromProbe)
			}
		})
	}
	t.Run("not a transport stream", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "x.ts")
		os.WriteFile(p, []byte("hello"), 0o644)
		if _, err := avcCodecs(p); err == nil {
			t.Error("no error for a file without an SPS")
		}
	})
}

func TestUserMessage(t *testing.T) {
	url := "https://s3.example/uploads/a.mp4?X-Amz-Signature=secret"
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"refusal", refuse("the file is damaged", errors.New("ffmpeg exited 1")), "the file is damaged"},
		{"wrapped refusal", fmt.Errorf("transcode x: %w", refuse("timed out", context.DeadlineExceeded)), "timed out"},
		{"media refusal", fmt.Errorf("probe x: %w: the file is empty", media.ErrUnsupported), "this file cannot be made into a video stream: the file is empty"},
		{"redacted media refusal", redact(fmt.Errorf("probe %s: %w: %s: not recognised", url, media.ErrUnsupported, url), url, "s3://uploads/a.mp4"),
			"this file cannot be made into a video stream: s3://uploads/a.mp4: not recognised"},
		{"transient", errors.New("put s3://media/x: connection refused"), ""},
		{"cancelled", fmt.Errorf("interrupted: %w", context.Canceled), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := userMessage(tt.err); got != tt.want {
				t.Errorf("userMessage = %q, want %q", got, tt.want)
			}
			if strings.Contains(userMessage(tt.err), "X-Amz") {
				t.Error("message leaks the presigned URL")
			}
		})
	}
}

func TestEncodeContextMargin(t *testing.T) {
	tests := []struct {
		name      string
		left      time.Duration
		margin    time.Duration
		wantAbout time.Duration // time left for ffmpeg
	}{
		{"lambda 15 min: 30 s margin", 15 * time.Minute, 0, 15*time.Minute - 30*time.Second},
		{"half a minute: kill grace plus 3 s", 30 * time.Second, 0, 30*time.Second - encoder.KillGrace - 3*time.Second},
		{"explicit margin", time.Minute, 10 * time.Second, 50 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.left)
			defer cancel()
			h := &Handler{Margin: tt.margin}
			enc, cancelEnc := h.encodeContext(ctx)
			defer cancelEnc()
			d, ok := enc.Deadline()
			if got := time.Until(d); !ok || got > tt.wantAbout || got < tt.wantAbout-time.Second {
				t.Errorf("ffmpeg gets %v, want about %v", got, tt.wantAbout)
			}
		})
	}
	h := &Handler{}
	enc, cancel := h.encodeContext(context.Background())
	defer cancel()
	if _, ok := enc.Deadline(); ok {
		t.Error("a context without deadline got one")
	}
}

func TestConfigure(t *testing.T) {
	env := map[string]string{"X264_PRESET": "faster", "FFMPEG_THREADS": "2", "LADDER_RUNGS": "720p,360p", "MAX_DURATION": "2h", "MAX_SIZE_MB": "10", "TMPDIR": "/scratch"}
	h := &Handler{}
	if err := h.Configure(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if h.Preset != "faster" || h.Threads != 2 || len(h.Ladder.Rungs) != 2 || h.Limits.MaxDuration != 2*time.Hour || h.Limits.MaxSize != 10<<20 || h.TmpDir != "/scratch" {
		t.Errorf("Configure gave %+v", h)
	}
	for _, bad := range []map[string]string{{"FFMPEG_THREADS": "x"}, {"MAX_DURATION": "long"}, {"MAX_SIZE_MB": "-1"}} {
		if err := (&Handler{}).Configure(func(k string) string { return bad[k] }); err == nil {
			t.Errorf("Configure accepted %v", bad)
		}
	}
}
