package encoder

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/hlsflow/hlsflow/internal/media"
)

// Complexity is the complexity pass of a per-title ladder (see
// media.PlanPerTitle): the slices of the source, encoded at every rung of
// the fixed ladder at media.TrialCRFs.
type Complexity struct {
	FFmpeg string
	Input  Input // URL and Source; Start and Duration are ignored
	Ladder media.Ladder
	Spans  []media.Span // media.SampleSpans of the source
	Preset string       // the ladder encode's preset, so that its bits are predicted; default DefaultPreset
}

// trials are the encodes of rung r in the complexity pass, in order: each
// trial CRF under the rung's cap.
func trials(r media.Rung) []media.Rung {
	var out []media.Rung
	for _, c := range media.TrialCRFs {
		t := r
		t.CRF = c
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
// own input (a fast seek and -t, locked down as for the encode), the
// slices joined (concat), each rung scaled as in the ladder (LadderGraph)
// and encoded by its trials with the ladder's x264 settings (keyframes,
// preset, cap), x264 reporting each encode's SSIM and bitrate in the log;
// nothing is written. It returns nil when there is nothing to measure.
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
	for i, s := range c.Spans {
		a = append(a, media.InputArgs(src, c.Input.URL, s.Start, s.Duration)...)
		fmt.Fprintf(&g, "[%d:%d]", i, src.Video.Index)
	}
	in := g.String()
	g.Reset()
	if len(c.Spans) > 1 {
		fmt.Fprintf(&g, "%sconcat=n=%d:v=1:a=0[cat];", in, len(c.Spans))
		in = "[cat]"
	}
	g.WriteString(LadderGraph(in, src.Video.FPS, c.Ladder.Video))
	n := len(media.TrialCRFs)
	var maps []string
	for i := range c.Ladder.Video {
		fmt.Fprintf(&g, ";[out%d]split=%d", i, n)
		for t := range n {
			fmt.Fprintf(&g, "[t%d_%d]", i, t)
			maps = append(maps, "-map", fmt.Sprintf("[t%d_%d]", i, t))
		}
	}
	a = append(a, "-filter_complex", g.String())
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
	x264SSIM = regexp.MustCompile(`^\[libx264 @ (0x[0-9a-f]+)\] SSIM Mean Y:([0-9.]+)`)
	x264Kbps = regexp.MustCompile(`^\[libx264 @ (0x[0-9a-f]+)\] kb/s:([0-9.]+)`)
)

// MeasureComplexity runs the pass and returns each rung's measure.
func MeasureComplexity(ctx context.Context, c Complexity) ([]media.Complexity, error) {
	args := ComplexityArgs(c)
	if args == nil {
		return nil, nil
	}
	type result struct{ ssim, kbps float64 }
	var order []string
	got := map[string]*result{}
	entry := func(addr string) *result {
		if got[addr] == nil {
			got[addr] = &result{}
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
			} else if m := x264Kbps.FindStringSubmatch(line); m != nil {
				entry(m[1]).kbps, _ = strconv.ParseFloat(m[2], 64)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("complexity pass: %w", err)
	}
	if len(order) != len(tl.Video) {
		return nil, fmt.Errorf("complexity pass: x264 reported %d encodes of %d", len(order), len(tl.Video))
	}
	n := len(media.TrialCRFs)
	var out []media.Complexity
	for i, r := range c.Ladder.Video {
		m := media.Complexity{Rung: r.Name}
		for t := range n {
			res := got[order[i*n+t]]
			m.Trials[t] = media.Trial{CRF: media.TrialCRFs[t], Kbps: res.kbps, SSIM: res.ssim}
		}
		out = append(out, m)
	}
	return out, nil
}
