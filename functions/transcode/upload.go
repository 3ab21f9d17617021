package transcode

import (
	"context"
	"fmt"
	"os"

	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
)

// uploader moves finished segments from ffmpeg's working directory to the
// media bucket as the encoder reports them, so /tmp only ever holds the
// segments being written plus those not yet uploaded. It is used by one
// goroutine at a time.
type uploader struct {
	store          *store.Store
	bucket, prefix string

	video map[string]bool // renditions whose codecs are read from their first segment

	sizes  map[string]int64  // "720p/seg_00000.ts" -> bytes, once uploaded
	codecs map[string]string // video rendition -> RFC 6381 codecs as encoded
}

func newUploader(st *store.Store, bucket, prefix string, video map[string]bool) *uploader {
	return &uploader{
		store: st, bucket: bucket, prefix: prefix, video: video,
		sizes: map[string]int64{}, codecs: map[string]string{},
	}
}

// add uploads and deletes a finished segment.
func (u *uploader) add(ctx context.Context, s encoder.Segment) error {
	rel := s.Name + "/" + s.File
	if u.video[s.Name] && u.codecs[s.Name] == "" {
		// Best effort: without it the master falls back to the codecs the
		// ladder asked for.
		u.codecs[s.Name] = segmentCodecs(s.Path)
	}
	fi, err := os.Stat(s.Path)
	if err != nil {
		return fmt.Errorf("upload %s: %w", rel, err)
	}
	if err := u.store.PutFile(ctx, u.bucket, u.prefix+rel, s.Path, store.For(rel)); err != nil {
		return err
	}
	u.sizes[rel] = fi.Size()
	if err := os.Remove(s.Path); err != nil {
		return fmt.Errorf("upload %s: %w", rel, err)
	}
	return nil
}

// segmentCodecs is media.SegmentCodecs of the segment at path, or "".
func segmentCodecs(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	c, _ := media.SegmentCodecs(f)
	return c
}
