package vod

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
)

// rendition is one encoded rendition: its playlist and the size of each
// segment it lists, all in the media bucket.
type rendition struct {
	name  string
	p     *hls.MediaPlaylist
	sizes map[string]int64 // by segment URI (and a CMAF init segment's)
	init  []byte           // CMAF: the init segment, which the encode's owner uploads
}

// result is an encoded video whose media playlists are written, ready for
// publishMaster to switch players to.
type result struct {
	keys       map[string]bool // every object written under vod/{id}/
	duration   float64         // seconds, as encoded
	renditions []catalog.Rendition
	tracks     []catalog.AudioTrack
	captions   []catalog.Caption
	// captionsVersion is subtitles.Store.Version when captions were
	// published (see recaption).
	captionsVersion string
	master          []byte // master.m3u8
	mpd             []byte // manifest.mpd (CMAF), written just before the master
	segments        media.SegmentFormat
	stable          map[string][]byte // each rendition's index.m3u8, written with the master
	source          *media.Source     // as probed, for the poster
	ladder          media.Ladder
	rends           []rendition // as encoded, for the download
}

// publish writes the VOD media playlists of rends and builds the master,
// with measured bandwidths and the codecs as encoded where known (by rung
// name), for publishMaster to write.
func (j *job) publish(ctx context.Context, ms *media.Source, l media.Ladder, rends []rendition, codecs map[string]string) (*result, error) {
	prefix, rev := catalog.Prefix(j.id), j.src.Revision()
	res := &result{keys: map[string]bool{}, stable: map[string][]byte{}, source: ms, ladder: l, rends: rends}
	var longest time.Duration
	for _, r := range rends {
		for uri, size := range r.sizes {
			res.keys[prefix+r.name+"/"+uri] = true
			j.use.wrote(1, size) // uploaded by the encode, here or in a worker
		}
		longest = max(longest, r.p.Duration())
	}
	// A damaged file can decode partly without ffmpeg failing. A video
	// short of its stated duration by more than 1 s, 5% or a segment
	// (whichever is larger, up to a segment) is not published as if whole.
	if got, want := longest.Seconds(), ms.Duration; got < want-max(1, min(want/20, l.SegmentSeconds)) {
		return nil, refuse(fmt.Sprintf("the file is damaged or incomplete: only %.1f s of its %.1f s could be decoded", got, want), nil)
	}
	for _, r := range rends {
		r.p.Type, r.p.EndList, r.p.IndependentSegments = hls.TypeVOD, true, true
		out, err := r.p.Encode()
		if err != nil {
			return nil, fmt.Errorf("%s playlist: %w", r.name, err)
		}
		// Under the revision's name, which the master lists. index.m3u8 is
		// a stable link to the rendition that follows the newest upload
		// (cached briefly, like the master): publishMaster writes it with
		// the master, and until then it leads to the version that plays.
		folder := prefix + r.name + "/"
		key := folder + media.PlaylistName(rev)
		if err := j.store.PutBytes(ctx, j.cfg.MediaBucket, key, out, store.For(key)); err != nil {
			return nil, err
		}
		j.use.wrote(1, int64(len(out)))
		res.keys[key] = true
		if stable := folder + media.PlaylistName(""); stable != key {
			res.stable[stable], res.keys[stable] = out, true
		}
	}
	rates := measure(rends)
	master, renditions := buildMaster(l, rev, rates, codecs)
	res.segments = media.TS
	if len(rends) > 0 && rends[0].init != nil {
		res.segments = media.CMAF
		res.mpd = j.manifest(l, rev, rends, rates, codecs)
	}
	if len(l.Video) > 0 {
		j.captions(ctx, ms, master, res)
	}
	out, err := master.Encode()
	if err != nil {
		return nil, fmt.Errorf("master playlist: %w", err)
	}
	res.master, res.renditions, res.tracks = out, renditions, catalog.AudioTracks(master)
	res.duration = math.Round(longest.Seconds()*1000) / 1000
	return res, nil
}

// measure is the bandwidth of each rendition (hls.Measure).
func measure(rends []rendition) map[string]hls.Rate {
	rates := map[string]hls.Rate{}
	for _, r := range rends {
		rates[r.name] = hls.Measure(r.p, r.sizes)
	}
	return rates
}

// buildMaster lists one variant per video rung, highest first, each with
// the audio rendition as an alternative group; an audio-only ladder is one
// audio variant. Bandwidths are measured (hls.Ladder adds the audio's peak
// and average to each variant's), and CODECS is what the encoder wrote
// (encoded, by rung name) when known. Every URI names revision rev's
// playlists.
func buildMaster(l media.Ladder, rev string, rates map[string]hls.Rate, encoded map[string]string) (*hls.MasterPlaylist, []catalog.Rendition) {
	hl := ladderOf(l, rev, rates, encoded)
	rs := catalog.Renditions(hl)
	for i := range rs {
		for _, v := range append(slices.Clone(l.Video), l.Extra...) {
			if v.Name == rs[i].Name {
				rs[i].Codec = string(v.VideoCodec())
			}
		}
	}
	return hl.Master(), rs
}

// ladderOf is what the master (and the DASH manifest) say of ladder l:
// see buildMaster.
func ladderOf(l media.Ladder, rev string, rates map[string]hls.Rate, encoded map[string]string) hls.Ladder {
	hl := hls.Ladder{Playlist: media.PlaylistName(rev)}
	if a := l.Audio; a != nil {
		r := rates[a.Name]
		hl.Audio = &hls.Rendition{Name: a.Name, Codecs: a.Codecs(), Channels: a.Channels, Bandwidth: r.Peak, AverageBandwidth: r.Average}
		addMoreAudio(&hl, l, rates)
	}
	// H.264 first, then each extra codec's rungs (l.Extra): a player that
	// cannot decode a variant's CODECS skips it, and one that picks the
	// first listed to start with starts on H.264.
	for _, v := range append(slices.Clone(l.Video), l.Extra...) {
		codecs := v.Codecs()
		if c := encoded[v.Name]; c != "" {
			codecs = c
		}
		r := rates[v.Name]
		hl.Video = append(hl.Video, hls.Rendition{Name: v.Name, Width: v.Width, Height: v.Height, FrameRate: v.FPS,
			Codecs: codecs, Bandwidth: r.Peak, AverageBandwidth: r.Average})
	}
	return hl
}
