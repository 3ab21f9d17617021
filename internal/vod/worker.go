package vod

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/chunk"
	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
)

// ErrBadRequest is wrapped by errors about a chunk request that can never
// work.
var ErrBadRequest = errors.New("bad encode request")

// Worker encodes one piece of a chunked video, as the encode Lambda or in
// this process: it reads only its part of the source through a presigned
// URL (ffmpeg seeks with range reads), encodes, uploads the segments to
// the media bucket and returns their list. Playlists are the fan-out's to
// write, once every chunk is in.
type Worker struct {
	store       *store.Store
	ffmpeg, tmp string
	poll        time.Duration
	log         *slog.Logger
}

// NewWorker returns a Worker with cfg's tools and working directory (the
// rest of cfg comes with each request).
func NewWorker(cfg Config, deps Deps) *Worker {
	cfg = cfg.withDefaults()
	return &Worker{store: deps.Store, ffmpeg: cfg.FFmpeg, tmp: cfg.TmpDir, poll: cfg.Poll, log: deps.logger()}
}

// EncodeChunk encodes what req asks for and returns the uploaded segments.
// Any error fails the invocation; the fan-out retries.
func (w *Worker) EncodeChunk(ctx context.Context, req chunk.Request) (*chunk.Response, error) {
	if err := check(req); err != nil {
		return nil, err
	}
	what := fmt.Sprintf("%s chunk %d", req.ID, req.Chunk.Index)
	if req.Kind == chunk.KindAudio {
		what = fmt.Sprintf("%s audio chunk %d", req.ID, req.Chunk.Index)
	}
	u, err := w.store.PresignGet(ctx, req.Bucket, req.Key, presignTTL(ctx))
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", what, err)
	}
	work, err := os.MkdirTemp(w.tmp, "encode-"+req.ID+"-")
	if err != nil {
		return nil, fmt.Errorf("encode %s: make working directory: %w", what, err)
	}
	defer os.RemoveAll(work)

	opt := chunk.Options{Input: u, OutDir: work, Preset: req.Preset, Threads: req.Threads, Revision: req.Revision, CMAF: req.CMAF, Storyboard: req.Storyboard}
	job := chunk.VideoJob(&req.Source, req.Ladder, req.Chunk, opt)
	if req.Kind == chunk.KindAudio {
		job = chunk.AudioJob(&req.Source, req.Ladder, req.Chunk, req.Chunk.Duration <= 0, opt)
	}
	if job.Storyboard != nil {
		if err := os.Mkdir(filepath.Join(work, encoder.StoryboardDir), 0o755); err != nil {
			return nil, fmt.Errorf("encode %s: make working directory: %w", what, err)
		}
	}
	start := time.Now()
	rends, codecs, err := encodeInto(ctx, w.store, req.MediaBucket, req.Prefix, job,
		encoder.Options{FFmpeg: w.ffmpeg, Budget: budget(req)}, w.poll)
	if err != nil {
		// Presigned URLs carry a signature: keep them out of errors.
		return nil, redact(fmt.Errorf("encode %s: %w", what, err), u, "s3://"+req.Bucket+"/"+req.Key)
	}
	res := &chunk.Response{Renditions: map[string][]chunk.Segment{}, Seconds: time.Since(start).Seconds(), Codecs: codecs}
	for _, r := range rends {
		if r.init != nil {
			if res.Inits == nil {
				res.Inits = map[string][]byte{}
			}
			res.Inits[r.name] = r.init
		}
		for _, s := range r.p.Segments {
			res.Renditions[r.name] = append(res.Renditions[r.name], chunk.Segment{URI: s.URI, Duration: s.Duration.Seconds(), Size: r.sizes[s.URI]})
		}
	}
	if job.Storyboard != nil {
		// A nicety: a chunk without its thumbnails is still whole.
		if res.Thumbnails, err = chunkThumbnails(work, job.Storyboard); err != nil {
			w.log.Warn("storyboard thumbnails", "id", req.ID, "chunk", req.Chunk.Index, "err", err)
		}
	}
	w.log.Info("encoded", "id", req.ID, "kind", req.Kind, "chunk", req.Chunk.Index, "attempt", req.Attempt,
		"took", time.Since(start).Round(time.Millisecond))
	return res, nil
}

