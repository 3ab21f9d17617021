// Package publish puts a live stream on S3: it uploads each finished
// segment, then rewrites the rendition's sliding-window playlist so no
// playlist ever names a segment that is not there yet, and at the end
// turns the whole event into an on-demand recording by writing VOD
// playlists and a status.json next to the segments (nothing re-encoded,
// nothing copied).
//
// Layout in the media bucket, for stream NAME recorded as ID (NAME-START):
//
//	vod/ID/{rung}/seg_NNNNN.ts      segments, immutable, written once
//	live/NAME/master.m3u8           live master (short cache)
//	live/NAME/{rung}/index.m3u8     live window, URIs ../../../vod/ID/{rung}/...
//	vod/ID/{rung}/index.m3u8        at the end: every segment, ENDLIST
//	vod/ID/master.m3u8, status.json at the end (status "processing" before)
package publish

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
)

// playlist is the name of every rendition's media playlist, live and
// recorded.
var playlist = media.PlaylistName("")

// Defaults for Config.
const (
	DefaultDVRWindow  = 5 * time.Minute
	DefaultMaxPending = 30
	DefaultAttempts   = 6
)

// Config configures a Publisher.
type Config struct {
	Store       *store.Store
	Bucket      string
	Stream      string // public name: live/{Stream}/
	RecordingID string // vod/{RecordingID}/
	// Ladder is what the master lists; its Renditions are the rungs
	// Segment.Rung counts, each with a playlist named index.m3u8.
	Ladder hls.Ladder
	// SegmentSeconds is the target segment length; live playlists are
	// cached for about that long.
	SegmentSeconds float64
	DVRWindow      time.Duration
	// MaxPending bounds the finished segments per rung waiting for S3; past
	// it the oldest is dropped (a gap marked as a discontinuity), so a slow
	// S3 costs a gap rather than unbounded disk or a stalled ingest.
	MaxPending int
	Attempts   int           // upload attempts per object
	Backoff    time.Duration // first retry delay, doubled up to 5 s; default 200 ms
	Log        *slog.Logger
	Started    time.Time // start of the event, for status.json
}

// Segment is a finished local segment to publish.
type Segment struct {
	Rung     int
	Path     string
	Duration time.Duration
	Ready    time.Time // when the encoder finished it
	// PDT is the wall-clock time its first frame was received (a run's
	// Clock). Zero: the previous segment's plus its duration, or for a
	// run's first, Ready less Duration.
	PDT time.Time
	// Init is the initialization section of this segment and those after
	// it (fragmented MP4, set on the first of each encoder run); it is
	// uploaded before the segment, which names it in an EXT-X-MAP. A
	// segment file named *.m4s is published as such.
	Init []byte
}

type item struct {
	Segment
	disc bool
	pdt  time.Time
	name string // its file name in the bucket, given when it was added
}

type rung struct {
	mu       sync.Mutex
	pending  []item
	wake     chan struct{}
	seq      int           // next segment number, given at Add
	inits    int           // initialization sections uploaded
	disc     bool          // next added segment starts a new timeline
	nextPDT  time.Time     // expected PDT of the next segment
	all      []hls.Segment // every published segment, for the recording
	live     hls.MediaPlaylist
	liveUp   bool // the live playlist exists in S3
	finished bool
}

// Publisher publishes one stream's segments and playlists.
type Publisher struct {
	cfg    Config
	rends  []hls.Rendition // the rungs
	rungs  []*rung
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool

	masterOnce sync.Once
	masterErr  error

	stats   statsCounters
	lagMu   sync.Mutex
	lags    []time.Duration
	lagNext int
}

type statsCounters struct {
	segments, dropped, overflows, failures atomic.Int64
	lastLag                                atomic.Int64
}

