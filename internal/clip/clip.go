// Package clip makes instant clips: a new video, under vod/{clip id}/,
// whose playlists list the whole segments of a ready video, or of a live
// stream's DVR window, that cover a span. Nothing is encoded, so a clip is
// ready as soon as its files are written: copies, at most 16 at once, of
// 3 to 5 segments a rendition per 10 s (a 10 s clip well under a second;
// the longest allowed, 600 s in three renditions, took 1.3 s on a loaded
// test machine, TestLongestClip).
//
// The clip's segments are server-side copies, under the clip's own
// folder, not references into its source: a ready video's segment names
// carry its upload's revision and are deleted once a re-upload replaces
// it (internal/vod, replace.go), and a recording may be deleted, so a
// clip that pointed into them would stop playing. The copies keep their
// names, the master is the source's own, and the media playlists keep
// their names and list the copies, so the clip plays exactly what its
// source played.
//
// Clips are segment-accurate: the span grows to the boundaries of the
// segments it touches, and status.json's clipOf tells the span played.
// (A frame-accurate mode, re-encoding the two boundary segments, is not
// made.)
package clip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"path"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/store"
)

// Bounds of what one request may cost.
const (
	// MaxSeconds is the longest span a clip may cover; longer ones are
	// refused rather than copied.
	MaxSeconds = 600
	// MaxPerSource is how many clips one video or stream may have.
	MaxPerSource = 20
	// copiesAtOnce bounds the copies in flight for one clip.
	copiesAtOnce = 16
)

var (
	// ErrNotFound: no ready video with that id, or no live stream by that
	// name.
	ErrNotFound = errors.New("not found")
	// ErrTooMany: the source has MaxPerSource clips already.
	ErrTooMany = fmt.Errorf("a video or stream may have at most %d clips", MaxPerSource)
	// ErrChanged: the source changed while the clip was made (a
	// replacement switched in, the live window slid past the span); trying
	// again makes the clip from what plays now.
	ErrChanged = errors.New("the video changed while the clip was made; try again")
)

// RangeError is a span that cannot be clipped; Error is for people, Field
// names the request field at fault.
type RangeError struct {
	Field, Reason string
}

func (e *RangeError) Error() string { return e.Reason }

// Maker makes clips in one media bucket.
type Maker struct {
	Store  *store.Store
	Bucket string
}

// source is what a clip is cut from.
type source struct {
	prefix     string // the folder the master's URIs are relative to
	master     string // its key
	idBase     string // the clip ids' common start
	of         catalog.ClipOf
	renditions []catalog.Rendition // nil: derived from the master
	poster     string
}

// FromVideo makes a clip of the ready video id covering [start, end)
// seconds, and returns its status.json as written.
func (m *Maker) FromVideo(ctx context.Context, id string, start, end float64) (*catalog.Status, error) {
	if !catalog.ValidID(id) {
		return nil, ErrNotFound
	}
	st, err := catalog.Read(ctx, m.Store, m.Bucket, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrNotFound
	case err != nil:
		return nil, err
	case st.State != catalog.StateReady:
		return nil, ErrNotFound
	}
	return m.make(ctx, source{prefix: catalog.Prefix(id), master: catalog.MasterKey(id), idBase: id,
		of: catalog.ClipOf{ID: id}, renditions: st.Renditions, poster: st.Poster}, start, end)
}

// FromLive makes a clip of live stream name's DVR window: start and end
// are seconds from the start of the window as it is now (the oldest
// segment every rendition still lists). The copies outlive the stream
// and its recording.
func (m *Maker) FromLive(ctx context.Context, name string, start, end float64) (*catalog.Status, error) {
	if !catalog.ValidID(name) {
		return nil, ErrNotFound
	}
	return m.make(ctx, source{prefix: catalog.LivePrefix(name), master: catalog.LiveMasterKey(name), idBase: name,
		of: catalog.ClipOf{ID: name, Live: true}}, start, end)
}

// rend is one rendition of the source: its playlist's URI in the master
// and what it lists.
type rend struct {
	uri string
	p   *hls.MediaPlaylist
}