// check refuses a request that can never work or would write outside its
// video's folder: every name that becomes a key or a path (id, prefix,
// revision, rendition names) must be one the fan-out makes, and the
// source must be within media.DefaultLimits, which the budget and
// -max_pixels are sized from.
func check(req chunk.Request) error {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if req.Bucket == "" || req.Key == "" || req.MediaBucket == "" {
		bad("bucket, key and mediaBucket are required")
	}
	if !catalog.ValidID(req.ID) {
		bad("id %q is not a video id", clip(req.ID))
	} else if req.Prefix != catalog.Prefix(req.ID) {
		bad("prefix %q is not the video's folder %s", clip(req.Prefix), catalog.Prefix(req.ID))
	}
	if !media.ValidRevision(req.Revision) {
		bad("revision %q is not lower-case letters and digits", clip(req.Revision))
	}
	if !encoder.ValidPreset(req.Preset) {
		bad("preset %q is not an x264 preset", clip(req.Preset))
	}
	if req.Threads < 0 || req.Threads > maxThreads {
		bad("threads %d is outside 0..%d", req.Threads, maxThreads)
	}
	switch req.Kind {
	case chunk.KindVideo:
		if len(req.Ladder.Video) == 0 || req.Source.Video == nil {
			bad("a video chunk needs video rungs and a video stream")
		}
	case chunk.KindAudio:
		if req.Ladder.Audio == nil || req.Source.Audio == nil {
			bad("audio needs an audio rung and an audio stream")
		} else if r := req.Ladder.Audio.SampleRate; r < minSampleRate || r > maxSampleRate {
			bad("audio sample rate %d is outside %d..%d", r, minSampleRate, maxSampleRate)
		}
	default:
		bad("unknown kind %q", clip(req.Kind))
	}
	if c := req.Chunk; c.Start < 0 || c.Duration < 0 || c.FirstSegment < 0 || math.IsNaN(c.Start) || math.IsNaN(c.Duration) {
		bad("chunk bounds must be numbers, not negative")
	}
	seen := map[string]bool{}
	for _, r := range append(slices.Clone(req.Ladder.Video), req.Ladder.Extra...) {
		if !media.ValidRungName(r.Name) || seen[r.Name] {
			bad("rung name %q is not a video rendition name", clip(r.Name))
		}
		seen[r.Name] = true
	}
	if len(req.Ladder.Extra) > 0 && !req.CMAF {
		// HLS carries HEVC and AV1 in fragmented MP4 only.
		bad("rungs in other codecs than H.264 need CMAF chunks")
	}
	if a := req.Ladder.Audio; a != nil && a.Name != media.AudioName {
		bad("audio rendition name %q is not %q", clip(a.Name), media.AudioName)
	}
	if n := len(req.Ladder.MoreAudio); n > 0 && (req.Ladder.Audio == nil || n >= media.MaxAudioTracks) {
		bad("%d further audio tracks: at most %d, beside a first", n, media.MaxAudioTracks-1)
	}
	for _, a := range req.Ladder.MoreAudio {
		if !media.ValidAudioTrackName(a.Name) || a.Name == media.AudioName || seen[a.Name] {
			bad("audio track name %q is not an audio rendition name", clip(a.Name))
		}
		seen[a.Name] = true
	}
	if sb := req.Storyboard; sb != nil {
		if req.Kind != chunk.KindVideo {
			bad("only a video chunk makes storyboard thumbnails")
		}
		if err := checkStoryboardPlan(sb); err != nil {
			bad("storyboard: %v", err)
		}
	}
	if req.Source.Duration <= 0 {
		bad("the source has no duration")
	} else if err := media.CheckLimits(&req.Source, media.DefaultLimits); err != nil {
		bad("source: %v", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrBadRequest, strings.Join(problems, "; "))
	}
	return nil
}

// maxThreads bounds the ffmpeg -threads a request may ask for.
const maxThreads = 64

// The audio sample rates a request may ask for: AAC's, which the audio
// chunks' frame grid is counted in.
const minSampleRate, maxSampleRate = 8000, 96000

// clip shortens a hostile value for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// budget is what ffmpeg may use for req: sized from the picture sizes and
// the span it encodes (the whole source, plus the margin media allows, for
// the audio and the last chunk).
func budget(req chunk.Request) encoder.Budget {
	src, l := req.Source, req.Ladder
	seconds := req.Chunk.Duration
	if req.Kind == chunk.KindAudio {
		src.Video, l.Video = nil, nil // the audio encode decodes no picture
		if seconds > 0 {
			seconds++ // the pre- and post-roll (chunk.AudioPreroll)
		}
	}
	if seconds <= 0 {
		seconds = max(0, src.Duration-req.Chunk.Start) + media.DurationMargin(src.Duration)
	}
	return encoder.EncodeBudget(&src, l, seconds, req.Preset)
}
