// Package encode is the chunk worker Lambda: functions/transcode invokes
// it (RequestResponse) once per chunk of a long video, and once for the
// whole audio, with a chunk.Request. It reads only its part of the source
// through a presigned URL (ffmpeg seeks with range reads), encodes, uploads
// the segments to the media bucket and returns their list; playlists are
// written by transcode once every chunk is in.
package encode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/chunk"
	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
)

// ErrBadRequest is wrapped by errors about a request that can never work.
var ErrBadRequest = errors.New("bad encode request")

// Handler encodes one piece of a video. Build it with New.
type Handler struct {
	Store  *store.Store
	FFmpeg string
	TmpDir string // parent of each invocation's working directory; "" = os.TempDir()
	Log    *slog.Logger
}

// New returns a Handler using the default ffmpeg (FFMPEG_PATH, the layer,
// then PATH).
func New(st *store.Store) *Handler {
	return &Handler{Store: st, FFmpeg: media.FFmpegPath(), Log: slog.Default()}
}

// Handle encodes what req asks for and returns the uploaded segments. Any
// error fails the invocation; the caller retries.
func (h *Handler) Handle(ctx context.Context, req chunk.Request) (*chunk.Response, error) {
	if err := check(req); err != nil {
		return nil, err
	}
	what := fmt.Sprintf("%s %s", req.ID, req.Kind)
	if req.Kind == chunk.KindVideo {
		what = fmt.Sprintf("%s chunk %d", req.ID, req.Chunk.Index)
	}
	log := h.logger().With("id", req.ID, "kind", req.Kind, "chunk", req.Chunk.Index, "attempt", req.Attempt)

	ttl := 12 * time.Hour
	if d, ok := ctx.Deadline(); ok {
		ttl = time.Until(d) + 5*time.Minute
	}
	u, err := h.Store.PresignGet(ctx, req.Bucket, req.Key, ttl)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", what, err)
	}
	work, err := os.MkdirTemp(h.TmpDir, "encode-"+req.ID+"-")
	if err != nil {
		return nil, fmt.Errorf("encode %s: make working directory: %w", what, err)
	}
	defer os.RemoveAll(work)

	opt := chunk.Options{Input: u, OutDir: work, Preset: req.Preset, Threads: req.Threads, Revision: req.Revision}
	var args, names []string
	if req.Kind == chunk.KindAudio {
		args = chunk.AudioArgs(&req.Source, req.Ladder, opt)
		names = []string{req.Ladder.Audio.Name}
		if err := os.MkdirAll(filepath.Join(work, req.Ladder.Audio.Name), 0o755); err != nil {
			return nil, fmt.Errorf("encode %s: %w", what, err)
		}
	} else {
		args = chunk.VideoArgs(&req.Source, req.Ladder, req.Chunk, opt)
		for _, r := range req.Ladder.Video {
			names = append(names, r.Name)
		}
	}
	if args == nil {
		return nil, fmt.Errorf("encode %s: %w: nothing to encode", what, ErrBadRequest)
	}
	start := time.Now()
	if err := encoder.Run(ctx, encoder.Options{FFmpeg: h.FFmpeg, Args: args, Budget: budget(req)}); err != nil {
		// Presigned URLs carry a signature: keep them out of errors.
		msg := strings.ReplaceAll(err.Error(), u, "s3://"+req.Bucket+"/"+req.Key)
		return nil, fmt.Errorf("encode %s: %s", what, msg)
	}
	took := time.Since(start)

	res := &chunk.Response{Renditions: map[string][]chunk.Segment{}, Seconds: took.Seconds()}
	for _, name := range names {
		segs, err := h.upload(ctx, req, work, name)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", what, err)
		}
		res.Renditions[name] = segs
	}
	log.Info("encoded", "took", took.Round(time.Millisecond))
	return res, nil
}

// upload puts every segment of one rendition's playlist in the media
// bucket and returns them in order.
func (h *Handler) upload(ctx context.Context, req chunk.Request, work, name string) ([]chunk.Segment, error) {
	data, err := os.ReadFile(filepath.Join(work, name, "index.m3u8"))
	if err != nil {
		return nil, fmt.Errorf("read %s playlist: %w", name, err)
	}
	p, err := hls.ParseMedia(data)
	if err != nil {
		return nil, fmt.Errorf("parse %s playlist: %w", name, err)
	}
	if !p.EndList || len(p.Segments) == 0 {
		return nil, fmt.Errorf("%s: ffmpeg produced no complete playlist", name)
	}
	segs := make([]chunk.Segment, 0, len(p.Segments))
	for _, s := range p.Segments {
		if strings.ContainsAny(s.URI, `/\`) {
			return nil, fmt.Errorf("%s playlist lists %q, not a file name", name, s.URI)
		}
		path := filepath.Join(work, name, s.URI)
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("segment %s/%s: %w", name, s.URI, err)
		}
		key := req.Prefix + name + "/" + s.URI
		if err := h.Store.PutFile(ctx, req.MediaBucket, key, path, store.For(key)); err != nil {
			return nil, err
		}
		// Keep /tmp small while the rest uploads.
		os.Remove(path)
		segs = append(segs, chunk.Segment{URI: s.URI, Duration: s.Duration.Seconds(), Size: fi.Size()})
	}
	return segs, nil
}

// check refuses a request that can never work or would write outside its
// video's folder: every name that becomes a key or a path (id, prefix,
// revision, rendition names) must be one the transcoder makes, and the
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
		if req.Chunk.Start < 0 || req.Chunk.Duration < 0 || req.Chunk.FirstSegment < 0 {
			bad("chunk bounds must not be negative")
		}
	case chunk.KindAudio:
		if req.Ladder.Audio == nil || req.Source.Audio == nil {
			bad("audio needs an audio rung and an audio stream")
		}
	default:
		bad("unknown kind %q", clip(req.Kind))
	}
	seen := map[string]bool{}
	for _, r := range req.Ladder.Video {
		if !media.ValidRungName(r.Name) || seen[r.Name] {
			bad("rung name %q is not a video rendition name", clip(r.Name))
		}
		seen[r.Name] = true
	}
	if a := req.Ladder.Audio; a != nil && a.Name != media.AudioName {
		bad("audio rendition name %q is not %q", clip(a.Name), media.AudioName)
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
		seconds = 0
	}
	if seconds <= 0 {
		seconds = max(0, src.Duration-req.Chunk.Start) + media.DurationMargin(src.Duration)
	}
	return encoder.EncodeBudget(&src, l, seconds, req.Preset)
}

func (h *Handler) logger() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}
