// Package llhls is the Low-Latency HLS origin of one live stream: it
// keeps the newest partial segments of every rendition in memory, writes
// each rendition's LL-HLS playlist on request, and holds blocking
// playlist reloads (_HLS_msn, _HLS_part) and requests for the part to
// come until it exists. S3 cannot hold a request, so the ingest serves
// these itself; full segments, the DVR window and the recording stay on
// S3, named by the URIs the caller gives each segment.
package llhls

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hlsflow/hlsflow/internal/hls"
)

// Defaults of Config.
const (
	DefaultPartTarget   = 500 * time.Millisecond
	DefaultTarget       = 2 * time.Second
	DefaultWindow       = 5 * time.Minute
	DefaultPartSegments = 3
	DefaultMaxWaiters   = 256
)

// Config configures an Origin.
type Config struct {
	Renditions []string      // names: {name}/index.m3u8, {name}/part_{msn}_{i}.m4s
	PartTarget time.Duration // the longest a part may be; default 500 ms
	Target     time.Duration // segment target duration; default 2 s
	// Window is how much of the stream the playlist lists (full segments,
	// on S3); PartSegments how many of the newest segments keep their
	// parts here and listed (RFC 8216bis: at least three target durations'
	// worth is enough for players at PART-HOLD-BACK).
	Window       time.Duration
	PartSegments int
	// MaxWaiters bounds the requests held at once (blocking reloads and
	// early part requests); past it a request is refused with 503 rather
	// than held, so a flood of them cannot pin the ingest's memory.
	MaxWaiters int
}

// Part is a partial segment as the packager cut it.
type Part struct {
	Duration    time.Duration
	Independent bool // starts with a keyframe
	Data        []byte
}

// Segment completes the segment whose parts were added since the last
// one: its URI (on S3, relative to the playlist), duration and
// PROGRAM-DATE-TIME. Discontinuity marks a new encoder run.
type Segment struct {
	URI           string
	Duration      time.Duration
	PDT           time.Time
	Discontinuity bool
}

type segment struct {
	Segment
	msn   uint64
	gen   int    // its initialization section
	parts []Part // nil once dropped
}

// maxInits bounds the initialization sections kept per rendition (one
// per encoder run: reconnects).
const maxInits = 16

type rendition struct {
	name    string
	inits   map[int][]byte // by generation: init_{gen}.mp4
	gen     int            // of the newest, which the segment being made uses
	segs    []segment      // complete, oldest first, within Window
	partial []Part         // of segment next
	next    uint64         // msn of the segment being made
	// disc: the segment being made starts a new run; its parts are not
	// listed until it is complete, as the playlist could not yet say
	// where the new run begins.
	disc    bool
	discSeq uint64 // discontinuities slid out of the window
}

// Origin is one stream's LL-HLS origin; its methods are safe for
// concurrent use.
type Origin struct {
	cfg Config

	mu      sync.Mutex
	rends   []*rendition
	ended   bool
	changed chan struct{} // closed and replaced at every change
	waiters int
}

// New checks cfg and returns an empty Origin.
func New(cfg Config) (*Origin, error) {
	if len(cfg.Renditions) == 0 {
		return nil, errors.New("llhls: no renditions")
	}
	cfg.PartTarget = or(cfg.PartTarget, DefaultPartTarget)
	cfg.Target = or(cfg.Target, DefaultTarget)
	cfg.Window = or(cfg.Window, DefaultWindow)
	cfg.PartSegments = or(cfg.PartSegments, DefaultPartSegments)
	cfg.MaxWaiters = or(cfg.MaxWaiters, DefaultMaxWaiters)
	if cfg.PartTarget >= cfg.Target {
		return nil, fmt.Errorf("llhls: part target %v is not below the target duration %v", cfg.PartTarget, cfg.Target)
	}
	o := &Origin{cfg: cfg, changed: make(chan struct{})}
	seen := map[string]bool{}
	for _, n := range cfg.Renditions {
		if n == "" || seen[n] {
			return nil, fmt.Errorf("llhls: rendition name %q empty or repeated", n)
		}
		seen[n] = true
		o.rends = append(o.rends, &rendition{name: n, inits: map[int][]byte{}})
	}
	return o, nil
}

func or[T time.Duration | int](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// change wakes every waiter; called with mu held.
func (o *Origin) change() {
	close(o.changed)
	o.changed = make(chan struct{})
}

func (o *Origin) rendition(r int) *rendition {
	if r < 0 || r >= len(o.rends) || o.ended {
		return nil
	}
	return o.rends[r]
}

// Init sets rendition r's initialization section (EXT-X-MAP) for the
// segments to come: each encoder run has its own.
func (o *Origin) Init(r int, data []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if rd := o.rendition(r); rd != nil {
		rd.gen++
		rd.inits[rd.gen] = data
		delete(rd.inits, rd.gen-maxInits)
		o.change()
	}
}

// AddPart adds the next part of rendition r's segment being made.
func (o *Origin) AddPart(r int, p Part) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if rd := o.rendition(r); rd != nil {
		rd.partial = append(rd.partial, p)
		o.change()
	}
}

// Discontinuity marks the next segment of every rendition as the start
// of a new encoder run.
func (o *Origin) Discontinuity() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, rd := range o.rends {
		rd.disc = true
	}
}