func (m *Maker) make(ctx context.Context, src source, start, end float64) (*catalog.Status, error) {
	if err := checkSpan(start, end); err != nil {
		return nil, err
	}
	masterBody, err := m.Store.GetBytes(ctx, m.Bucket, src.master)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	master, err := hls.ParseMaster(masterBody)
	if err != nil {
		return nil, fmt.Errorf("clip of %s: %w", src.of.ID, err)
	}
	rends, err := m.renditions(ctx, src, master)
	if err != nil {
		return nil, err
	}
	lo, hi, t0, err := pick(rends, start, end)
	if err != nil {
		return nil, err
	}
	n, err := m.count(ctx, src.idBase)
	if err != nil {
		return nil, err
	}
	if n >= MaxPerSource {
		return nil, ErrTooMany
	}
	id, err := newID(src.idBase)
	if err != nil {
		return nil, err
	}
	st, err := m.write(ctx, id, src, masterBody, rends, lo, hi)
	if err != nil {
		// Nothing of a clip that is not whole stays.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		if keys, lerr := m.Store.List(bctx, m.Bucket, catalog.Prefix(id)); lerr == nil && len(keys) > 0 {
			_ = m.Store.DeleteKeys(bctx, m.Bucket, keys)
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrChanged
		}
		return nil, err
	}
	st.ClipOf.Start = math.Round(t0*1000) / 1000
	st.ClipOf.End = math.Round((t0+st.Duration)*1000) / 1000
	if err := catalog.Write(ctx, m.Store, m.Bucket, st); err != nil {
		return nil, err
	}
	return st, nil
}

// checkSpan refuses spans no source can have.
func checkSpan(start, end float64) error {
	switch {
	case math.IsNaN(start) || math.IsInf(start, 0) || start < 0:
		return &RangeError{"start", "start must be a number of seconds, 0 or more"}
	case math.IsNaN(end) || math.IsInf(end, 0):
		return &RangeError{"end", "end must be a number of seconds"}
	case end <= start:
		return &RangeError{"end", "end must be after start"}
	case end-start > MaxSeconds:
		return &RangeError{"end", fmt.Sprintf("a clip may last at most %d s", MaxSeconds)}
	}
	return nil
}

// renditions reads every media playlist the master names.
func (m *Maker) renditions(ctx context.Context, src source, master *hls.MasterPlaylist) ([]rend, error) {
	var uris []string
	for _, v := range master.Variants {
		uris = append(uris, v.URI)
	}
	for _, md := range master.Media {
		if md.URI != "" {
			uris = append(uris, md.URI)
		}
	}
	var rends []rend
	seen := map[string]bool{}
	for _, u := range uris {
		if seen[u] {
			continue
		}
		seen[u] = true
		if !safeURI(u) {
			return nil, fmt.Errorf("clip of %s: the master names %q, not a playlist beside it", src.of.ID, u)
		}
		b, err := m.Store.GetBytes(ctx, m.Bucket, src.prefix+u)
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrChanged
		}
		if err != nil {
			return nil, err
		}
		p, err := hls.ParseMedia(b)
		if err != nil {
			return nil, fmt.Errorf("clip of %s: %s: %w", src.of.ID, u, err)
		}
		if len(p.Segments) == 0 {
			return nil, &RangeError{"start", "there is nothing to clip yet"}
		}
		rends = append(rends, rend{uri: u, p: p})
	}
	if len(rends) == 0 {
		return nil, fmt.Errorf("clip of %s: the master names no playlist", src.of.ID)
	}
	return rends, nil
}

// safeURI accepts a relative path below the master's folder.
func safeURI(u string) bool {
	return u != "" && !strings.Contains(u, "://") && !strings.HasPrefix(u, "/") && !strings.Contains(u, "?") &&
		path.Clean(u) == u && !strings.HasPrefix(u, "../") && u != ".."
}

// pick chooses the segments that cover [start, end): by media sequence
// number, which every rendition of one encode shares, within the range
// every rendition lists, timed by the first rendition from the first
// segment of that range. It returns the sequence numbers of the first and
// last segment and the time of the first.
func pick(rends []rend, start, end float64) (lo, hi uint64, t0 float64, err error) {
	first, last := uint64(0), uint64(math.MaxUint64)
	for _, r := range rends {
		first = max(first, r.p.MediaSequence)
		last = min(last, r.p.MediaSequence+uint64(len(r.p.Segments))-1)
	}
	if first > last {
		return 0, 0, 0, ErrChanged
	}
	ref := rends[0].p
	var t float64
	lo, hi = math.MaxUint64, 0
	for seq := first; seq <= last; seq++ {
		d := ref.Segments[seq-ref.MediaSequence].Duration.Seconds()
		if t+d > start && t < end {
			if lo == math.MaxUint64 {
				lo, t0 = seq, t
			}
			hi = seq
		}
		t += d
	}
	total := math.Round(t*1000) / 1000
	switch {
	case start >= total:
		return 0, 0, 0, &RangeError{"start", fmt.Sprintf("start is beyond the end (%.3f s)", total)}
	case end > total+0.001:
		return 0, 0, 0, &RangeError{"end", fmt.Sprintf("end is beyond the end (%.3f s)", total)}
	}
	return lo, hi, t0, nil
}

