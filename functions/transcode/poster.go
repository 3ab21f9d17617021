package transcode

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
func (h *Handler) poster(ctx context.Context, id string, src catalog.Source, res *result) (string, error) {
	if res == nil || res.source == nil || res.source.Video == nil || len(res.ladder.Video) == 0 {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, posterTimeout)
	defer cancel()
	u, err := h.Store.PresignGet(ctx, src.Bucket, src.Key, posterTimeout+time.Minute)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(h.tmpDir(), "poster-"+id+"-")
	if err != nil {
		return "", fmt.Errorf("poster of %s: %w", id, err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "poster.jpg")
	args := encoder.PosterArgs(res.source, res.ladder, u, out, encoder.PosterAt(res.source.Duration))
	// One frame: the budget of no duration (the base CPU time) is plenty.
	err = encoder.Run(ctx, encoder.Options{FFmpeg: h.FFmpeg, Args: args, Budget: encoder.EncodeBudget(res.source, res.ladder, 0, "")})
	if err != nil {
		return "", redact(fmt.Errorf("poster of %s: %w", id, err), u, "s3://"+src.Bucket+"/"+src.Key)
	}
	key := catalog.PosterKey(id, src.Upload)
	if err := h.Store.PutFile(ctx, h.MediaBucket, key, out, store.For(key)); err != nil {
		return "", fmt.Errorf("poster of %s: %w", id, err)
	}
	return key, nil
}
