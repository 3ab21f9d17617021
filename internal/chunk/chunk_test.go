package chunk

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/media"
)

func TestPlan(t *testing.T) {
	cases := []struct {
		name                          string
		duration, seg, chunkSz, first float64
		want                          []Chunk
	}{
		{"exact", 24, 4, 8, 0, []Chunk{{0, 0, 8, 0}, {1, 8, 8, 2}, {2, 16, 0, 4}}},
		{"frames past the end join the last chunk", 24.04, 4, 8, 0, []Chunk{{0, 0, 8, 0}, {1, 8, 8, 2}, {2, 16, 0, 4}}},
		{"a remainder of a segment or more is its own chunk", 21, 4, 8, 0, []Chunk{{0, 0, 8, 0}, {1, 8, 8, 2}, {2, 16, 0, 4}}},
		{"a remainder under a segment joins the last chunk", 19, 4, 8, 0, []Chunk{{0, 0, 8, 0}, {1, 8, 0, 2}}},
		{"chunk size rounds down to whole segments", 30, 4, 10, 0, []Chunk{{0, 0, 8, 0}, {1, 8, 8, 2}, {2, 16, 8, 4}, {3, 24, 0, 6}}},
		{"shorter than a chunk", 5, 4, 32, 0, []Chunk{{0, 0, 0, 0}}},
		{"chunk smaller than a segment is one segment", 9, 4, 1, 0, []Chunk{{0, 0, 4, 0}, {1, 4, 0, 1}}},
		{"no duration", 0, 4, 8, 0, nil},
		{"short first chunk", 24, 4, 8, 4, []Chunk{{0, 0, 4, 0}, {1, 4, 8, 1}, {2, 12, 8, 3}, {3, 20, 0, 5}}},
		{"first chunk never longer than the others", 24, 4, 8, 16, []Chunk{{0, 0, 8, 0}, {1, 8, 8, 2}, {2, 16, 0, 4}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Plan(c.duration, c.seg, c.chunkSz, c.first)
			if !slices.Equal(got, c.want) {
				t.Errorf("Plan(%g, %g, %g, %g) = %v, want %v", c.duration, c.seg, c.chunkSz, c.first, got, c.want)
			}
		})
	}
}

func TestSeconds(t *testing.T) {
	cases := []struct {
		name             string
		want, seg, speed float64
		budget           time.Duration
		out              float64
	}{
		{"no measurement keeps the setting", 32, 4, 0, 0, 32},
		{"fast encoder keeps the setting", 32, 4, 2, 15 * time.Minute, 32},
		{"slow encoder gets shorter chunks", 600, 4, 0.5, 15 * time.Minute, 224},
		{"never below one segment", 32, 4, 0.001, time.Minute, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Seconds(c.want, c.seg, c.speed, c.budget); got != c.out {
				t.Errorf("Seconds = %g, want %g", got, c.out)
			}
		})
	}
}

func TestVideoJobContinuesTheTimeline(t *testing.T) {
	src := &media.Source{Demuxer: "mov", Duration: 24, Video: &media.Video{Index: 0, FPS: 25, Width: 854, Height: 480, CodedWidth: 854, CodedHeight: 480}}
	l := media.Ladder{SegmentSeconds: 4, Video: []media.Rung{
		{Name: "480p", Width: 854, Height: 480, FPS: 25, Bitrate: 1, MaxRate: 2, BufSize: 3, Profile: "high", Level: "3.1"},
		{Name: "360p", Width: 640, Height: 360, FPS: 25, Bitrate: 1, MaxRate: 2, BufSize: 3, Profile: "main", Level: "3.0"},
	}}
	cases := []struct {
		name string
		c    Chunk
		want []string // consecutive argument pairs that must be present
		not  []string
	}{
		// Spans start and end a quarter frame (10 ms at 25 fps) before a
		// chunk's first frame (see Span).
		{"first chunk", Chunk{0, 0, 8, 0}, []string{"-t 7.99", "-output_ts_offset 10", "-start_number 0"}, []string{"-ss"}},
		{"middle chunk", Chunk{1, 8, 8, 2}, []string{"-ss 7.99", "-t 8", "-output_ts_offset 18", "-start_number 2"}, nil},
		// To the end, which is the probed 24 s plus media.DurationMargin at most.
		{"last chunk runs to the end", Chunk{2, 16, 0, 4}, []string{"-ss 15.99", "-t 21", "-output_ts_offset 26", "-start_number 4"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := encoder.Args(VideoJob(src, l, c.c, Options{Input: "https://s3/x?sig", OutDir: "/w"}))
			joined := " " + strings.Join(a, " ") + " "
			for _, w := range append(c.want, "-format_whitelist mov -max_pixels 597056 -f mov", "-protocol_whitelist http,https,tcp,tls",
				"-force_key_frames expr:gte(t,n_forced*4)") {
				if !strings.Contains(joined, " "+w+" ") {
					t.Errorf("args lack %q: %s", w, joined)
				}
			}
			for _, n := range c.not {
				if slices.Contains(a, n) {
					t.Errorf("args hold %q: %s", n, joined)
				}
			}
			if i := slices.Index(a, "-ss"); i >= 0 && i > slices.Index(a, "-i") {
				t.Errorf("-ss after -i (slow seek): %s", joined)
			}
		})
	}
	if encoder.Args(VideoJob(&media.Source{}, l, Chunk{}, Options{})) != nil {
		t.Error("the arguments of a chunk without a video stream are not nil")
	}
}

