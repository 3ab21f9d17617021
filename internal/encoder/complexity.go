package encoder

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/hlsflow/hlsflow/internal/media"
)

// Complexity is the complexity pass of a per-title ladder (see
// media.PlanPerTitle): the slices of the source, encoded at every rung of
// the fixed ladder at media.TrialCRFs, each on a mosaic of the rung's
// picture (trialSize).
type Complexity struct {
	FFmpeg string
	Input  Input // URL and Source; Start and Duration are ignored
	Ladder media.Ladder
	Spans  []media.Span // media.SampleSpans of the source
	Preset string       // the ladder encode's preset, so that its bits are predicted; default DefaultPreset
}

// The trials encode a mosaic of four tiles of each rung's picture, one
// from the middle of each quarter, each trialTile of the picture's sides:
// a ninth of the pixels costs a ninth of the CPU, which buys nine times
// the seconds of source for the same pass (a sample of a few frames
// mispredicts the frames between keyframes). Four tiles rather than the
// middle alone: the middle of a picture is where its detail is, and
// predicted 1.4-2x the bits of the whole on the shared clips, the
// mosaic 1.0-1.4x. A rung under mosaicMinSide on a side is encoded
// whole.
const (
	trialTile     = 1.0 / 6
	mosaicMinSide = 128
)

// sliceSlack is how much more than a slice the pass may read of it.
const sliceSlack = 2.0

// trialSize is the picture a trial of r encodes, and its tiles' size (0
// for the whole picture).
func trialSize(r media.Rung) (w, h, tw, th int) {
	if r.Width < mosaicMinSide || r.Height < mosaicMinSide {
		return r.Width, r.Height, 0, 0
	}
	tile := func(n int) int { return max(16, int(math.Round(float64(n)*trialTile/2))*2) }
	tw, th = tile(r.Width), tile(r.Height)
	return 2 * tw, 2 * th, tw, th
}

// mosaic is the filter of rung i's trial picture from [out<i>], ending in
// a filter's output pad for the caller to follow with its own.
func mosaic(i int, r media.Rung) string {
	_, _, tw, th := trialSize(r)
	if tw == 0 {
		return fmt.Sprintf("[out%d]null", i)
	}
	var g strings.Builder
	fmt.Fprintf(&g, "[out%d]split=4", i)
	for q := range 4 {
		fmt.Fprintf(&g, "[q%d_%d]", i, q)
	}
	for q := range 4 {
		// The middle of quarter q, on even pixels.
		x := (r.Width/4*(1+2*(q%2)) - tw/2) &^ 1
		y := (r.Height/4*(1+2*(q/2)) - th/2) &^ 1
		fmt.Fprintf(&g, ";[q%d_%d]crop=%d:%d:%d:%d[m%d_%d]", i, q, tw, th, x, y, i, q)
	}
	g.WriteString(";")
	for q := range 4 {
		fmt.Fprintf(&g, "[m%d_%d]", i, q)
	}
	g.WriteString("xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0")
	return g.String()
}

// trials are the encodes of rung r in the complexity pass, in order: each
// trial CRF on the mosaic, under the rung's cap scaled to it.
func trials(r media.Rung) []media.Rung {
	w, h, _, _ := trialSize(r)
	area := float64(w*h) / float64(r.Width*r.Height)
	var out []media.Rung
	for _, c := range media.TrialCRFs {
		t := r
		t.CRF = c
		t.Width, t.Height = w, h
		t.MaxRate = int(float64(r.MaxRate) * area)
		t.BufSize = int(float64(r.BufSize) * area)
		out = append(out, t)
	}
	return out
}

// trialLadder is the ladder of every trial encode: each rung as many
// times as it has trials.
func (c Complexity) trialLadder() media.Ladder {
	l := media.Ladder{SegmentSeconds: c.Ladder.SegmentSeconds}
	for _, r := range c.Ladder.Video {
		l.Video = append(l.Video, trials(r)...)
	}
	return l
}

