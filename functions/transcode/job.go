package transcode

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
)

// result is a finished transcode.
type result struct {
	keys       map[string]bool // every object written under vod/{id}/
	duration   float64         // seconds, as encoded
	renditions []catalog.Rendition
	master     []byte            // master.m3u8, for publishMaster to write
	stable     map[string][]byte // each rendition's index.m3u8, written with the master
	source     *media.Source     // as probed, for the poster
	ladder     media.Ladder
}

// transcode probes, encodes and uploads one upload. Errors that are the
// upload's fault are refusals or wrap media.ErrUnsupported; others are
// transient.
func (h *Handler) transcode(ctx context.Context, id string, src catalog.Source, st *catalog.Status) (*result, error) {
	if src.Size == 0 {
		// Known from HEAD; S3 answers a range read of nothing with an
		// error ffprobe does not explain.
		return nil, refuse("this file cannot be made into a video stream: the file is empty", nil)
	}
	start := time.Now()
	encCtx, cancelEnc := h.encodeContext(ctx)
	defer cancelEnc()

	u, err := h.Store.PresignGet(ctx, src.Bucket, src.Key, presignTTL(ctx))
	if err != nil {
		return nil, err
	}
	// Presigned URLs carry a signature: keep them out of messages and logs.
	hide := func(err error) error { return redact(err, u, "s3://"+src.Bucket+"/"+src.Key) }

	ms, err := media.Probe(encCtx, h.FFprobe, u, h.Limits)
	if err != nil {
		return nil, hide(h.runError(ctx, encCtx, start, err, false))
	}
	ladder, err := media.PlanLadder(ms, h.Ladder)
	if err != nil {
		if errors.Is(err, media.ErrUnsupported) {
			return nil, err
		}
		return nil, refuse("the video could not be planned", err)
	}
	if err := h.chargeQuota(ctx, id, src, ms); err != nil {
		return nil, err // before anything is encoded
	}
	work, err := os.MkdirTemp(h.tmpDir(), "transcode-"+id+"-")
	if err != nil {
		return nil, fmt.Errorf("make working directory: %w", err)
	}
	defer os.RemoveAll(work)

	if h.chunked(ms, ladder) {
		res, err := h.transcodeChunked(encCtx, id, src, st, ms, ladder, work)
		if err != nil && userMessage(err) == "" {
			err = h.runError(ctx, encCtx, start, err, false)
		}
		if res != nil {
			res.source, res.ladder = ms, ladder
		}
		return res, hide(err)
	}

	rev := src.Revision()
	job := encoder.Job{
		Input: encoder.Input{URL: u, Source: ms}, Ladder: ladder,
		Output: encoder.Output{Kind: encoder.VOD, Dir: work, Revision: rev},
		Preset: h.Preset, Threads: h.Threads, ShareThreads: true, Progress: true,
	}
	args := encoder.Args(job)
	if args == nil {
		return nil, refuse("the file has nothing to encode", nil)
	}
	video := map[string]bool{}
	for _, r := range ladder.Video {
		video[r.Name] = true
	}
	up := newUploader(h.Store, h.MediaBucket, catalog.Prefix(id), video)

	// ffmpeg reports progress on its own goroutine; the loop below
	// publishes it, so a slow status write never stalls ffmpeg's pipe.
	var outTime atomic.Int64
	stop, watched := make(chan struct{}), make(chan struct{})
	go func() { h.watch(encCtx, stop, st, ms.Duration, &outTime); close(watched) }()
	// Segments are uploaded as they finish; a failed upload stops ffmpeg,
	// unless ffmpeg is being stopped anyway (its error then tells why).
	var upErr error
	watch := job.Watch(func(s encoder.Segment) error {
		if err := up.add(encCtx, s); err != nil && encCtx.Err() == nil {
			upErr = err
		}
		return upErr
	})
	watch.Poll = cmp.Or(h.Poll, defaultPoll)
	runErr := encoder.Run(encCtx, encoder.Options{
		FFmpeg: h.FFmpeg, Args: args, Watch: watch,
		Budget:     encoder.EncodeBudget(ms, ladder, ms.Duration+media.DurationMargin(ms.Duration), h.Preset),
		OnProgress: func(p encoder.Progress) { outTime.Store(int64(p.OutTime)) },
	})
	close(stop)
	<-watched
	if upErr != nil {
		return nil, upErr // an upload failed: ffmpeg was stopped because of it
	}
	if runErr != nil {
		return nil, hide(h.runError(ctx, encCtx, start, runErr, true))
	}
	res, err := h.publish(ctx, id, rev, ms, ladder, work, up)
	if res != nil {
		res.source, res.ladder = ms, ladder
	}
	return res, err
}

