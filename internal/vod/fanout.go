package vod

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/chunk"
	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
)

// chunked says whether a source is encoded by fanning out chunks to the
// ChunkEncoder rather than by one ffmpeg here.
func (p *Pipeline) chunked(ms *media.Source, l media.Ladder) bool {
	return p.chunks != nil && len(l.Video) > 0 && chunk.Worth(ms.Duration, p.chunkSeconds(l), p.cfg.MinChunks)
}

func (p *Pipeline) chunkSeconds(l media.Ladder) float64 {
	return chunk.Seconds(p.cfg.ChunkSeconds, l.SegmentSeconds, p.cfg.EncodeSpeed, p.cfg.EncodeTimeout)
}

// fanout is one chunked encode in progress, owned by the goroutine running
// fanOut: the chunk encodes send it their results.
type fanout struct {
	*job
	ladder    media.Ladder
	video     []*chunk.Response // by chunk index; nil until done
	audio     []*chunk.Response // likewise, when the ladder has audio
	published int               // chunks listed in the EVENT playlists so far
	master    bool              // the progressive master is written
	t         *tracker          // told when the master is first written
	// The storyboard, planned for the whole video, and the thumbnails
	// the chunks returned, by their number on its grid.
	sbPlan   *encoder.Storyboard
	thumbs   map[int][]byte
	duration float64
	// CMAF: each rendition's init segment, the first one returned (every
	// chunk's must be the same bytes), and whether it is uploaded.
	cmaf     bool
	inits    map[string]initSeg
	uploaded map[string]bool
}

// fanOut plans chunks and has each encoded, video and audio apart, by the
// ChunkEncoder, with bounded parallelism and retries; it publishes EVENT
// playlists as the leading chunks arrive, and returns the renditions whole.
func (j *job) fanOut(ctx context.Context, ms *media.Source, l media.Ladder, t *tracker) ([]rendition, map[string]string, error) {
	j.timeline = chunk.TimeBase
	chunks := chunk.Plan(ms.Duration, l.SegmentSeconds, j.chunkSeconds(l), cmp.Or(j.cfg.FirstChunkSeconds, l.SegmentSeconds))
	base := chunk.Request{
		ID: j.id, Bucket: j.src.Bucket, Key: j.src.Key, MediaBucket: j.cfg.MediaBucket, Prefix: catalog.Prefix(j.id),
		Revision: j.src.Revision(), Source: *ms, Ladder: l, Preset: j.cfg.Preset, Threads: j.cfg.Threads,
		CMAF: j.cfg.segmentsCMAF(l),
	}
	var reqs []chunk.Request
	// The storyboard's interval is the one the single-process encode
	// would use: decided here, once, for every chunk.
	sb := encoder.PlanStoryboard(ms.Duration, l)
	for _, c := range chunks {
		// Audio is chunked like the video (chunk.AudioJob), each chunk's
		// first: a chunk is playable once both are in, and an audio chunk
		// takes a fraction of its video's time. A whole-track encode
		// would hold the master back for as long as the track takes.
		if l.Audio != nil {
			r := base
			r.Kind, r.Chunk = chunk.KindAudio, c
			reqs = append(reqs, r)
		}
		r := base
		r.Kind, r.Chunk, r.Storyboard = chunk.KindVideo, c, sb
		reqs = append(reqs, r)
	}
	f := &fanout{job: j, ladder: l, video: make([]*chunk.Response, len(chunks)), sbPlan: sb, thumbs: map[int][]byte{}, duration: ms.Duration, t: t,
		cmaf: base.CMAF, inits: map[string]initSeg{}, uploaded: map[string]bool{}}
	if l.Audio != nil {
		f.audio = make([]*chunk.Response, len(chunks))
	}
	j.log.Info("chunked encode", "chunks", len(chunks), "jobs", len(reqs), "parallelism", j.cfg.Parallelism)

	type finished struct {
		r   chunk.Request
		res *chunk.Response
		err error
	}
	results := make(chan finished)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var failed error
	// Jobs start in order (chunk 0's audio and video, then chunk 1's...)
	// so the leading chunks, which playback needs first, are never queued
	// behind later ones. The first failure stops the rest.
	for next, running, done := 0, 0, 0; running > 0 || (failed == nil && next < len(reqs)); {
		for ; failed == nil && running < j.cfg.Parallelism && next < len(reqs); next, running = next+1, running+1 {
			r := reqs[next]
			go func() {
				res, err := j.encodeWithRetry(ctx, r)
				results <- finished{r, res, err}
			}()
		}
		d := <-results
		running--
		if failed != nil {
			continue
		}
		if d.err == nil {
			d.err = f.add(ctx, d.r, d.res)
		}
		if d.err != nil {
			failed = d.err
			cancel()
			continue
		}
		done++
		t.report(math.Min(0.99, math.Round(float64(done)/float64(len(reqs))*100)/100))
	}
	if failed != nil {
		return nil, nil, failed
	}
	// A nicety, as in encodeHere: a video without one is still whole.
	var err error
	if j.board, err = f.layOutThumbnails(ctx); err != nil {
		j.log.Warn("storyboard sheets", "err", err)
		j.board = nil
	}
	lists := f.playlists(len(f.video), hls.TypeVOD)
	if err := f.uploadInits(ctx, lists); err != nil {
		return nil, nil, err
	}
	return lists, f.video[0].Codecs, nil
}