// Stats are a publisher's counters.
type Stats struct {
	SegmentsPublished int64   `json:"segmentsPublished"`
	SegmentsDropped   int64   `json:"segmentsDropped"`
	Overflows         int64   `json:"overflows"`
	UploadFailures    int64   `json:"uploadFailures"`
	Pending           int     `json:"pending"`
	LastLagMs         float64 `json:"uploadLagMs"`
	LagP95Ms          float64 `json:"uploadLagP95Ms"`
}

const maxLags = 4096

// New validates cfg and returns a Publisher; Start begins publishing.
func New(cfg Config) (*Publisher, error) {
	switch {
	case cfg.Store == nil || cfg.Bucket == "":
		return nil, errors.New("publish: store and bucket are required")
	case !catalog.ValidID(cfg.Stream) || !catalog.ValidID(cfg.RecordingID):
		return nil, fmt.Errorf("publish: invalid stream %q or recording id %q", cfg.Stream, cfg.RecordingID)
	case len(cfg.Ladder.Renditions()) == 0:
		return nil, errors.New("publish: no renditions")
	}
	if cfg.SegmentSeconds <= 0 {
		cfg.SegmentSeconds = 2
	}
	if cfg.DVRWindow <= 0 {
		cfg.DVRWindow = DefaultDVRWindow
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 200 * time.Millisecond
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Started.IsZero() {
		cfg.Started = time.Now()
	}
	cfg.Ladder.Playlist = playlist
	p := &Publisher{cfg: cfg, rends: cfg.Ladder.Renditions()}
	for range p.rends {
		p.rungs = append(p.rungs, &rung{wake: make(chan struct{}, 1)})
	}
	return p, nil
}

// Start writes the recording's status.json (processing) and starts one
// upload worker per rung; they stop at Finish or when ctx ends.
func (p *Publisher) Start(ctx context.Context) error {
	p.ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		select {
		case <-ctx.Done():
			p.cancel()
		case <-p.ctx.Done():
		}
	}()
	st := p.status(catalog.StateProcessing, 0)
	if err := p.retry(p.ctx, "status", func(ctx context.Context) error {
		return catalog.Write(ctx, p.cfg.Store, p.cfg.Bucket, st)
	}); err != nil {
		p.cancel()
		return err
	}
	for i := range p.rungs {
		p.wg.Go(func() { p.work(i) })
	}
	return nil
}

// Discontinuity marks the next segment of every rung as the start of a
// new timeline (a new encoder run after a reconnect).
func (p *Publisher) Discontinuity() {
	for _, r := range p.rungs {
		r.mu.Lock()
		r.disc = true
		r.mu.Unlock()
	}
}