// AddSegment completes rendition r's segment being made with the parts
// added since the last one, and slides the window.
func (o *Origin) AddSegment(r int, s Segment) {
	o.mu.Lock()
	defer o.mu.Unlock()
	rd := o.rendition(r)
	if rd == nil {
		return
	}
	s.Discontinuity = s.Discontinuity || rd.disc
	rd.disc = false
	rd.segs = append(rd.segs, segment{Segment: s, msn: rd.next, gen: rd.gen, parts: rd.partial})
	rd.partial, rd.next = nil, rd.next+1
	// Parts are kept for the newest PartSegments segments only.
	if n := len(rd.segs) - o.cfg.PartSegments; n > 0 {
		rd.segs[n-1].parts = nil
	}
	var total time.Duration
	keep := 0
	for i := len(rd.segs) - 1; i >= 0; i-- {
		total += rd.segs[i].Duration
		if total > o.cfg.Window && keep > 0 {
			break
		}
		keep++
	}
	for _, sg := range rd.segs[:len(rd.segs)-keep] {
		if sg.Discontinuity {
			rd.discSeq++
		}
	}
	rd.segs = append(rd.segs[:0], rd.segs[len(rd.segs)-keep:]...)
	o.change()
}

// End ends the stream: playlists get EXT-X-ENDLIST and held requests are
// answered.
func (o *Origin) End() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.ended {
		o.ended = true
		o.change()
	}
}

// partName is the URI of part i of segment msn, relative to the playlist.
func partName(msn uint64, i int) string { return fmt.Sprintf("part_%d_%d.m4s", msn, i) }

// initName is the URI of a rendition's initialization section gen.
func initName(gen int) string { return fmt.Sprintf("init_%d.mp4", gen) }

// playlist writes rendition rd's LL-HLS playlist; called with mu held.
func (o *Origin) playlist(rd *rendition) ([]byte, error) {
	pl := hls.MediaPlaylist{
		Version: 6, TargetDuration: int((o.cfg.Target + time.Second - 1) / time.Second), IndependentSegments: true,
		DiscontinuitySequence: rd.discSeq, EndList: o.ended,
		LowLatency: &hls.LowLatency{
			PartTarget:    o.cfg.PartTarget,
			ServerControl: hls.ServerControl{CanBlockReload: true, PartHoldBack: 3 * o.cfg.PartTarget},
		},
	}
	if len(rd.segs) > 0 {
		pl.MediaSequence = rd.segs[0].msn
	} else {
		pl.MediaSequence = rd.next
	}
	for i, sg := range rd.segs {
		s := hls.Segment{URI: sg.URI, Duration: sg.Duration, ProgramDateTime: sg.PDT.UTC(), Discontinuity: sg.Discontinuity}
		if sg.gen > 0 && (i == 0 || rd.segs[i-1].gen != sg.gen) {
			s.Map = &hls.Map{URI: initName(sg.gen)}
		}
		for j, p := range sg.parts {
			s.Parts = append(s.Parts, hls.Part{URI: partName(sg.msn, j), Duration: p.Duration, Independent: p.Independent})
		}
		pl.Segments = append(pl.Segments, s)
	}
	ll := pl.LowLatency
	if !o.ended && !rd.disc {
		for j, p := range rd.partial {
			ll.Partial = append(ll.Partial, hls.Part{URI: partName(rd.next, j), Duration: p.Duration, Independent: p.Independent})
		}
		ll.PreloadHint = partName(rd.next, len(rd.partial))
		for _, other := range o.rends {
			if other == rd {
				continue
			}
			msn, part := other.last()
			ll.Reports = append(ll.Reports, hls.RenditionReport{URI: "../" + other.name + "/index.m3u8", LastMSN: msn, LastPart: part})
		}
	}
	return pl.Encode()
}

// last is the newest segment and part of rd: the segment being made and
// its last part, or the last complete segment and its last part.
func (rd *rendition) last() (msn uint64, part int) {
	if len(rd.partial) > 0 || len(rd.segs) == 0 {
		return rd.next, len(rd.partial) - 1
	}
	s := rd.segs[len(rd.segs)-1]
	return s.msn, len(s.parts) - 1
}

// normal turns a request for part part of segment msn into the one it
// stands for: a part index past a complete segment's last part is part 0
// of the next segment (RFC 8216bis §6.2.5.2).
func (rd *rendition) normal(msn uint64, part int) (uint64, int) {
	for _, s := range rd.segs {
		if s.msn == msn && part >= 0 && s.parts != nil && part >= len(s.parts) {
			return msn + 1, 0
		}
	}
	return msn, part
}

// has says whether rd's playlist holds segment msn (part < 0) or part
// part of it (after normal).
func (rd *rendition) has(msn uint64, part int) bool {
	if msn < rd.next {
		return true // complete: its parts are listed, or gone as the playlist moved past them
	}
	return msn == rd.next && !rd.disc && part >= 0 && part < len(rd.partial)
}

// part returns part i of segment msn of rd, if kept.
func (rd *rendition) part(msn uint64, i int) ([]byte, bool) {
	if msn == rd.next {
		if i >= 0 && i < len(rd.partial) {
			return rd.partial[i].Data, true
		}
		return nil, false
	}
	for _, s := range rd.segs {
		if s.msn == msn && i >= 0 && i < len(s.parts) {
			return s.parts[i].Data, true
		}
	}
	return nil, false
}
