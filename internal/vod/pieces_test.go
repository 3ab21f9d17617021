package vod

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestBuildMasterGolden writes the master playlist of typical ladders and
// compares it with testdata/master_*.m3u8.
func TestBuildMasterGolden(t *testing.T) {
	audio := &media.AudioRung{Name: "audio", Bitrate: 128_000, Channels: 2, SampleRate: 48_000}
	r720 := media.Rung{Name: "720p", Width: 1280, Height: 720, FPS: 25, Bitrate: 3_000_000, Profile: "high", Level: "3.1"}
	r360 := media.Rung{Name: "360p", Width: 640, Height: 360, FPS: 25, Bitrate: 800_000, Profile: "main", Level: "3.0"}
	portrait := media.Rung{Name: "360p", Width: 360, Height: 640, FPS: 29.97, Bitrate: 800_000, Profile: "main", Level: "3.0"}
	rates := map[string]hls.Rate{
		"720p":  {Peak: 3_300_000, Average: 2_950_000},
		"360p":  {Peak: 900_000, Average: 780_000},
		"audio": {Peak: 140_000, Average: 131_000},
		// HEVC and AV1 rungs (media.PlanCodecs).
		"720p-hevc": {Peak: 2_100_000, Average: 1_700_000},
		"720p-av1":  {Peak: 1_800_000, Average: 1_400_000},
		"360p-hevc": {Peak: 600_000, Average: 500_000},
		"360p-av1":  {Peak: 500_000, Average: 420_000},
	}
	withCodecs := media.PlanCodecs(media.Ladder{Video: []media.Rung{r720, r360}, Audio: audio, SegmentSeconds: 4}, []media.Codec{media.HEVC, media.AV1})
	tests := []struct {
		name    string
		ladder  media.Ladder
		encoded map[string]string
	}{
		{"landscape", media.Ladder{Video: []media.Rung{r720, r360}, Audio: audio}, map[string]string{"720p": "avc1.64001f"}},
		{"ultrafast_codecs", media.Ladder{Video: []media.Rung{r720, r360}, Audio: audio}, map[string]string{"720p": "avc1.42c01f", "360p": "avc1.42c01e"}},
		{"portrait_no_audio", media.Ladder{Video: []media.Rung{portrait}}, nil},
		{"audio_only", media.Ladder{Audio: audio}, nil},
		// H.264 first; CODECS from the init segments; the HEVC rung's
		// unread init segment falls back to the planned string.
		{"hevc_av1", withCodecs, map[string]string{"720p": "avc1.64001f", "720p-av1": "av01.0.05M.08"}},
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
			j := &job{Pipeline: &Pipeline{cfg: Config{Margin: tt.margin}}}
			enc, cancelEnc := j.encodeContext(ctx)
			defer cancelEnc()
			d, ok := enc.Deadline()
			if got := time.Until(d); !ok || got > tt.wantAbout || got < tt.wantAbout-time.Second {
				t.Errorf("ffmpeg gets %v, want about %v", got, tt.wantAbout)
			}
		})
	}
	j := &job{Pipeline: &Pipeline{}}
	enc, cancel := j.encodeContext(context.Background())
	defer cancel()
	if _, ok := enc.Deadline(); ok {
		t.Error("a context without deadline got one")
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"X264_PRESET": "faster", "FFMPEG_THREADS": "2", "LADDER_RUNGS": "720p,360p", "MAX_DURATION": "2h", "MAX_SIZE_MB": "10", "TMPDIR": "/scratch"}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Preset != "faster" || c.Threads != 2 || len(c.Ladder.Rungs) != 2 || c.Limits.MaxDuration != 2*time.Hour || c.Limits.MaxSize != 10<<20 || c.TmpDir != "/scratch" {
		t.Errorf("ConfigFromEnv gave %+v", c)
	}
	if c.Limits.MaxPixels != media.DefaultLimits.MaxPixels {
		t.Errorf("limits not set from the environment are %+v, want media.DefaultLimits'", c.Limits)
	}
	// Per-title ladders: on unless PER_TITLE is off.
	for v, want := range map[string]bool{"": true, "on": true, "off": false} {
		c, err := ConfigFromEnv(func(k string) string { return map[string]string{"PER_TITLE": v}[k] })
		if err != nil || c.PerTitle != want {
			t.Errorf("PER_TITLE=%q: per-title %v (%v), want %v", v, c.PerTitle, err, want)
		}
	}
	// Segments: MPEG-TS unless SEGMENT_FORMAT is cmaf.
	for v, want := range map[string]media.SegmentFormat{"": media.TS, "ts": media.TS, "cmaf": media.CMAF} {
		c, err := ConfigFromEnv(func(k string) string { return map[string]string{"SEGMENT_FORMAT": v}[k] })
		if err != nil || c.withDefaults().SegmentFormat != want {
			t.Errorf("SEGMENT_FORMAT=%q: %q (%v), want %q", v, c.SegmentFormat, err, want)
		}
	}
	// Extra video codecs: none unless VIDEO_CODECS names them.
	for v, want := range map[string][]media.Codec{"": nil, "h264": nil, "h264,hevc,av1": {media.HEVC, media.AV1}, "av1": {media.AV1}} {
		c, err := ConfigFromEnv(func(k string) string { return map[string]string{"VIDEO_CODECS": v}[k] })
		if err != nil || !slices.Equal(c.Codecs, want) {
			t.Errorf("VIDEO_CODECS=%q: %v (%v), want %v", v, c.Codecs, err, want)
		}
	}
	for _, bad := range []map[string]string{{"FFMPEG_THREADS": "x"}, {"MAX_DURATION": "long"}, {"MAX_SIZE_MB": "-1"}, {"PER_TITLE": "yes"},
		{"SEGMENT_FORMAT": "fmp4"}, {"SEGMENT_FORMAT": "CMAF"}, {"SEGMENT_FORMAT": "ts,cmaf"},
		{"VIDEO_CODECS": "vp9"}, {"VIDEO_CODECS": "h264,"}, {"VIDEO_CODECS": "hevc av1"}} {
		if _, err := ConfigFromEnv(func(k string) string { return bad[k] }); err == nil {
			t.Errorf("ConfigFromEnv accepted %v", bad)
		}
	}
}

// The tracker never blocks an encoder, however slow its writes: report
// keeps only the newest progress not yet taken.
func TestTrackerReportNeverBlocks(t *testing.T) {
	tr := &tracker{progress: make(chan float64, 1)}
	for _, p := range []float64{0.1, 0.2, 0.3} {
		tr.report(p) // nobody takes them
	}
	if got := <-tr.progress; got != 0.3 {
		t.Errorf("the tracker would get %v, want the newest progress, 0.3", got)
	}
}
