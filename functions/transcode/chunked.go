package transcode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/chunk"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
)

// Defaults of the chunked path.
const (
	DefaultChunkSeconds  = 32 // 8 segments of 4 s
	DefaultChunkAttempts = 3
	DefaultMinChunks     = 2

	// heartbeatEvery is how often a chunked transcode refreshes
	// status.json; one not refreshed for staleAfter is taken for crashed,
	// and a re-delivered event starts it again.
	heartbeatEvery = 10 * time.Second
	staleAfter     = 45 * time.Second
)

// chunked says whether a source is encoded by fanning out to the encode
// function rather than by one ffmpeg here.
func (h *Handler) chunked(ms *media.Source, l media.Ladder) bool {
	return h.Invoker != nil && h.EncodeFunction != "" && len(l.Video) > 0 &&
		chunk.Worth(ms.Duration, h.chunkSeconds(l), h.MinChunks)
}

func (h *Handler) chunkSeconds(l media.Ladder) float64 {
	want := h.ChunkSeconds
	if want <= 0 {
		want = DefaultChunkSeconds
	}
	return chunk.Seconds(want, segLen(l), h.EncodeSpeed, h.EncodeTimeout)
}

func segLen(l media.Ladder) float64 {
	if l.SegmentSeconds > 0 {
		return l.SegmentSeconds
	}
	return media.DefaultSegmentSeconds
}

// fanout is one chunked transcode in progress.
type fanout struct {
	h      *Handler
	id     string
	rev    string // the upload's revision, in every file name
	ladder media.Ladder
	st     *catalog.Status

	mu        sync.Mutex
	video     []*chunk.Response // by chunk index; nil until done
	audio     *chunk.Response
	published int  // video chunks listed in the EVENT playlists so far
	master    bool // the progressive master is written
	done      int
}

// transcodeChunked plans chunks, encodes them (and the audio, once) through
// the encode function with bounded parallelism and retries, publishes EVENT
// playlists as the leading chunks arrive, then the VOD ladder.
func (h *Handler) transcodeChunked(ctx context.Context, id string, src catalog.Source, st *catalog.Status,
	ms *media.Source, l media.Ladder, work string) (*result, error) {
	first := h.FirstChunkSeconds
	if first <= 0 {
		first = segLen(l)
	}
	chunks := chunk.Plan(ms.Duration, segLen(l), h.chunkSeconds(l), first)
	base := chunk.Request{
		ID: id, Bucket: src.Bucket, Key: src.Key, MediaBucket: h.MediaBucket, Prefix: catalog.Prefix(id), Revision: src.Revision(),
		Source: *ms, Ladder: l, Preset: h.Preset, Threads: h.Threads,
	}
	var reqs []chunk.Request
	if l.Audio != nil {
		r := base
		r.Kind = chunk.KindAudio
		// First, so the audio rendition is there when the first video
		// chunks are: the master needs it before playback can start.
		reqs = append(reqs, r)
	}
	for _, c := range chunks {
		r := base
		r.Kind, r.Chunk = chunk.KindVideo, c
		reqs = append(reqs, r)
	}
	f := &fanout{h: h, id: id, rev: base.Revision, ladder: l, st: st, video: make([]*chunk.Response, len(chunks))}
	h.logger().Info("chunked encode", "id", id, "chunks", len(chunks), "jobs", len(reqs), "parallelism", h.parallelism())

	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, h.parallelism())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f.heartbeat(ctx)
	}()
	var jobs sync.WaitGroup
	// Jobs start in order (audio, then chunk 0, 1...) so the leading
	// chunks, which playback needs first, are never queued behind later ones.
dispatch:
	for _, r := range reqs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break dispatch
		}
		jobs.Add(1)
		go func() {
			defer jobs.Done()
			defer func() { <-sem }()
			res, err := h.encodeWithRetry(ctx, r)
			if err != nil {
				cancel(err) // the first failure stops the rest
				return
			}
			if err := f.add(ctx, r, res); err != nil {
				cancel(err)
			}
		}()
	}
	jobs.Wait()
	err := context.Cause(ctx)
	cancel(errJobsDone) // stops the heartbeat
	wg.Wait()
	if err != nil {
		return nil, err
	}
	return f.finish(parent, ms)
}

// errJobsDone ends the fan-out's context once every job has returned.
var errJobsDone = errors.New("all chunks finished")

// heartbeat refreshes status.json until ctx ends, so that a re-delivered
// event sees the work is alive (see staleAfter).
func (f *fanout) heartbeat(ctx context.Context) {
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f.mu.Lock()
		if err := catalog.Write(ctx, f.h.Store, f.h.MediaBucket, f.st); err != nil && ctx.Err() == nil {
			f.h.logger().Warn("write heartbeat", "id", f.id, "err", err)
		}
		f.mu.Unlock()
	}
}

