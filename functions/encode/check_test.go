package encode

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/chunk"
	"github.com/hlsflow/hlsflow/internal/media"
)

// TestBadRequestsAreRefused: a request that can never work is refused with
// ErrBadRequest and a reason, before anything is read or written.
func TestBadRequestsAreRefused(t *testing.T) {
	good := chunk.Request{
		Kind: chunk.KindVideo, ID: "v", Bucket: "uploads", Key: "a.mp4", MediaBucket: "media", Prefix: "vod/v/",
		Revision: "3fa9c2d1",
		Source:   media.Source{Video: &media.Video{Codec: "h264"}},
		Ladder:   media.Ladder{Video: []media.Rung{{Name: "360p", Width: 640, Height: 360}}},
	}
	for _, tc := range []struct {
		name   string
		change func(*chunk.Request)
		reason string
	}{
		{"revision with a slash", func(r *chunk.Request) { r.Revision = "../x" }, "revision"},
		{"revision with an ffmpeg pattern", func(r *chunk.Request) { r.Revision = "%d" }, "revision"},
		{"prefix outside vod/", func(r *chunk.Request) { r.Prefix = "live/v/" }, "prefix"},
		{"prefix climbing out", func(r *chunk.Request) { r.Prefix = "vod/../x/" }, "prefix"},
		{"no bucket", func(r *chunk.Request) { r.Bucket = "" }, "bucket"},
		{"rung name with a dot", func(r *chunk.Request) { r.Ladder.Video[0].Name = ".." }, "rung name"},
		{"unknown kind", func(r *chunk.Request) { r.Kind = "subtitles" }, "unknown kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := good
			req.Ladder.Video = append([]media.Rung(nil), good.Ladder.Video...)
			tc.change(&req)
			// No store and no ffmpeg: a request that got past the checks
			// would panic rather than pass.
			_, err := (&Handler{}).Handle(context.Background(), req)
			if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %v, want ErrBadRequest about %q", err, tc.reason)
			}
		})
	}
	if err := check(good); err != nil {
		t.Errorf("the valid request is refused: %v", err)
	}
}