// defaultPoll is how often, by default, segments are looked for and
// progress is looked at.
const defaultPoll = 200 * time.Millisecond

// watch publishes progress until stop is closed or ctx ends.
func (h *Handler) watch(ctx context.Context, stop <-chan struct{}, st *catalog.Status, duration float64, outTime *atomic.Int64) {
	every := cmp.Or(h.ProgressEvery, 5*time.Second)
	tick := time.NewTicker(cmp.Or(h.Poll, defaultPoll))
	defer tick.Stop()
	lastWrite := time.Now()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return // ffmpeg is being stopped; its error tells why
		case <-tick.C:
		}
		if time.Since(lastWrite) < every || duration <= 0 {
			continue
		}
		p := math.Round(time.Duration(outTime.Load()).Seconds()/duration*100) / 100
		p = math.Max(0, math.Min(0.99, p))
		if !setProgress(st, p) {
			continue
		}
		lastWrite = time.Now()
		if err := catalog.Write(ctx, h.Store, h.MediaBucket, st); err != nil {
			h.logger().Warn("write progress", "id", st.ID, "err", err)
		}
	}
}

// runError classifies a failure of ffprobe or ffmpeg: out of time and
// ffmpeg refusing the file are final; a cancelled invocation is not.
func (h *Handler) runError(ctx, encCtx context.Context, start time.Time, err error, encoding bool) error {
	switch {
	case errors.Is(encCtx.Err(), context.DeadlineExceeded):
		return refuse(fmt.Sprintf("timed out: processing was stopped after %s, the most this function may run; try a shorter or smaller file",
			time.Since(start).Round(time.Second)), err)
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted: %w", err)
	case errors.Is(err, media.ErrUnsupported):
		return err
	case encoding:
		return refuse("the video could not be encoded; the file may be damaged or incomplete", err)
	}
	return err
}

// encodeContext ends a margin before the invocation's deadline, so that a
// job running out of time can still clean up and say so in status.json.
func (h *Handler) encodeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := h.Margin
	if margin <= 0 {
		// Stopping ffmpeg may take encoder.KillGrace; recording the failure
		// a few seconds more.
		margin = min(max(time.Until(d)/10, encoder.KillGrace+3*time.Second), 30*time.Second)
	}
	return context.WithDeadline(ctx, d.Add(-margin))
}

// presignTTL covers the whole invocation: ffmpeg reads the source until
// the end.
func presignTTL(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d)+5*time.Minute, 15*time.Minute)
	}
	return 12 * time.Hour
}