// ComplexityArgs is the ffmpeg argv of the pass: each slice opened as its
// own input (a fast seek and -t, locked down as for the encode; the slice
// begins at the keyframe at or before its start, which spares decoding
// the frames up to it, most of a short clip with one keyframe), the
// slices joined (concat), each rung scaled as in the ladder (LadderGraph),
// cut down to its trial mosaic and encoded by its trials with the ladder's x264 settings (keyframes,
// preset, cap), x264 reporting each encode's SSIM and bitrate in the log;
// nothing is written. Decoders and filters run on one thread each (as the
// trials do, rungThreads): for a second of source, starting and syncing
// more cost more CPU than they save (5-15 % of the pass on the short
// clips of BenchmarkPerTitle, its wall time no longer). It returns nil
// when there is nothing to measure.
func ComplexityArgs(c Complexity) []string {
	src := c.Input.Source
	if src == nil || src.Video == nil || len(c.Ladder.Video) == 0 || len(c.Spans) == 0 {
		return nil
	}
	seg := c.Ladder.SegmentSeconds
	if seg <= 0 {
		seg = media.DefaultSegmentSeconds
	}
	preset := c.Preset
	if preset == "" {
		preset = DefaultPreset
	}
	// info: x264's summary (SSIM, kb/s) is an info line.
	a := []string{"-hide_banner", "-nostdin", "-loglevel", "info", "-nostats"}
	var g strings.Builder
	var in string
	for i, s := range c.Spans {
		// Read up to sliceSlack more than the slice: the first frame
		// decoded may come later than the seek point (an MPEG-TS has no
		// index), and a slice must not come out empty.
		a = append(a, "-noaccurate_seek", "-threads", "1")
		a = append(a, media.InputArgs(src, c.Input.URL, s.Start, s.Duration+sliceSlack)...)
		// Each slice from 0 (without, the frames before the seek point
		// come with negative times, which concat mangles: x264 measured
		// an SSIM of 0.85 at CRF 16 on Tears of Steel) and as long as
		// asked from its first frame.
		fmt.Fprintf(&g, "[%d:%d]setpts=PTS-STARTPTS,trim=end=%s[s%d];", i, src.Video.Index, fmtFloat(s.Duration), i)
		in += fmt.Sprintf("[s%d]", i)
	}
	if len(c.Spans) > 1 {
		fmt.Fprintf(&g, "%sconcat=n=%d:v=1:a=0[cat];", in, len(c.Spans))
		in = "[cat]"
	}
	g.WriteString(LadderGraph(in, src.Video.FPS, c.Ladder.Video))
	n := len(media.TrialCRFs)
	var maps []string
	for i, r := range c.Ladder.Video {
		fmt.Fprintf(&g, ";%s,split=%d", mosaic(i, r), n)
		for t := range n {
			fmt.Fprintf(&g, "[t%d_%d]", i, t)
			maps = append(maps, "-map", fmt.Sprintf("[t%d_%d]", i, t))
		}
	}
	a = append(a, "-filter_complex_threads", "1", "-filter_complex", g.String())
	a = append(a, maps...)
	tl := c.trialLadder()
	a = append(a, x264Args(tl.Video, seg, preset, false)...)
	a = append(a, "-x264-params", "ssim=1")
	threads := rungThreads(tl.Video, numCPU())
	for i, r := range tl.Video {
		a = append(a, rungArgs(i, r)...)
		a = append(a, fmt.Sprintf("-threads:v:%d", i), strconv.Itoa(threads[i]))
	}
	return append(a, "-an", "-sn", "-dn", "-map_metadata", "-1", "-f", "null", "-")
}

// x264's summary lines, printed as each encoder closes, in the order of the
// output streams.
var (
	x264SSIM   = regexp.MustCompile(`^\[libx264 @ (0x[0-9a-f]+)\] SSIM Mean Y:([0-9.]+)`)
	x264Frames = regexp.MustCompile(`^\[libx264 @ (0x[0-9a-f]+)\] frame ([IPB]):([0-9]+) +Avg QP: *[0-9.]+ +size: *([0-9.]+)`)
)

// trialStats is what x264 said of one trial encode.
type trialStats struct {
	ssim float64
	// frames and bytes per frame type (I, P, B)
	frames map[string]float64
	size   map[string]float64
}

