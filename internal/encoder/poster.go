package encoder

import (
	"math"
	"strconv"

	"github.com/hlsflow/hlsflow/internal/media"
)

// posterMaxShort caps the poster's short side: a thumbnail for a library
// and a player's first frame, not a full-resolution still.
const posterMaxShort = 720

// PosterAt is where the poster frame is taken: a tenth into the video (past
// fades from black), at most 10 s in.
func PosterAt(duration float64) float64 {
	return math.Max(0, math.Min(duration/10, 10))
}

// PosterArgs returns the ffmpeg arguments that grab one frame of src's
// video at `at` seconds into the JPEG file out, sized like the ladder's
// largest rung no bigger than 720p. The input is locked down exactly as
// for the ladder encode. It returns nil when src has no video.
func PosterArgs(src *media.Source, l media.Ladder, input, out string, at float64) []string {
	if src == nil || src.Video == nil || len(l.Video) == 0 {
		return nil
	}
	r := l.Video[len(l.Video)-1]
	for _, c := range l.Video {
		if min(c.Width, c.Height) <= posterMaxShort {
			r = c
			break
		}
	}
	a := []string{"-hide_banner", "-nostdin", "-loglevel", "error"}
	a = append(a, media.InputArgs(src, input, at, 0)...)
	return append(a,
		"-map", "0:"+strconv.Itoa(src.Video.Index),
		"-frames:v", "1",
		"-vf", "scale=w="+strconv.Itoa(r.Width)+":h="+strconv.Itoa(r.Height)+",setsar=1",
		"-q:v", "3",
		"-f", "image2", "-update", "1",
		"-y", out,
	)
}