// publish writes the media playlists once every segment they list is in
// the bucket, and builds the master (publishMaster writes it).
func (h *Handler) publish(ctx context.Context, id, rev string, src *media.Source, l media.Ladder, work string, up *uploader) (*result, error) {
	prefix := catalog.Prefix(id)
	res := &result{keys: map[string]bool{}, stable: map[string][]byte{}}
	for rel := range up.sizes {
		res.keys[prefix+rel] = true
	}
	rates := map[string]hls.Rate{}
	var names []string
	for _, r := range l.Video {
		names = append(names, r.Name)
	}
	if l.Audio != nil {
		names = append(names, l.Audio.Name)
	}
	var longest time.Duration
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(work, name, "index.m3u8"))
		if err != nil {
			return nil, fmt.Errorf("read %s playlist: %w", name, err)
		}
		p, err := hls.ParseMedia(data)
		if err != nil {
			return nil, fmt.Errorf("parse %s playlist: %w", name, err)
		}
		if !p.EndList || len(p.Segments) == 0 {
			return nil, refuse("the video could not be encoded; ffmpeg produced no complete output", nil)
		}
		sizes := map[string]int64{}
		for _, s := range p.Segments {
			n, ok := up.sizes[name+"/"+s.URI]
			if !ok || strings.Contains(s.URI, "/") {
				return nil, fmt.Errorf("%s playlist lists %s, which was not uploaded", name, s.URI)
			}
			sizes[s.URI] = n
		}
		rates[name] = hls.Measure(p, sizes)
		longest = max(longest, p.Duration())
		p.Type, p.EndList, p.IndependentSegments = hls.TypeVOD, true, true
		out, err := p.Encode()
		if err != nil {
			return nil, fmt.Errorf("%s playlist: %w", name, err)
		}
		if err := h.putPlaylists(ctx, prefix+name+"/", rev, out, res); err != nil {
			return nil, err
		}
	}
	// A damaged file can decode partly without ffmpeg failing. A video
	// short of its stated duration by more than 1 s, 5% or a segment
	// (whichever is larger, up to a segment) is not published as if whole.
	if got, want := longest.Seconds(), src.Duration; got < want-max(1, min(want/20, l.SegmentSeconds)) {
		return nil, refuse(fmt.Sprintf("the file is damaged or incomplete: only %.1f s of its %.1f s could be decoded", got, want), nil)
	}
	res.duration = math.Round(longest.Seconds()*1000) / 1000

	master, renditions := buildMaster(l, rev, rates, up.codecs)
	out, err := master.Encode()
	if err != nil {
		return nil, fmt.Errorf("master playlist: %w", err)
	}
	res.master = out
	res.renditions = renditions
	return res, nil
}

// putPlaylists writes a finished media playlist into folder under its
// revision's name, which the master lists, and keeps it for index.m3u8, a
// stable link to one rendition that follows the newest upload (cached
// briefly, like the master), which publishMaster writes with the master:
// until then it leads to the version that plays. It notes both keys.
func (h *Handler) putPlaylists(ctx context.Context, folder, rev string, body []byte, res *result) error {
	key := folder + media.PlaylistName(rev)
	if err := h.Store.PutBytes(ctx, h.MediaBucket, key, body, store.For(key)); err != nil {
		return err
	}
	res.keys[key] = true
	if stable := folder + media.PlaylistName(""); stable != key {
		res.stable[stable] = body
		res.keys[stable] = true
	}
	return nil
}

// buildMaster lists one variant per video rung, highest first, each with
// the audio rendition as an alternative group; an audio-only ladder is one
// audio variant. Bandwidths are measured (hls.Ladder adds the audio's peak
// and average to each variant's), and CODECS is what the encoder wrote
// (encoded, by rung name) when known. Every URI names revision rev's
// playlists.
func buildMaster(l media.Ladder, rev string, rates map[string]hls.Rate, encoded map[string]string) (*hls.MasterPlaylist, []catalog.Rendition) {
	hl := hls.Ladder{Playlist: media.PlaylistName(rev)}
	if a := l.Audio; a != nil {
		r := rates[a.Name]
		hl.Audio = &hls.Rendition{Name: a.Name, Codecs: a.Codecs(), Channels: a.Channels, Bandwidth: r.Peak, AverageBandwidth: r.Average}
	}
	for _, v := range l.Video {
		codecs := v.Codecs()
		if c := encoded[v.Name]; c != "" {
			codecs = c
		}
		r := rates[v.Name]
		hl.Video = append(hl.Video, hls.Rendition{Name: v.Name, Width: v.Width, Height: v.Height, FrameRate: v.FPS,
			Codecs: codecs, Bandwidth: r.Peak, AverageBandwidth: r.Average})
	}
	return hl.Master(), catalog.Renditions(hl)
}

// redact replaces secret (a presigned URL) in err's text with name,
// keeping err's chain for errors.Is and errors.As.
func redact(err error, secret, name string) error {
	if err == nil || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &redacted{err: err, text: strings.ReplaceAll(err.Error(), secret, name)}
}

type redacted struct {
	err  error
	text string
}

func (r *redacted) Error() string { return r.text }
func (r *redacted) Unwrap() error { return r.err }