// Add queues a finished segment and returns its URI relative to the
// live playlist, which it has once uploaded ("" if refused). It never
// blocks; see Config.MaxPending.
func (p *Publisher) Add(s Segment) string {
	if s.Rung < 0 || s.Rung >= len(p.rungs) || p.closed.Load() {
		_ = os.Remove(s.Path)
		return ""
	}
	r := p.rungs[s.Rung]
	r.mu.Lock()
	name := media.SegmentName("", r.seq)
	if strings.HasSuffix(s.Path, ".m4s") {
		name = strings.TrimSuffix(name, ".ts") + ".m4s"
	}
	r.seq++
	it := item{Segment: s, disc: r.disc, name: name}
	r.disc = false
	switch {
	case !s.PDT.IsZero():
		it.pdt = s.PDT
	case it.disc || r.nextPDT.IsZero():
		it.pdt = s.Ready.Add(-s.Duration)
	default:
		it.pdt = r.nextPDT
	}
	r.nextPDT = it.pdt.Add(s.Duration)
	r.pending = append(r.pending, it)
	var dropped *item
	if len(r.pending) > p.cfg.MaxPending {
		d := r.pending[0]
		dropped = &d
		r.pending = r.pending[1:]
		r.pending[0].disc = true
	}
	r.mu.Unlock()
	if dropped != nil && dropped.Init != nil && len(r.pending) > 0 {
		r.pending[0].Init = dropped.Init // the segments after it need it
	}
	if dropped != nil {
		_ = os.Remove(dropped.Path)
		p.stats.overflows.Add(1)
		p.stats.dropped.Add(1)
		p.cfg.Log.Warn("live: upload queue full, dropping oldest segment", "stream", p.cfg.Stream,
			"rendition", p.rends[s.Rung].Name, "pending", p.cfg.MaxPending)
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return catalog.FromLiveRendition(p.rungDir(s.Rung) + name)
}

func (p *Publisher) work(i int) {
	r := p.rungs[i]
	for {
		r.mu.Lock()
		if len(r.pending) == 0 {
			done := r.finished
			r.mu.Unlock()
			if done {
				return
			}
			select {
			case <-r.wake:
				continue
			case <-p.ctx.Done():
				return
			}
		}
		it := r.pending[0]
		r.pending = r.pending[1:]
		r.mu.Unlock()
		p.publish(i, it)
	}
}

func (p *Publisher) rungDir(i int) string {
	return catalog.RenditionPrefix(p.cfg.RecordingID, p.rends[i].Name)
}

func (p *Publisher) liveKey(i int) string {
	return catalog.LiveRenditionPrefix(p.cfg.Stream, p.rends[i].Name) + playlist
}

// liveCache is short: about one segment, so players polling the CDN see
// each new segment without the origin taking every request.
func (p *Publisher) liveCache() string {
	return fmt.Sprintf("public, max-age=%d", max(1, int(math.Round(p.cfg.SegmentSeconds))))
}

// publish uploads one segment, then the playlist that names it.
func (p *Publisher) publish(i int, it item) {
	r := p.rungs[i]
	defer os.Remove(it.Path)
	name := it.name
	key := p.rungDir(i) + name
	var initMap *hls.Map
	if it.Init != nil {
		initName := fmt.Sprintf("init_%d.mp4", r.inits)
		initKey := p.rungDir(i) + initName
		if err := p.retry(p.ctx, initKey, func(ctx context.Context) error {
			return p.cfg.Store.PutBytes(ctx, p.cfg.Bucket, initKey, it.Init,
				store.Object{ContentType: store.ContentType(initName), CacheControl: store.CacheImmutable})
		}); err != nil {
			p.stats.failures.Add(1)
			p.cfg.Log.Warn("live: initialization section upload failed", "stream", p.cfg.Stream, "key", initKey, "err", err)
		}
		r.inits++
		initMap = &hls.Map{URI: initName}
	}
	err := p.retry(p.ctx, key, func(ctx context.Context) error {
		return p.cfg.Store.PutFile(ctx, p.cfg.Bucket, key, it.Path,
			store.Object{ContentType: store.ContentType(name), CacheControl: store.CacheImmutable})
	})
	if err != nil {
		p.stats.failures.Add(1)
		p.stats.dropped.Add(1)
		r.mu.Lock()
		if len(r.pending) > 0 {
			r.pending[0].disc = true
			if it.Init != nil && r.pending[0].Init == nil {
				r.pending[0].Init = it.Init // the segments after it need it
			}
		} else {
			r.disc = true
		}
		r.mu.Unlock()
		p.cfg.Log.Warn("live: segment dropped after upload failures", "stream", p.cfg.Stream, "key", key, "err", err)
		return
	}
	seg := hls.Segment{URI: name, Duration: it.Duration, Discontinuity: it.disc && len(r.all) > 0,
		ProgramDateTime: it.pdt.UTC(), Map: initMap}
	r.all = append(r.all, seg)
	liveSeg := seg
	liveSeg.URI = catalog.FromLiveRendition(key)
	if initMap != nil {
		liveSeg.Map = &hls.Map{URI: catalog.FromLiveRendition(p.rungDir(i) + initMap.URI)}
	}
	r.live.Segments = append(r.live.Segments, liveSeg)
	p.slide(&r.live)
	body, err := p.livePlaylist(r, false)
	if err == nil {
		err = p.put(p.ctx, p.liveKey(i), body, p.liveCache())
	}
	if err != nil {
		p.stats.failures.Add(1)
		p.cfg.Log.Warn("live: playlist update failed", "stream", p.cfg.Stream, "key", p.liveKey(i), "err", err)
		return
	}
	r.mu.Lock()
	r.liveUp = true
	r.mu.Unlock()
	p.stats.segments.Add(1)
	p.recordLag(time.Since(it.Ready))
	if p.allLive() {
		p.masterOnce.Do(func() { p.masterErr = p.writeMaster(p.ctx, catalog.LiveMasterKey(p.cfg.Stream), p.liveCache()) })
	}
}

// slide keeps the DVR window: the newest segments adding up to DVRWindow.
func (p *Publisher) slide(pl *hls.MediaPlaylist) {
	var total time.Duration
	keep := 0
	for j := len(pl.Segments) - 1; j >= 0; j-- {
		total += pl.Segments[j].Duration
		if total > p.cfg.DVRWindow && keep > 0 {
			break
		}
		keep++
	}
	pl.Slide(keep)
}

func (p *Publisher) livePlaylist(r *rung, end bool) ([]byte, error) {
	r.live.TargetDuration = int(math.Ceil(p.cfg.SegmentSeconds))
	r.live.IndependentSegments = true
	r.live.EndList = end
	return r.live.Encode()
}

func (p *Publisher) allLive() bool {
	for _, r := range p.rungs {
		r.mu.Lock()
		up := r.liveUp
		r.mu.Unlock()
		if !up {
			return false
		}
	}
	return true
}

func (p *Publisher) writeMaster(ctx context.Context, key, cache string) error {
	body, err := p.cfg.Ladder.Master().Encode()
	if err != nil {
		return err
	}
	return p.put(ctx, key, body, cache)
}

// retry runs put until it succeeds, the attempts run out, or ctx ends,
// backing off exponentially.
func (p *Publisher) retry(ctx context.Context, what string, put func(context.Context) error) error {
	delay := p.cfg.Backoff
	var err error
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = put(actx)
		cancel()
		// A missing local file will not appear by retrying.
		if err == nil || attempt >= p.cfg.Attempts || ctx.Err() != nil || errors.Is(err, fs.ErrNotExist) {
			break
		}
		p.cfg.Log.Debug("live: retrying upload", "key", what, "attempt", attempt, "err", err)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
		delay = min(delay*2, 5*time.Second)
	}
	if err != nil {
		return fmt.Errorf("upload %s: %w", what, err)
	}
	return nil
}

