package encoder

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hlsflow/hlsflow/internal/hls"
)

// vodCMAFArgs switch the HLS muxer of a VOD job to fragmented MP4. The
// init segment's name must hold %v when there are several variant streams
// (ffmpeg refuses otherwise) and is taken literally when there is one; it
// is written beside the playlist, which names it in EXT-X-MAP. InitFile
// finds it from there, and the publisher renames it (media.InitName).
//
// An encode that continues a timeline (a chunk: Output.TimeOffset) marks
// its fragments discontinuous (frag_discont): each fragment's decode time
// (tfdt) is then its first sample's time, offset included, and the init
// segment's edit list keeps only the B-frame delay. Otherwise the MP4
// muxer records the offset as an empty edit in the init segment and
// starts every chunk's fragments at 0, so no two chunks could share an
// init segment or join end to end.
func vodCMAFArgs(renditions int, continued bool) []string {
	name := "init.mp4"
	if renditions > 1 {
		name = "init_%v.mp4"
	}
	a := []string{"-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", name}
	if continued {
		a = append(a, "-hls_segment_options", "movflags=+frag_discont")
	}
	return a
}

// InitFile returns the local path of the init segment that a CMAF
// rendition's playlist p (as ffmpeg wrote it in dir) names, checked to be
// a plain file in dir that exists.
func InitFile(dir string, p *hls.MediaPlaylist) (string, error) {
	if len(p.Segments) == 0 || p.Segments[0].Map == nil {
		return "", fmt.Errorf("%s: playlist has no EXT-X-MAP", dir)
	}
	for _, s := range p.Segments[1:] {
		if s.Map != nil {
			return "", fmt.Errorf("%s: playlist has more than one EXT-X-MAP", dir)
		}
	}
	uri := p.Segments[0].Map.URI
	if uri == "" || strings.ContainsAny(uri, `/\`) || uri == "." || uri == ".." {
		return "", fmt.Errorf("%s: EXT-X-MAP names %q", dir, uri)
	}
	path := filepath.Join(dir, uri)
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s: init segment %q missing", dir, uri)
	}
	return path, nil
}