// Chunks of a source whose frames do not fall on the chunk boundaries
// (29.83 fps: 179/6) start at their first frame's real time, and every
// frame is read by exactly one chunk.
func TestSpanFollowsTheFrameGrid(t *testing.T) {
	const fps = 179.0 / 6
	src := &media.Source{Duration: 40, Video: &media.Video{FPS: fps}}
	cs := Plan(src.Duration, 4, 8, 4)
	frameAt := func(n int) float64 { return float64(n) / fps }
	owner := map[int]int{} // frame → chunk
	for _, c := range cs {
		first, seek, dur := Span(src, c)
		n := int(math.Round(first * fps))
		if math.Abs(frameAt(n)-first) > 1e-9 || first < c.Start-1e-9 || first-c.Start >= 1/fps {
			t.Errorf("chunk %d from %g: first frame at %g, want the first frame at or after it", c.Index, c.Start, first)
		}
		end := src.Duration + 1
		if dur > 0 {
			end = seek + dur
		}
		for f := 0; frameAt(f) < src.Duration; f++ {
			if ft := frameAt(f); ft >= seek && ft < end {
				if prev, ok := owner[f]; ok {
					t.Errorf("frame %d read by chunks %d and %d", f, prev, c.Index)
				}
				owner[f] = c.Index
				if ft-first < -1e-9 {
					t.Errorf("chunk %d reads frame %d (%g) before its first frame %g", c.Index, f, ft, first)
				}
			}
		}
	}
	for f := 0; frameAt(f) < src.Duration; f++ {
		if _, ok := owner[f]; !ok {
			t.Errorf("frame %d (%g s) read by no chunk", f, frameAt(f))
		}
	}
	// Without a frame rate the span is the chunk's.
	if first, seek, dur := Span(&media.Source{}, Chunk{Start: 8, Duration: 8}); first != 8 || seek != 8 || dur != 8 {
		t.Errorf("Span without a frame rate = %g %g %g", first, seek, dur)
	}
}

// A CMAF chunk writes .m4s segments whose fragments carry the timeline
// (frag_discont), so every chunk's init segment is the same.
func TestVideoJobCMAF(t *testing.T) {
	src := &media.Source{Demuxer: "mov", Duration: 24, Video: &media.Video{Index: 0, FPS: 25, Width: 640, Height: 360, CodedWidth: 640, CodedHeight: 360}}
	l := media.Ladder{SegmentSeconds: 4, Video: []media.Rung{{Name: "360p", Width: 640, Height: 360, FPS: 25, Bitrate: 1, MaxRate: 2, BufSize: 3, Profile: "main", Level: "3.0"}}}
	j := VideoJob(src, l, Chunk{1, 8, 8, 2}, Options{Input: "/s.mp4", OutDir: "/w", Revision: "r1", CMAF: true})
	joined := " " + strings.Join(encoder.Args(j), " ") + " "
	for _, w := range []string{"-hls_segment_type fmp4", "-hls_segment_options movflags=+frag_discont", "/w/%v/seg_r1_%05d.m4s", "-output_ts_offset 18"} {
		if !strings.Contains(joined, " "+w+" ") {
			t.Errorf("args lack %q: %s", w, joined)
		}
	}
}
