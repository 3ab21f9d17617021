package encoder

import (
	"fmt"
	"path/filepath"
	"strconv"
)

// CMAFStream is the file name of each rendition's fragmented MP4 in a
// LiveCMAF output.
const CMAFStream = "stream.mp4"

// DefaultPartSeconds is a LiveCMAF fragment's length when the job sets
// none: the LL-HLS part target.
const DefaultPartSeconds = 0.5

// cmafArgs are the outputs of a LiveCMAF job (see LiveCMAF): one
// fragmented MP4 per rendition, each its own output with its own encoders
// (the audio is encoded once per rendition, as the HLS muxer's variant
// streams did). a holds the arguments up to the filter graph.
func cmafArgs(j Job, a []string, seg float64, preset string) []string {
	l := j.Ladder
	part := j.Output.PartSeconds
	if part <= 0 {
		part = DefaultPartSeconds
	}
	audio := func() []string {
		if l.Audio == nil {
			return nil
		}
		return []string{"-map", "0:a:0", "-af", "aresample=async=1000",
			"-c:a", "aac", "-b:a", strconv.Itoa(l.Audio.Bitrate),
			"-ac", strconv.Itoa(l.Audio.Channels), "-ar", strconv.Itoa(l.Audio.SampleRate)}
	}
	out := func(name string) []string {
		var o []string
		if j.Threads > 0 {
			o = append(o, "-threads", strconv.Itoa(j.Threads))
		}
		return append(o, "-map_metadata", "-1", "-max_muxing_queue_size", "4096",
			// A fragment at each keyframe (a segment's start) and every
			// part's length between; written out as soon as it is whole.
			"-f", "mp4", "-movflags", "+empty_moov+default_base_moof+frag_keyframe+skip_sidx+skip_trailer",
			"-frag_duration", strconv.Itoa(int(part*1e6)), "-flush_packets", "1",
			filepath.Join(j.Output.Dir, name, CMAFStream))
	}
	for i, r := range l.Video {
		a = append(a, "-map", fmt.Sprintf("[out%d]", i))
		a = append(a, x264Args(l.Video[i:i+1], seg, preset, true)...)
		a = append(a, rungArgs(0, r)...)
		a = append(a, audio()...)
		a = append(a, out(r.Name)...)
	}
	if len(l.Video) == 0 {
		a = append(a, audio()...)
		a = append(a, out(l.Audio.Name)...)
	}
	return a
}
