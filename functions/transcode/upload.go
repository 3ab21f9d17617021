package transcode

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
)

// uploader moves finished segments from ffmpeg's working directory to the
// media bucket, so /tmp only ever holds the segments being written plus
// those not yet uploaded. It is used by one goroutine at a time.
type uploader struct {
	store          *store.Store
	bucket, prefix string
	dir            string
	renditions     []string // folder names under dir, e.g. "720p", "audio"

	video map[string]bool // renditions whose codecs are read from their first segment

	sizes  map[string]int64  // "720p/seg_00000.ts" -> bytes, once uploaded
	codecs map[string]string // video rendition -> RFC 6381 codecs as encoded
}

func newUploader(st *store.Store, bucket, prefix, dir string, renditions []string, video map[string]bool) *uploader {
	return &uploader{
		store: st, bucket: bucket, prefix: prefix, dir: dir, renditions: renditions, video: video,
		sizes: map[string]int64{}, codecs: map[string]string{},
	}
}

// scan uploads and deletes every finished segment now in the working
// directory. ffmpeg writes a segment under a temporary name and renames it
// to *.ts when complete, so any *.ts file is final.
func (u *uploader) scan(ctx context.Context) error {
	for _, r := range u.renditions {
		entries, err := os.ReadDir(filepath.Join(u.dir, r))
		if errors.Is(err, fs.ErrNotExist) {
			continue // ffmpeg has not started this rendition yet
		}
		if err != nil {
			return fmt.Errorf("scan segments: %w", err)
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".ts") {
				continue
			}
			if u.video[r] && u.codecs[r] == "" {
				// Best effort: without it the master falls back to the
				// codecs the ladder asked for.
				u.codecs[r] = segmentCodecs(filepath.Join(u.dir, r, e.Name()))
			}
			if err := u.upload(ctx, r+"/"+e.Name()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (u *uploader) upload(ctx context.Context, rel string) error {
	path := filepath.Join(u.dir, filepath.FromSlash(rel))
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("upload %s: %w", rel, err)
	}
	if err := u.store.PutFile(ctx, u.bucket, u.prefix+rel, path, store.For(rel)); err != nil {
		return err
	}
	u.sizes[rel] = fi.Size()
	if err := os.Remove(path); err != nil {
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