// count is how many clips of base exist.
func (m *Maker) count(ctx context.Context, base string) (int, error) {
	dirs, err := m.Store.Dirs(ctx, m.Bucket, strings.TrimSuffix(catalog.Prefix(idPrefix(base)), "/"))
	return len(dirs), err
}

// idPrefix is what every clip id of base starts with: base, cut so that
// the id stays a valid one, then "-clip-".
func idPrefix(base string) string {
	if len(base) > 64 {
		base = strings.TrimRight(base[:64], "-")
	}
	return base + "-clip-"
}

// newID is a fresh clip id of base.
func newID(base string) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random clip id: %w", err)
	}
	return idPrefix(base) + hex.EncodeToString(b[:]), nil
}

// write copies the segments lo..hi of every rendition, writes their
// playlists and the master, and returns the clip's status (not yet
// written).
func (m *Maker) write(ctx context.Context, id string, src source, master []byte, rends []rend, lo, hi uint64) (*catalog.Status, error) {
	copies := map[string]string{} // to: from
	playlists := map[string][]byte{}
	var duration time.Duration
	for i, r := range rends {
		clip := hls.MediaPlaylist{Type: hls.TypeVOD, EndList: true, IndependentSegments: true}
		// copyOf names the copy of uri, a file beside r's playlist.
		copyOf := func(uri string) (string, error) {
			from := path.Join(path.Dir(src.prefix+r.uri), uri)
			if !strings.HasPrefix(from, "vod/") || strings.Contains(uri, "://") {
				return "", fmt.Errorf("clip of %s: %s lists %q, not a segment of this bucket", src.of.ID, r.uri, uri)
			}
			name := path.Base(from)
			copies[path.Join(path.Dir(catalog.Prefix(id)+r.uri), name)] = from
			return name, nil
		}
		// A CMAF rendition's init segment (EXT-X-MAP) in force at lo goes
		// with the clip's first segment.
		var init *hls.Map
		for _, s := range r.p.Segments[:lo-r.p.MediaSequence+1] {
			if s.Map != nil {
				init = s.Map
			}
		}
		for seq := lo; seq <= hi; seq++ {
			s := r.p.Segments[seq-r.p.MediaSequence]
			name, err := copyOf(s.URI)
			if err != nil {
				return nil, err
			}
			seg := hls.Segment{URI: name, Duration: s.Duration, Discontinuity: s.Discontinuity && seq > lo}
			if s.Map != nil {
				init = s.Map
			}
			if init != nil && (seq == lo || s.Map != nil) {
				uri, err := copyOf(init.URI)
				if err != nil {
					return nil, err
				}
				seg.Map = &hls.Map{URI: uri}
			}
			clip.Segments = append(clip.Segments, seg)
		}
		if i == 0 {
			duration = clip.Duration()
		}
		b, err := clip.Encode()
		if err != nil {
			return nil, fmt.Errorf("clip %s: %w", id, err)
		}
		playlists[catalog.Prefix(id)+r.uri] = b
	}
	poster := ""
	if src.poster != "" && strings.HasPrefix(src.poster, src.prefix) {
		poster = catalog.Prefix(id) + path.Base(src.poster)
		copies[poster] = src.poster
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(copiesAtOnce)
	for to, from := range copies {
		g.Go(func() error { return m.Store.Copy(gctx, m.Bucket, from, to) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for key, b := range playlists {
		if err := m.Store.PutBytes(ctx, m.Bucket, key, b, store.For(key)); err != nil {
			return nil, err
		}
	}
	// The master last: whoever finds it finds every file it names.
	if err := m.Store.PutBytes(ctx, m.Bucket, catalog.MasterKey(id), master, store.For(catalog.MasterKey(id))); err != nil {
		return nil, err
	}
	of := src.of
	renditions := src.renditions
	if renditions == nil {
		renditions = fromMaster(master)
	}
	return &catalog.Status{ID: id, State: catalog.StateReady, Progress: 1,
		Duration: math.Round(duration.Seconds()*1000) / 1000, Renditions: renditions,
		Playback: catalog.MasterKey(id), Poster: poster, ClipOf: &of}, nil
}

// fromMaster lists the renditions of a master (a live stream's, whose
// status is not kept) as status.json tells them.
func fromMaster(body []byte) []catalog.Rendition {
	m, err := hls.ParseMaster(body)
	if err != nil {
		return nil
	}
	var rs []catalog.Rendition
	for _, v := range m.Variants {
		rs = append(rs, catalog.Rendition{Name: path.Dir(v.URI), Width: v.Width, Height: v.Height,
			Bandwidth: int(v.Bandwidth), Codecs: v.Codecs, FrameRate: v.FrameRate})
	}
	return rs
}
