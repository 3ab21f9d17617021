package vod

import (
	"context"
	"errors"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/media"
)

// withCodecs adds to l the rungs of the extra video codecs (HEVC, AV1;
// media.PlanCodecs) that the upload asked for in its API request, or else
// the deployment's (Config.Codecs). The upload's choice is read from the
// API's private record of it; an upload without one gets the
// deployment's. A record that cannot be read now is a temporary failure
// (the event is retried); one that does not decode is ignored.
func (j *job) withCodecs(ctx context.Context, l media.Ladder) (media.Ladder, error) {
	if len(l.Video) == 0 {
		return l, nil
	}
	codecs := j.cfg.Codecs
	j.use.gets.Add(1)
	o, err := catalog.ReadOptions(ctx, j.store, j.cfg.MediaBucket, j.id)
	switch {
	case errors.Is(err, catalog.ErrBadRecord):
		j.log.Warn("upload options ignored", "err", err)
	case err != nil:
		return l, err
	}
	if cs, ok := o.VideoCodecs(); ok {
		codecs = cs
	}
	return media.PlanCodecs(l, codecs), nil
}

// encodeExtraHere reports, and logs, that a source the fan-out would
// encode is encoded in this process because its ladder has rungs in other
// codecs: the chunks are MPEG-TS, which HLS does not carry HEVC or AV1
// in, while the single-process encode writes CMAF for them.
func (j *job) encodeExtraHere(l media.Ladder) bool {
	if len(l.Extra) == 0 {
		return false
	}
	j.log.Info("encoded in one process: rungs in other codecs than H.264 need CMAF, which the chunks do not write yet", "extra", len(l.Extra))
	return true
}

// segmentsCMAF reports whether ladder l is written as CMAF: when the
// deployment says so, and always for a ladder with HEVC or AV1 rungs.
func (c Config) segmentsCMAF(l media.Ladder) bool {
	return c.SegmentFormat == media.CMAF || len(l.Extra) > 0
}