func (h *Handler) parallelism() int {
	if h.Parallelism > 0 {
		return h.Parallelism
	}
	return 10
}

// encodeWithRetry invokes the encode function until it succeeds or the
// attempts run out. RequestResponse invokes are not retried by Lambda.
func (h *Handler) encodeWithRetry(ctx context.Context, r chunk.Request) (*chunk.Response, error) {
	attempts := h.ChunkAttempts
	if attempts <= 0 {
		attempts = DefaultChunkAttempts
	}
	what := r.Kind
	if r.Kind == chunk.KindVideo {
		what = fmt.Sprintf("chunk %d (from %.0f s)", r.Chunk.Index, r.Chunk.Start)
	}
	var last error
	for a := 1; a <= attempts; a++ {
		if a > 1 {
			select {
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			case <-time.After(time.Duration(a-1) * h.retryWait()):
			}
		}
		r.Attempt = a
		payload, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		out, err := h.Invoker.Invoke(ctx, h.EncodeFunction, payload)
		if err == nil {
			var res chunk.Response
			if err = json.Unmarshal(out, &res); err == nil {
				return &res, nil
			}
			err = fmt.Errorf("decode encode response: %w", err)
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		// The encoder refused the file itself (a picture that grows
		// mid-stream, a stream it cannot decode): the refusal crosses the
		// invoke as text. Another attempt would fail the same way, and the
		// uploader should read why rather than "failed 3 times".
		if reason, ok := refusedInput(err); ok {
			return nil, refuse("this file cannot be made into a video stream: "+reason, err)
		}
		last = err
		h.logger().Warn("encode failed", "id", r.ID, "what", what, "attempt", a, "err", err)
	}
	return nil, refuse(fmt.Sprintf("the video could not be encoded: %s failed %d times", what, attempts), last)
}

func (h *Handler) retryWait() time.Duration {
	if h.RetryWait > 0 {
		return h.RetryWait
	}
	return time.Second
}

// add records a finished job, publishes progress and, when the leading
// chunks are complete, the EVENT playlists that let playback start.
func (f *fanout) add(ctx context.Context, r chunk.Request, res *chunk.Response) error {
	if err := f.check(r, res); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Kind == chunk.KindAudio {
		f.audio = res
	} else {
		f.video[r.Chunk.Index] = res
	}
	f.done++
	total := len(f.video)
	if f.ladder.Audio != nil {
		total++
	}
	setProgress(f.st, math.Min(0.99, math.Round(float64(f.done)/float64(total)*100)/100))
	if err := catalog.Write(ctx, f.h.Store, f.h.MediaBucket, f.st); err != nil {
		f.h.logger().Warn("write progress", "id", f.id, "err", err)
	}
	if f.h.NoProgressive || f.st.Replacement != nil {
		// A replacement publishes nothing early: the ready video it
		// replaces keeps the master until the new one is complete.
		return nil
	}
	return f.publishLeading(ctx)
}

// check refuses a response that does not hold what was asked: every rung,
// segments numbered from the chunk's first one.
func (f *fanout) check(r chunk.Request, res *chunk.Response) error {
	names := []string{}
	if r.Kind == chunk.KindAudio {
		names = append(names, f.ladder.Audio.Name)
	} else {
		for _, v := range f.ladder.Video {
			names = append(names, v.Name)
		}
	}
	for _, n := range names {
		segs := res.Renditions[n]
		if len(segs) == 0 {
			return fmt.Errorf("encode %s %s: no %s segments returned", f.id, r.Kind, n)
		}
		if r.Kind == chunk.KindVideo {
			if want := media.SegmentName(r.Revision, r.Chunk.FirstSegment); segs[0].URI != want {
				return fmt.Errorf("encode %s chunk %d: %s starts at %s, want %s", f.id, r.Chunk.Index, n, segs[0].URI, want)
			}
		}
	}
	return nil
}

// publishLeading rewrites the EVENT playlists when more leading chunks are
// complete, and writes the master once every playlist it names exists.
// Called with f.mu held.
func (f *fanout) publishLeading(ctx context.Context) error {
	n := 0
	for n < len(f.video) && f.video[n] != nil {
		n++
	}
	if n == f.published || n == len(f.video) || (f.ladder.Audio != nil && f.audio == nil) {
		// Nothing new, or the final VOD playlists come next anyway.
		return nil
	}
	live := store.Object{ContentType: store.ContentType(".m3u8"), CacheControl: store.CacheNoCache}
	lists := f.playlists(n, hls.TypeEvent)
	// Audio and the lowest rungs first: players start low.
	for i := len(lists) - 1; i >= 0; i-- {
		out, err := lists[i].p.Encode()
		if err != nil {
			return fmt.Errorf("%s playlist: %w", lists[i].name, err)
		}
		if err := f.h.Store.PutBytes(ctx, f.h.MediaBucket, catalog.Prefix(f.id)+lists[i].name+"/"+media.PlaylistName(f.rev), out, live); err != nil {
			return err
		}
	}
	f.published = n
	if f.master {
		return nil
	}
	m, _ := buildMaster(f.ladder, f.rev, f.rates(lists), nil)
	out, err := m.Encode()
	if err != nil {
		return fmt.Errorf("master playlist: %w", err)
	}
	if err := f.h.Store.PutBytes(ctx, f.h.MediaBucket, catalog.MasterKey(f.id), out, live); err != nil {
		return err
	}
	f.master = true
	return nil
}

type namedPlaylist struct {
	name  string
	p     *hls.MediaPlaylist
	sizes map[string]int64
}

// playlists lists the first n video chunks of every rung (highest first)
// and the audio, as playlists of type typ.
func (f *fanout) playlists(n int, typ string) []namedPlaylist {
	var out []namedPlaylist
	add := func(name string, segs []chunk.Segment) {
		p := &hls.MediaPlaylist{Version: 3, Type: typ, IndependentSegments: true, EndList: typ == hls.TypeVOD,
			TargetDuration: int(math.Round(segLen(f.ladder)))}
		sizes := map[string]int64{}
		for _, s := range segs {
			p.Segments = append(p.Segments, hls.Segment{URI: s.URI, Duration: time.Duration(s.Duration * float64(time.Second))})
			sizes[s.URI] = s.Size
		}
		out = append(out, namedPlaylist{name: name, p: p, sizes: sizes})
	}
	for _, r := range f.ladder.Video {
		var segs []chunk.Segment
		for _, c := range f.video[:n] {
			segs = append(segs, c.Renditions[r.Name]...)
		}
		add(r.Name, segs)
	}
	if a := f.ladder.Audio; a != nil && f.audio != nil {
		add(a.Name, f.audio.Renditions[a.Name])
	}
	return out
}

func (f *fanout) rates(lists []namedPlaylist) map[string]hls.Rate {
	rates := map[string]hls.Rate{}
	for _, l := range lists {
		rates[l.name] = hls.Measure(l.p, l.sizes)
	}
	return rates
}

// finish writes the VOD playlists once every chunk is in, and builds the
// master (publishMaster writes it).
func (f *fanout) finish(ctx context.Context, ms *media.Source) (*result, error) {
	prefix := catalog.Prefix(f.id)
	res := &result{keys: map[string]bool{}, stable: map[string][]byte{}}
	lists := f.playlists(len(f.video), hls.TypeVOD)
	var longest time.Duration
	for _, l := range lists {
		for uri := range l.sizes {
			res.keys[prefix+l.name+"/"+uri] = true
		}
		longest = max(longest, l.p.Duration())
	}
	if got, want := longest.Seconds(), ms.Duration; got < want-max(1, min(want/20, segLen(f.ladder))) {
		return nil, refuse(fmt.Sprintf("the file is damaged or incomplete: only %.1f s of its %.1f s could be decoded", got, want), nil)
	}
	for _, l := range lists {
		out, err := l.p.Encode()
		if err != nil {
			return nil, fmt.Errorf("%s playlist: %w", l.name, err)
		}
		if err := f.h.putPlaylists(ctx, prefix+l.name+"/", f.rev, out, res); err != nil {
			return nil, err
		}
	}
	master, renditions := buildMaster(f.ladder, f.rev, f.rates(lists), f.codecs(ctx))
	out, err := master.Encode()
	if err != nil {
		return nil, fmt.Errorf("master playlist: %w", err)
	}
	res.master = out
	res.duration = math.Round(longest.Seconds()*1000) / 1000
	res.renditions = renditions
	return res, nil
}

// codecs reads each rung's first segment back for the SPS the encoder
// wrote. Best effort: without it the master names the ladder's codecs.
func (f *fanout) codecs(ctx context.Context) map[string]string {
	out := map[string]string{}
	for _, r := range f.ladder.Video {
		segs := f.video[0].Renditions[r.Name]
		data, err := f.h.Store.GetBytes(ctx, f.h.MediaBucket, catalog.Prefix(f.id)+r.Name+"/"+segs[0].URI)
		if err != nil {
			continue
		}
		if c, err := media.SegmentCodecs(bytes.NewReader(data)); err == nil {
			out[r.Name] = c
		}
	}
	return out
}
