package vod

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
)

// encodeHere encodes every rendition with one ffmpeg in this process.
func (j *job) encodeHere(ctx context.Context, ms *media.Source, l media.Ladder, t *tracker) ([]rendition, map[string]string, error) {
	work, err := os.MkdirTemp(j.cfg.TmpDir, "transcode-"+j.id+"-")
	if err != nil {
		return nil, nil, fmt.Errorf("make working directory: %w", err)
	}
	defer os.RemoveAll(work)
	job := encoder.Job{
		Input: encoder.Input{URL: j.url, Source: ms}, Ladder: l,
		Output: encoder.Output{Kind: encoder.VOD, Dir: work, Revision: j.src.Revision(), CMAF: j.cfg.segmentsCMAF(l)},
		Preset: j.cfg.Preset, Threads: j.cfg.Threads, ShareThreads: true, Progress: true,
	}
	// The storyboard's sheets come from the same decode (storyboard.go).
	if job.Storyboard = encoder.PlanStoryboard(ms.Duration, l); job.Storyboard != nil {
		if err := os.Mkdir(filepath.Join(work, encoder.StoryboardDir), 0o755); err != nil {
			return nil, nil, fmt.Errorf("make working directory: %w", err)
		}
	}
	rends, codecs, err := encodeInto(ctx, j.store, j.cfg.MediaBucket, catalog.Prefix(j.id), job, encoder.Options{
		FFmpeg: j.cfg.FFmpeg,
		Budget: encoder.EncodeBudget(ms, l, ms.Duration+media.DurationMargin(ms.Duration), j.cfg.Preset),
		OnProgress: func(p encoder.Progress) {
			if ms.Duration > 0 {
				t.report(math.Max(0, math.Min(0.99, math.Round(p.OutTime.Seconds()/ms.Duration*100)/100)))
			}
		},
	}, j.cfg.Poll)
	for _, r := range rends {
		if err == nil && r.init != nil {
			err = uploadInit(ctx, j.store, j.cfg.MediaBucket, catalog.Prefix(j.id), job.Output.Revision, r.name, r.init)
		}
	}
	if err == nil && job.Storyboard != nil {
		// A nicety, like the poster: a video without one is still whole.
		if j.board, err = j.uploadSheets(ctx, work, job.Storyboard); err != nil {
			j.log.Warn("storyboard sheets", "err", err)
			j.board, err = nil, nil
		}
	}
	return rends, codecs, err
}

// encodeInto runs job, a VOD encode, and moves each segment to bucket
// under prefix (as {rendition}/{file}) as soon as ffmpeg finishes it, so
// the working directory only ever holds the segments being written plus
// those not yet uploaded; a failed upload stops ffmpeg. It returns each
// rendition's playlist as ffmpeg wrote it, and the codecs of each video
// rendition as encoded (read from its first segment; best effort: without
// it the master names the codecs the ladder asked for); a CMAF
// rendition's init segment is read, for the caller to upload. The job's
// arguments and segment watch are set here, the rest of opt is the
// caller's.
func encodeInto(ctx context.Context, st *store.Store, bucket, prefix string, job encoder.Job, opt encoder.Options, poll time.Duration) ([]rendition, map[string]string, error) {
	if opt.Args = encoder.Args(job); opt.Args == nil {
		return nil, nil, refuse("the file has nothing to encode", nil)
	}
	video := map[string]bool{}
	for _, r := range append(slices.Clone(job.Ladder.Video), job.Ladder.Extra...) {
		video[r.Name] = true
	}
	sizes, codecs := map[string]int64{}, map[string]string{} // by "720p/seg_00000.ts", by rendition
	upload := func(s encoder.Segment) error {
		rel := s.Name + "/" + s.File
		if video[s.Name] && codecs[s.Name] == "" && !job.Output.CMAF {
			codecs[s.Name] = segmentCodecs(s.Path)
		}
		fi, err := os.Stat(s.Path)
		if err != nil {
			return fmt.Errorf("upload %s: %w", rel, err)
		}
		if err := st.PutFile(ctx, bucket, prefix+rel, s.Path, store.For(rel)); err != nil {
			return err
		}
		sizes[rel] = fi.Size()
		if err := os.Remove(s.Path); err != nil {
			return fmt.Errorf("upload %s: %w", rel, err)
		}
		return nil
	}
	// Unless ffmpeg is being stopped anyway: its error then tells why.
	var upErr error
	opt.Watch = job.Watch(func(s encoder.Segment) error {
		if err := upload(s); err != nil && ctx.Err() == nil {
			upErr = err
		}
		return upErr
	})
	opt.Watch.Poll = poll
	switch err := encoder.Run(ctx, opt); {
	case upErr != nil:
		return nil, nil, upErr // ffmpeg was stopped because of it
	case errors.Is(err, media.ErrUnsupported):
		return nil, nil, err
	case err != nil && !errors.As(err, new(*encoder.RunError)):
		// ffmpeg did not run (missing, not executable): not the file's
		// fault, so the event is retried rather than the upload failed.
		return nil, nil, fmt.Errorf("encode: %w", err)
	case err != nil:
		return nil, nil, refuse("the video could not be encoded; the file may be damaged or incomplete", err)
	}

	var rends []rendition
	for _, name := range job.Renditions() {
		data, err := os.ReadFile(filepath.Join(job.Output.Dir, name, "index.m3u8"))
		if err != nil {
			return nil, nil, fmt.Errorf("read %s playlist: %w", name, err)
		}
		p, err := hls.ParseMedia(data)
		if err != nil {
			return nil, nil, fmt.Errorf("parse %s playlist: %w", name, err)
		}
		if !p.EndList || len(p.Segments) == 0 {
			return nil, nil, refuse("the video could not be encoded; ffmpeg produced no complete output", nil)
		}
		r := rendition{name: name, p: p, sizes: map[string]int64{}}
		if job.Output.CMAF {
			if err := readInit(job, &r, video[name], codecs); err != nil {
				return nil, nil, err
			}
		}
		for _, s := range p.Segments {
			n, ok := sizes[name+"/"+s.URI]
			if !ok || strings.ContainsAny(s.URI, `/\`) {
				return nil, nil, fmt.Errorf("%s playlist lists %q, which was not uploaded", name, s.URI)
			}
			r.sizes[s.URI] = n
		}
		rends = append(rends, r)
	}
	return rends, codecs, nil
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
