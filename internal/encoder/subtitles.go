package encoder

import (
	"strconv"

	"github.com/hlsflow/hlsflow/internal/media"
)

// SubtitleArgs returns the ffmpeg arguments that convert the text
// subtitle stream sub of src to a WebVTT file out (ASS/SSA keep their
// text only: ffmpeg's WebVTT encoder drops their styling), the input
// locked down as for the ladder. Nothing is decoded but the subtitles.
// It returns nil for a stream the probe did not list.
func SubtitleArgs(src *media.Source, input string, sub media.Subtitle, out string) []string {
	if src == nil || !media.SubtitleCodecs[sub.Codec] {
		return nil
	}
	known := false
	for _, s := range src.Subtitles {
		known = known || s.Index == sub.Index
	}
	if !known {
		return nil
	}
	a := []string{"-hide_banner", "-nostdin", "-loglevel", "error"}
	a = append(a, media.InputArgs(src, input, 0, 0)...)
	return append(a,
		"-map", "0:"+strconv.Itoa(sub.Index),
		"-c:s", "webvtt",
		"-f", "webvtt", "-y", out,
	)
}