// encodeWithRetry has a chunk encoded, again until it succeeds or the
// attempts run out (RequestResponse invokes are not retried by Lambda).
func (j *job) encodeWithRetry(ctx context.Context, r chunk.Request) (*chunk.Response, error) {
	what := fmt.Sprintf("chunk %d (from %.0f s)", r.Chunk.Index, r.Chunk.Start)
	if r.Kind == chunk.KindAudio {
		what = "audio " + what
	}
	var last error
	for a := 1; a <= j.cfg.ChunkAttempts; a++ {
		if a > 1 {
			select {
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			case <-time.After(time.Duration(a-1) * j.cfg.RetryWait):
			}
		}
		r.Attempt = a
		invoked := time.Now()
		res, err := j.chunks.EncodeChunk(ctx, r)
		j.use.encoded(time.Since(invoked).Seconds())
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		// The encoder refused the file itself (a picture that grows
		// mid-stream, a stream it cannot decode): another attempt would
		// fail the same way, and the uploader should read why rather than
		// "failed 3 times".
		if _, ok := refusedInput(err); ok {
			return nil, err
		}
		last = err
		j.log.Warn("encode failed", "what", what, "attempt", a, "err", err)
	}
	return nil, refuse(fmt.Sprintf("the video could not be encoded: %s failed %d times", what, j.cfg.ChunkAttempts), last)
}

// add records a finished job and, when the leading chunks are complete,
// publishes the EVENT playlists that let playback start.
func (f *fanout) add(ctx context.Context, r chunk.Request, res *chunk.Response) error {
	if err := f.check(r, res); err != nil {
		return err
	}
	if r.Kind == chunk.KindAudio {
		f.audio[r.Chunk.Index] = res
	} else {
		if err := f.acceptThumbnails(r, res); err != nil {
			// The thumbnails are a nicety; the segments are checked.
			f.log.Warn("storyboard thumbnails", "err", err)
		}
		res.Thumbnails = nil // kept in f.thumbs
		f.video[r.Chunk.Index] = res
	}
	if f.cfg.NoProgressive || f.replacing {
		// A replacement publishes nothing early: the ready video it
		// replaces keeps the master until the new one is complete.
		return nil
	}
	return f.publishLeading(ctx)
}

