package vod

import (
	"context"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/media"
)

// perTitle turns the fixed ladder l into the source's per-title ladder
// (media.PlanPerTitle) when Config.PerTitle is set. It runs once, here in
// the job, before the encode is chosen: the plan travels in the ladder to
// the one ffmpeg or to every chunk worker, so both paths make the same
// decisions. A pass that fails keeps the fixed ladder: per-title saves
// bytes, it is never a reason to refuse a video; only a cancelled context
// is returned.
func (j *job) perTitle(ctx context.Context, ms *media.Source, l media.Ladder) (media.Ladder, error) {
	if !j.cfg.PerTitle || ms.Video == nil || len(l.Video) == 0 {
		return l, nil
	}
	start := time.Now()
	spans := media.SampleSpans(ms.Duration)
	measured, spans, err := encoder.MeasureComplexity(ctx, encoder.Complexity{
		FFmpeg: j.cfg.FFmpeg, Input: encoder.Input{URL: j.url, Source: ms}, Ladder: l, Spans: spans, Preset: j.cfg.Preset,
	})
	if ctx.Err() != nil {
		return l, ctx.Err()
	}
	if err != nil {
		j.log.Warn("per-title pass failed: the fixed ladder is kept", "err", j.hide(err))
		return l, nil
	}
	pl, plan := media.PlanPerTitle(l, spans, measured)
	j.plan = catalog.PlanOf(plan)
	j.log.Info("per-title ladder", "rungs", len(pl.Video), "of", len(l.Video), "took", time.Since(start).Round(time.Millisecond))
	return pl, nil
}
