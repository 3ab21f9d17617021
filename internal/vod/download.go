package vod

import (
	"context"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/store"
)

// downloadSpare is room left in TmpDir beside a download's files.
const downloadSpare = 64 << 20

// download writes vod/{id}/download-{revision}.mp4: the top video rung
// and the audio rendition as encoded, remuxed into one MP4 (no second
// encode), served as an attachment named after the video id (never the
// uploaded file's name, which stays private). It reads the segments back
// from the bucket, so the single-process and the fanned-out encodes are
// treated alike, and returns the key ("" when downloads are off).
func (j *job) download(ctx context.Context, res *result) (string, error) {
	if j.cfg.NoDownload {
		return "", nil
	}
	// What goes in: the top video rung and the audio, each joined into
	// one MPEG-TS file.
	var parts []rendition
	var size int64
	for _, r := range res.rends {
		if (len(res.ladder.Video) > 0 && r.name == res.ladder.Video[0].Name) || (res.ladder.Audio != nil && r.name == res.ladder.Audio.Name) {
			parts = append(parts, r)
			for _, n := range r.sizes {
				size += n
			}
		}
	}
	// The joined segments and the MP4 are each about the size of the
	// renditions: a video too large for this function's /tmp has none.
	if free, ok := freeBytes(j.cfg.TmpDir); ok && 2*size+downloadSpare > free {
		return "", fmt.Errorf("download of %s: %d MiB needed in %s, %d MiB free", j.id, (2*size+downloadSpare)>>20, j.cfg.TmpDir, free>>20)
	}
	dir, err := os.MkdirTemp(j.cfg.TmpDir, "download-"+j.id+"-")
	if err != nil {
		return "", fmt.Errorf("download of %s: %w", j.id, err)
	}
	defer os.RemoveAll(dir)
	var video, audio string
	for _, r := range parts {
		path := &video
		if res.ladder.Audio != nil && r.name == res.ladder.Audio.Name {
			path = &audio
		}
		*path = filepath.Join(dir, r.name+".ts")
		if initSegment(r) != "" {
			*path = filepath.Join(dir, r.name+".mp4") // fragmented MP4
		}
		if err := j.joinSegments(ctx, r, *path); err != nil {
			return "", fmt.Errorf("download of %s: %w", j.id, err)
		}
	}
	out := filepath.Join(dir, "download.mp4")
	args := encoder.DownloadArgs(video, audio, out)
	if args == nil {
		return "", nil
	}
	if err := encoder.Run(ctx, encoder.Options{FFmpeg: j.cfg.FFmpeg, Args: args, Budget: encoder.DownloadBudget(res.duration)}); err != nil {
		return "", fmt.Errorf("download of %s: %w", j.id, err)
	}
	key := catalog.DownloadKey(j.id, j.src.Upload)
	o := store.For(key)
	o.ContentDisposition = mime.FormatMediaType("attachment", map[string]string{"filename": j.id + ".mp4"})
	if err := j.store.PutFile(ctx, j.cfg.MediaBucket, key, out, o); err != nil {
		return "", fmt.Errorf("download of %s: %w", j.id, err)
	}
	if fi, err := os.Stat(out); err == nil {
		j.use.wrote(1, fi.Size())
	}
	return key, nil
}

// joinSegments writes r's segments, read back from the bucket in
// playlist order, one after the other into the MPEG-TS file at path: the
// encoder wrote them on one timeline, chunks included.
func (j *job) joinSegments(ctx context.Context, r rendition, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	folder := catalog.RenditionPrefix(j.id, r.name)
	var uris []string
	if init := initSegment(r); init != "" {
		uris = append(uris, init) // a CMAF rendition: its init segment first
	}
	for _, s := range r.p.Segments {
		uris = append(uris, s.URI)
	}
	for _, uri := range uris {
		body, err := j.store.Open(ctx, j.cfg.MediaBucket, folder+uri, store.Read{})
		if err != nil {
			return err
		}
		j.use.gets.Add(1)
		_, err = io.Copy(f, body)
		body.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", folder+uri, err)
		}
	}
	return f.Close()
}

// initSegment is the EXT-X-MAP of a CMAF rendition, or "" for MPEG-TS.
func initSegment(r rendition) string {
	if len(r.p.Segments) > 0 && r.p.Segments[0].Map != nil {
		return r.p.Segments[0].Map.URI
	}
	return ""
}
