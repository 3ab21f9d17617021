package encoder

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/media"
)

// TestMeasureComplexity runs the pass on a real clip: every rung gets its
// three trials, and the measures behave as the planner assumes (a higher
// CRF costs fewer bits and loses SSIM; the fixed encode lands near its
// bitrate).
func TestMeasureComplexity(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes")
	}
	path := testMedia(t, "02_flower_960x540_h264_aac.mp4")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src, err := media.Probe(ctx, media.FFprobePath(), path, media.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	l, err := media.PlanLadder(src, media.LadderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spans := media.SampleSpans(src.Duration)
	got, measuredSpans, err := MeasureComplexity(ctx, Complexity{FFmpeg: media.FFmpegPath(), Input: Input{URL: path, Source: src}, Ladder: l, Spans: spans})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(l.Video) || !reflect.DeepEqual(measuredSpans, spans) {
		t.Fatalf("%d measures for %d rungs, of %v (asked %v)", len(got), len(l.Video), measuredSpans, spans)
	}
	for i, c := range got {
		r := l.Video[i]
		t.Logf("%s: %+v", c.Rung, c.Trials)
		if c.Rung != r.Name {
			t.Errorf("measure %d is of %q, want %q", i, c.Rung, r.Name)
		}
		for k := 1; k < len(c.Trials); k++ {
			lo, hi := c.Trials[k-1], c.Trials[k]
			if !(lo.Kbps > hi.Kbps && lo.SSIM > hi.SSIM && hi.SSIM > 0.5 && lo.SSIM < 1) || hi.CRF != media.TrialCRFs[k] {
				t.Errorf("%s: %+v then %+v: want fewer bits and a lower SSIM at the higher CRF", r.Name, lo, hi)
			}
		}
		// The cap holds even at the lowest CRF: maxrate, plus what the
		// buffer holds at the start, over the sampled seconds.
		secs := 0.0
		for _, s := range spans {
			secs += s.Duration
		}
		if top, most := c.Trials[0].Kbps, (float64(r.MaxRate)*secs+float64(r.BufSize))/secs/1000; top > most*1.05 {
			t.Errorf("%s: crf %g gave %.0f kb/s over the cap's %.0f", r.Name, c.Trials[0].CRF, top, most)
		}
	}
	pl, plan := media.PlanPerTitle(l, measuredSpans, got)
	for _, p := range plan.Rungs {
		t.Logf("plan %s: %s crf %g predicted %.0f of %.0f kb/s", p.Name, p.Mode, p.CRF, p.PredictedKbps, p.FixedKbps)
	}
	t.Logf("ladder %+v", pl.Video)
}

// A pass whose ffmpeg says nothing of its encodes (here a binary that
// exits at once) is an error, not a plan made of zeros; so is a ladder or
// source with nothing to measure (no run at all).
func TestMeasureComplexityNeedsEveryEncode(t *testing.T) {
	src := &media.Source{Duration: 10, Video: &media.Video{Width: 640, Height: 360, FPS: 25}}
	l, err := media.PlanLadder(src, media.LadderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := Complexity{FFmpeg: "/bin/true", Input: Input{URL: "/nonexistent.mp4", Source: src}, Ladder: l, Spans: media.SampleSpans(10)}
	if got, _, err := MeasureComplexity(context.Background(), c); err == nil {
		t.Errorf("measured %+v from a silent ffmpeg", got)
	}
	for name, c := range map[string]Complexity{
		"no spans": {FFmpeg: "/bin/false", Input: c.Input, Ladder: l},
		"no video": {FFmpeg: "/bin/false", Input: Input{URL: "x", Source: &media.Source{Duration: 10}}, Ladder: l, Spans: c.Spans},
	} {
		if got, _, err := MeasureComplexity(context.Background(), c); err != nil || got != nil {
			t.Errorf("%s: %v, %v; want nothing measured and no run", name, got, err)
		}
	}
}

// A trial's bitrate is predicted for the encode: its keyframe weighs as
// one in keyint frames, not as one in the few frames of the sample, and
// the cropped picture stands for the whole.
func TestTrialKbpsWeighsKeyframesAsTheEncode(t *testing.T) {
	s := trialStats{
		frames: map[string]float64{"I": 1, "P": 3, "B": 6},
		size:   map[string]float64{"I": 10000, "P": 1200, "B": 100},
	}
	// Between keyframes a frame averages (3*1200+6*100)/9 bytes; one in
	// 100 frames is a keyframe; 25 frames/s; a ninth of the picture.
	rest := (3*1200 + 6*100) / 9.0
	want := (10000 + 99*rest) / 100 * 8 * 25 / 1000 * 9
	if got := s.kbps(100, 25, 1.0/9); math.Abs(got-want) > 1e-9 {
		t.Errorf("kbps %g, want %g", got, want)
	}
	// The sample's own average would make the keyframe ten times heavier.
	if raw := (10000 + 3*1200 + 6*100) / 10.0 * 8 * 25 / 1000 * 9; s.kbps(100, 25, 1.0/9) > raw/2 {
		t.Errorf("kbps %g is near the sample's average %g", s.kbps(100, 25, 1.0/9), raw)
	}
	if got := (trialStats{frames: map[string]float64{}, size: map[string]float64{}}).kbps(100, 25, 1); got != 0 {
		t.Errorf("no frames: %g kb/s", got)
	}
}

// The pass encodes a mosaic of four tiles of each rung's picture (a
// ninth of it) under its cap scaled to it, and starts each slice at a keyframe (no decoding up to the slice).
func TestComplexityArgsCropsAndSeeksToKeyframes(t *testing.T) {
	src := &media.Source{Duration: 60, Video: &media.Video{Width: 1280, Height: 720, FPS: 25}}
	l, err := media.PlanLadder(src, media.LadderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spans := media.SampleSpans(src.Duration)
	args := strings.Join(ComplexityArgs(Complexity{FFmpeg: "ffmpeg", Input: Input{URL: "/in.mp4", Source: src}, Ladder: l, Spans: spans}), " ")
	if n := strings.Count(args, "-noaccurate_seek"); n != len(spans) || strings.Count(args, "setpts=PTS-STARTPTS") != len(spans) {
		t.Errorf("%d of %d slices seek to a keyframe: %s", n, len(spans), args)
	}
	for i, r := range l.Video {
		w, h, tw, th := trialSize(r)
		if w*h*8 > r.Width*r.Height || tw%2 != 0 || th%2 != 0 || !strings.Contains(args, fmt.Sprintf("[out%d]split=4", i)) ||
			strings.Count(args, fmt.Sprintf("crop=%d:%d:", tw, th)) < 4 {
			t.Errorf("%s: trial picture %dx%d of %dx%d not a mosaic of four tiles in %s", r.Name, w, h, r.Width, r.Height, args)
		}
		for k, tr := range trials(r) {
			if tr.MaxRate >= r.MaxRate/8 || tr.BufSize >= r.BufSize/8 || tr.CRF != media.TrialCRFs[k] {
				t.Errorf("%s trial %d: cap %d/%d crf %g, want the rung's %d/%d scaled to the crop", r.Name, k, tr.MaxRate, tr.BufSize, tr.CRF, r.MaxRate, r.BufSize)
			}
		}
	}
}

// An MPEG-TS sought past its last keyframe decodes nothing (this clip's
// are at 0 and 4.5 s): the pass measures as many seconds from the start
// instead, and says so, rather than failing.
func TestMeasureComplexityFallsBackToTheStart(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes")
	}
	path := testMedia(t, "09_bbb_720p60_h264_aac.ts")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src, err := media.Probe(ctx, media.FFprobePath(), path, media.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	l, err := media.PlanLadder(src, media.LadderOptions{Rungs: []string{"360p"}})
	if err != nil {
		t.Fatal(err)
	}
	asked := []media.Span{{Start: 6, Duration: 1}}
	got, spans, err := MeasureComplexity(ctx, Complexity{FFmpeg: media.FFmpegPath(), Input: Input{URL: path, Source: src}, Ladder: l, Spans: asked})
	if err != nil || len(got) != 1 || got[0].Trials[0].Kbps <= 0 {
		t.Fatalf("measured %+v, %v", got, err)
	}
	if want := []media.Span{{Start: 0, Duration: 1}}; !reflect.DeepEqual(spans, want) {
		t.Errorf("measured %v, want %v", spans, want)
	}
}
