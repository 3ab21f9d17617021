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

// segmentsCMAF reports whether ladder l is written as CMAF: when the
// deployment says so, and always for a ladder with HEVC or AV1 rungs.
func (c Config) segmentsCMAF(l media.Ladder) bool {
	return c.SegmentFormat == media.CMAF || len(l.Extra) > 0
}
