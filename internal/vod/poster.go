package vod

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/store"
)

// posterTimeout bounds the poster grab: one seek and one decoded frame.
const posterTimeout = 30 * time.Second

// poster writes vod/{id}/poster-{revision}.jpg (immutable, like the
// segments: a new upload gets a new name), a frame of the source sized like the
// ladder's 720p-or-smaller rung, and returns its key ("" for audio only).
func (j *job) poster(ctx context.Context, res *result) (string, error) {
	if res.source.Video == nil || len(res.ladder.Video) == 0 {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, posterTimeout)
	defer cancel()
	dir, err := os.MkdirTemp(j.cfg.TmpDir, "poster-"+j.id+"-")
	if err != nil {
		return "", fmt.Errorf("poster of %s: %w", j.id, err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "poster.jpg")
	args := encoder.PosterArgs(res.source, res.ladder, j.url, out, encoder.PosterAt(res.source.Duration))
	// One frame: the budget of no duration (the base CPU time) is plenty.
	err = encoder.Run(ctx, encoder.Options{FFmpeg: j.cfg.FFmpeg, Args: args, Budget: encoder.EncodeBudget(res.source, res.ladder, 0, "")})
	if err != nil {
		return "", j.hide(fmt.Errorf("poster of %s: %w", j.id, err))
	}
	key := catalog.PosterKey(j.id, j.src.Upload)
	if err := j.store.PutFile(ctx, j.cfg.MediaBucket, key, out, store.For(key)); err != nil {
		return "", fmt.Errorf("poster of %s: %w", j.id, err)
	}
	if fi, err := os.Stat(out); err == nil {
		j.use.wrote(1, fi.Size())
	}
	return key, nil
}