// kbps is the bitrate the trial predicts for the whole rung: its bytes
// per frame with one keyframe per keyint frames, as the encode forces
// (a short sample begins with a keyframe that would otherwise weigh as
// if it came every few frames), at fps, over the cropped share area of
// the picture. It is 0 when x264 reported no frames.
func (s trialStats) kbps(keyint, fps, area float64) float64 {
	nI, nRest := s.frames["I"], s.frames["P"]+s.frames["B"]
	if nI+nRest == 0 || area <= 0 {
		return 0
	}
	var perFrame float64
	switch {
	case nRest == 0:
		perFrame = s.size["I"]
	case nI == 0:
		perFrame = (s.frames["P"]*s.size["P"] + s.frames["B"]*s.size["B"]) / nRest
	default:
		rest := (s.frames["P"]*s.size["P"] + s.frames["B"]*s.size["B"]) / nRest
		keyint = max(keyint, 1)
		perFrame = (s.size["I"] + (keyint-1)*rest) / keyint
	}
	return perFrame * 8 * fps / 1000 / area
}

// MeasureComplexity runs the pass and returns each rung's measure and
// the slices measured: c.Spans, or, when seeking to them gave no frame
// at all (an MPEG-TS sought past its last keyframe decodes nothing), as
// many seconds from the start of the source, which always decode.
func MeasureComplexity(ctx context.Context, c Complexity) ([]media.Complexity, []media.Span, error) {
	m, err := measureComplexity(ctx, c)
	if !errors.Is(err, errNoFrames) {
		return m, c.Spans, err
	}
	var total float64
	for _, s := range c.Spans {
		total += s.Duration
	}
	c.Spans = []media.Span{{Start: 0, Duration: total}}
	m, err = measureComplexity(ctx, c)
	return m, c.Spans, err
}

// errNoFrames: x264 reported no encode, ffmpeg having decoded nothing.
var errNoFrames = errors.New("no frames decoded")

func measureComplexity(ctx context.Context, c Complexity) ([]media.Complexity, error) {
	args := ComplexityArgs(c)
	if args == nil {
		return nil, nil
	}
	var order []string
	got := map[string]*trialStats{}
	entry := func(addr string) *trialStats {
		if got[addr] == nil {
			got[addr] = &trialStats{frames: map[string]float64{}, size: map[string]float64{}}
			order = append(order, addr)
		}
		return got[addr]
	}
	var seconds float64
	for _, s := range c.Spans {
		seconds += s.Duration
	}
	tl := c.trialLadder()
	err := Run(ctx, Options{
		FFmpeg: c.FFmpeg, Args: args,
		Budget: EncodeBudget(c.Input.Source, tl, seconds, c.Preset),
		OnStderr: func(line string) {
			if m := x264SSIM.FindStringSubmatch(line); m != nil {
				entry(m[1]).ssim, _ = strconv.ParseFloat(m[2], 64)
			} else if m := x264Frames.FindStringSubmatch(line); m != nil {
				e := entry(m[1])
				e.frames[m[2]], _ = strconv.ParseFloat(m[3], 64)
				e.size[m[2]], _ = strconv.ParseFloat(m[4], 64)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("complexity pass: %w", err)
	}
	if len(order) == 0 && len(c.Spans) > 0 && c.Spans[0].Start > 0 {
		return nil, fmt.Errorf("complexity pass: %w", errNoFrames)
	}
	if len(order) != len(tl.Video) {
		return nil, fmt.Errorf("complexity pass: x264 reported %d encodes of %d", len(order), len(tl.Video))
	}
	seg := c.Ladder.SegmentSeconds
	if seg <= 0 {
		seg = media.DefaultSegmentSeconds
	}
	if d := c.Input.Source.Duration; d > 0 {
		seg = min(seg, d) // a source shorter than a segment has one keyframe
	}
	n := len(media.TrialCRFs)
	var out []media.Complexity
	for i, r := range c.Ladder.Video {
		w, h, _, _ := trialSize(r)
		area := float64(w*h) / float64(r.Width*r.Height)
		m := media.Complexity{Rung: r.Name, Area: math.Round(area*1000) / 1000}
		for t := range n {
			res := got[order[i*n+t]]
			kbps := res.kbps(seg*r.FPS, r.FPS, area)
			m.Trials[t] = media.Trial{CRF: media.TrialCRFs[t], Kbps: math.Round(kbps*10) / 10, SSIM: res.ssim}
		}
		out = append(out, m)
	}
	return out, nil
}
