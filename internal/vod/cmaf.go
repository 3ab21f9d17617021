package vod

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hlsflow/hlsflow/internal/dash"
	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
)

// maxInitBytes bounds a CMAF init segment a chunk encode may return: a
// moov with one track and its parameter sets is well under a kilobyte.
const maxInitBytes = 64 << 10

// readInit reads the init segment of CMAF rendition r as ffmpeg wrote it
// in job's output, points the playlist's EXT-X-MAP at the revision's name
// for it (media.InitName) and keeps its bytes in r. The codecs of a video
// rendition are read from it into codecs: CMAF segments carry no
// parameter sets of their own.
func readInit(job encoder.Job, r *rendition, video bool, codecs map[string]string) error {
	path, err := encoder.InitFile(filepath.Join(job.Output.Dir, r.name), r.p)
	if err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	if len(b) > maxInitBytes {
		return fmt.Errorf("%s: init segment of %d bytes, more than %d", r.name, len(b), maxInitBytes)
	}
	if video {
		codecs[r.name], _ = media.InitCodecs(bytes.NewReader(b)) // best effort, as for TS
	}
	name := media.InitName(job.Output.Revision)
	r.p.Segments[0].Map.URI = name
	r.init = b
	r.sizes[name] = int64(len(b))
	return nil
}

// uploadInit uploads the init segment of CMAF rendition name under
// prefix, revision rev's name for it.
func uploadInit(ctx context.Context, st *store.Store, bucket, prefix, rev, name string, init []byte) error {
	rel := name + "/" + media.InitName(rev)
	return st.PutBytes(ctx, bucket, prefix+rel, init, store.For(rel))
}

// segmentName is the file name of segment n of revision rev in format
// cmaf or MPEG-TS.
func segmentName(cmaf bool, rev string, n int) string {
	if cmaf {
		return fmt.Sprintf(media.CMAFSegmentPattern(rev), n)
	}
	return media.SegmentName(rev, n)
}

// manifest is the MPEG-DASH manifest of a CMAF video's renditions (the
// ladder the master lists, internal/dash), or nil, logged, should they not
// make one: the HLS master plays either way.
func (j *job) manifest(l media.Ladder, rev string, rends []rendition, rates map[string]hls.Rate, codecs map[string]string) []byte {
	hl := ladderOf(l, rev, rates, codecs)
	if a := l.Audio; a != nil && a.Language != "" && hl.Tracks[a.Name].Language == "" {
		// The master names the language of a lone track nowhere; the
		// MPD's audio adaptation set says it.
		tracks := map[string]hls.TrackInfo{a.Name: {Language: a.Language}}
		for k, v := range hl.Tracks {
			if k != a.Name {
				tracks[k] = v
			}
		}
		hl.Tracks = tracks
	}
	lists := map[string]*hls.MediaPlaylist{}
	for _, r := range rends {
		lists[r.name] = r.p
	}
	b, err := dash.Build(hl, lists, j.timeline)
	if err != nil {
		j.log.Warn("no DASH manifest", "err", err)
		return nil
	}
	return b
}