func (p *Publisher) recordLag(d time.Duration) {
	p.stats.lastLag.Store(int64(d))
	p.lagMu.Lock()
	defer p.lagMu.Unlock()
	if len(p.lags) < maxLags {
		p.lags = append(p.lags, d)
	} else {
		p.lags[p.lagNext] = d
		p.lagNext = (p.lagNext + 1) % maxLags
	}
}

// Lags returns the recent publish lags: from a segment being finished by
// the encoder to the playlist naming it being in S3.
func (p *Publisher) Lags() []time.Duration {
	p.lagMu.Lock()
	defer p.lagMu.Unlock()
	return slices.Clone(p.lags)
}

// Stats returns the counters so far.
func (p *Publisher) Stats() Stats {
	pending := 0
	for _, r := range p.rungs {
		r.mu.Lock()
		pending += len(r.pending)
		r.mu.Unlock()
	}
	lags := p.Lags()
	return Stats{
		SegmentsPublished: p.stats.segments.Load(),
		SegmentsDropped:   p.stats.dropped.Load(),
		Overflows:         p.stats.overflows.Load(),
		UploadFailures:    p.stats.failures.Load(),
		Pending:           pending,
		LastLagMs:         ms(time.Duration(p.stats.lastLag.Load())),
		LagP95Ms:          ms(Percentile(lags, 0.95)),
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Percentile returns the q-quantile (0..1) of ds, nearest rank.
func Percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}