// check refuses a response that does not hold what was asked: every rung
// or track, segments numbered from the chunk's first one.
func (f *fanout) check(r chunk.Request, res *chunk.Response) error {
	names := []string{}
	if r.Kind == chunk.KindAudio {
		names = append(names, f.ladder.Audio.Name)
		names = append(names, moreAudioNames(f.ladder)...)
	} else {
		for _, v := range append(slices.Clone(f.ladder.Video), f.ladder.Extra...) {
			names = append(names, v.Name)
		}
	}
	for _, n := range names {
		segs := res.Renditions[n]
		if len(segs) == 0 {
			return fmt.Errorf("encode %s %s: no %s segments returned", f.id, r.Kind, n)
		}
		// Numbered on from the chunk's first segment, and, but for the
		// last chunk, no further than its span: a segment more would take
		// the name of the next chunk's first and be overwritten by it.
		for i, s := range segs {
			if want := segmentName(f.cmaf, r.Revision, r.Chunk.FirstSegment+i); s.URI != want {
				return fmt.Errorf("encode %s %s chunk %d: %s's segment %d is %s, want %s", f.id, r.Kind, r.Chunk.Index, n, i, s.URI, want)
			}
		}
		if seg := f.ladder.SegmentSeconds; r.Chunk.Duration > 0 && seg > 0 && len(segs) > int(math.Ceil(r.Chunk.Duration/seg-1e-6)) {
			return fmt.Errorf("encode %s %s chunk %d: %d %s segments for %g s", f.id, r.Kind, r.Chunk.Index, len(segs), n, r.Chunk.Duration)
		}
		if err := f.checkInit(r, n, res.Inits[n]); err != nil {
			return err
		}
	}
	return nil
}

// publishLeading rewrites the EVENT playlists when more leading chunks are
// complete (video and audio), and writes the master once every playlist it
// names exists.
func (f *fanout) publishLeading(ctx context.Context) error {
	n := 0
	for n < len(f.video) && f.video[n] != nil && (f.audio == nil || f.audio[n] != nil) {
		n++
	}
	if n == f.published || n == len(f.video) {
		// Nothing new, or the final VOD playlists come next anyway.
		return nil
	}
	live := store.Object{ContentType: store.ContentType(".m3u8"), CacheControl: store.CacheNoCache}
	lists := f.playlists(n, hls.TypeEvent)
	if err := f.uploadInits(ctx, lists); err != nil {
		return err
	}
	// Audio and the lowest rungs first: players start low.
	for i := len(lists) - 1; i >= 0; i-- {
		out, err := lists[i].p.Encode()
		if err != nil {
			return fmt.Errorf("%s playlist: %w", lists[i].name, err)
		}
		if err := f.store.PutBytes(ctx, f.cfg.MediaBucket, catalog.Prefix(f.id)+lists[i].name+"/"+media.PlaylistName(f.src.Revision()), out, live); err != nil {
			return err
		}
		f.use.wrote(1, int64(len(out)))
	}
	f.published = n
	if f.master {
		return nil
	}
	m, _ := buildMaster(f.ladder, f.src.Revision(), measure(lists), nil)
	out, err := m.Encode()
	if err != nil {
		return fmt.Errorf("master playlist: %w", err)
	}
	if err := f.store.PutBytes(ctx, f.cfg.MediaBucket, catalog.MasterKey(f.id), out, live); err != nil {
		return err
	}
	f.use.wrote(1, int64(len(out)))
	f.use.playable()
	f.t.playable(catalog.MasterKey(f.id))
	f.master = true
	return nil
}

// playlists lists the first n video chunks of every rung (highest first)
// and the audio, as playlists of type typ.
func (f *fanout) playlists(n int, typ string) []rendition {
	var out []rendition
	add := func(name string, segs []chunk.Segment) {
		r := rendition{name: name, sizes: map[string]int64{}, p: &hls.MediaPlaylist{Version: 3, Type: typ,
			IndependentSegments: true, EndList: typ == hls.TypeVOD, TargetDuration: int(math.Round(f.ladder.SegmentSeconds))}}
		for _, s := range segs {
			r.p.Segments = append(r.p.Segments, hls.Segment{URI: s.URI, Duration: time.Duration(s.Duration * float64(time.Second))})
			r.sizes[s.URI] = s.Size
		}
		if in, ok := f.inits[name]; ok && len(r.p.Segments) > 0 {
			// EXT-X-MAP in a playlist without I-frames only: version 6
			// (RFC 8216 section 7); ffmpeg writes 7.
			r.p.Version = 7
			uri := media.InitName(f.src.Revision())
			r.p.Segments[0].Map = &hls.Map{URI: uri}
			r.sizes[uri], r.init = int64(len(in.data)), in.data
		}
		out = append(out, r)
	}
	for _, r := range append(slices.Clone(f.ladder.Video), f.ladder.Extra...) {
		var segs []chunk.Segment
		for _, c := range f.video[:n] {
			segs = append(segs, c.Renditions[r.Name]...)
		}
		add(r.Name, segs)
	}
	if a := f.ladder.Audio; a != nil {
		for _, name := range append([]string{a.Name}, moreAudioNames(f.ladder)...) {
			var segs []chunk.Segment
			for _, c := range f.audio[:n] {
				segs = append(segs, c.Renditions[name]...)
			}
			add(name, segs)
		}
	}
	return out
}

// moreAudioNames are the names of l's further audio tracks.
func moreAudioNames(l media.Ladder) []string {
	var names []string
	for _, a := range l.MoreAudio {
		names = append(names, a.Name)
	}
	return names
}

// initSeg is a CMAF rendition's init segment and the chunk it came from.
type initSeg struct {
	data  []byte
	chunk string // "video chunk 3", "audio chunk 0"
}

// checkInit keeps the init segment a response returned for rendition
// name, or refuses it: a CMAF encode must return one, and every chunk of
// a rung must return the same bytes, since the joined playlist names one
// init segment for all of its segments. A chunk whose init differs (an
// encoder built otherwise, other settings) is never joined: the job fails
// rather than publish segments that decode against another's parameters.
func (f *fanout) checkInit(r chunk.Request, name string, init []byte) error {
	what := fmt.Sprintf("%s chunk %d", r.Kind, r.Chunk.Index)
	switch {
	case !f.cmaf && init != nil:
		return fmt.Errorf("encode %s %s: an init segment for %s in an MPEG-TS encode", f.id, what, name)
	case !f.cmaf:
		return nil
	case len(init) == 0:
		return fmt.Errorf("encode %s %s: no %s init segment returned", f.id, what, name)
	case len(init) > maxInitBytes:
		return fmt.Errorf("encode %s %s: %s init segment of %d bytes, more than %d", f.id, what, name, len(init), maxInitBytes)
	}
	first, ok := f.inits[name]
	if !ok {
		f.inits[name] = initSeg{data: init, chunk: what}
		return nil
	}
	if !bytes.Equal(first.data, init) {
		return refuse("the video could not be encoded: its chunks' CMAF init segments differ, so they cannot be joined",
			fmt.Errorf("%s's %s init segment (%d bytes) differs from %s's (%d bytes)", what, name, len(init), first.chunk, len(first.data)))
	}
	return nil
}

// uploadInits uploads the init segment of every CMAF rendition of lists
// not yet uploaded: before the first playlist that names it.
func (f *fanout) uploadInits(ctx context.Context, lists []rendition) error {
	for _, r := range lists {
		if r.init == nil || f.uploaded[r.name] {
			continue
		}
		if err := uploadInit(ctx, f.store, f.cfg.MediaBucket, catalog.Prefix(f.id), f.src.Revision(), r.name, r.init); err != nil {
			return err
		}
		f.uploaded[r.name] = true // counted with the segments, by publish
	}
	return nil
}
