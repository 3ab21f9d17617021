package chunk

import (
	"math"

	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/media"
)

// TimeBase (seconds) is added to every output timestamp. x264's B-frames
// give the first frame a negative DTS; at source time 0 the MPEG-TS muxer
// would shift the whole first chunk to hide it, but not later chunks,
// leaving a 2-frame jump at the first join. Starting the timeline at
// TimeBase keeps every DTS positive, so every chunk is offset alike.
const TimeBase = 10.0

// Options tune the encodes.
type Options struct {
	Input   string // presigned URL or local path of the source
	OutDir  string // rendition folders are written under it
	Preset  string // x264 preset; "" = encoder.DefaultPreset
	Threads int    // 0 = ffmpeg's choice
	// Revision goes into segment names (media.SegmentPattern), as in the
	// transcoder's own encodes.
	Revision string
	// CMAF writes fragmented MP4 segments and an init segment per
	// rendition (encoder.Output.CMAF). Every chunk's init segment of a
	// rung is the same bytes (no edit list: see encoder's vodCMAFArgs), so
	// the joined rendition names one; the fan-out checks it.
	CMAF bool
	// Storyboard, when set, has a video chunk also write the thumbnails
	// of the whole video's storyboard grid that fall in its span.
	Storyboard *encoder.Storyboard
}

// VideoJob is the encode of chunk c of every video rung of l into
// OutDir/{rung}/seg_[REV_]NNNNN.ts (or .m4s after init.mp4, with CMAF)
// and OutDir/{rung}/index.m3u8. What
// makes chunks join seamlessly:
//   - the chunk starts at its first frame, the first source frame at or
//     after c.Start (Span), and ends before the next chunk's first frame;
//   - keyframes are forced at chunk-relative multiples of the segment
//     length (where the HLS muxer cuts);
//   - the time offset continues the timeline (plus TimeBase) from that
//     first frame's time, so no EXT-X-DISCONTINUITY is needed;
//   - the start number continues the segment numbers.
func VideoJob(src *media.Source, l media.Ladder, c Chunk, opt Options) encoder.Job {
	l.Audio, l.MoreAudio = nil, nil
	first, seek, dur := Span(src, c)
	j := job(src, l, opt, TimeBase+first)
	j.Input.Start, j.Input.Duration, j.Output.StartNumber = seek, dur, c.FirstSegment
	if opt.Storyboard != nil {
		sb := *opt.Storyboard
		sb.From, sb.Begin = seek, c.Start
		j.Storyboard = &sb
	}
	return j
}

// Span is what chunk c reads of src: first, the time of its first frame
// (the first on the source's frame grid at or after c.Start), and the
// input's seek and duration (0: to the end). The chunk's timeline must
// start at its first frame's real time: a chunk start between two frames
// (a 29.83 fps source at 8 s) would otherwise put that frame up to one
// frame early, and ffmpeg's constant-rate output then duplicated a frame
// to fill the gap, so a DTS repeated at the join. The seek lands a
// quarter frame early, so the first frame is rebased to just after 0 (and
// rounded onto it) whatever the rounding of its time; the span ends a
// quarter frame before the next chunk's first frame likewise.
func Span(src *media.Source, c Chunk) (first, seek, dur float64) {
	if src.Video == nil || src.Video.FPS <= 0 {
		return c.Start, c.Start, c.Duration
	}
	fps := src.Video.FPS
	frame := func(t float64) float64 { return math.Ceil(t*fps-1e-6) / fps }
	first = frame(c.Start)
	if c.Start > 0 {
		seek = first - 0.25/fps
	}
	if c.Duration > 0 {
		dur = frame(c.Start+c.Duration) - 0.25/fps - seek
	}
	return first, seek, dur
}

func job(src *media.Source, l media.Ladder, opt Options, offset float64) encoder.Job {
	return encoder.Job{
		Input:  encoder.Input{URL: opt.Input, Source: src},
		Ladder: l,
		Output: encoder.Output{Kind: encoder.VOD, Dir: opt.OutDir, Revision: opt.Revision, TimeOffset: offset, CMAF: opt.CMAF},
		Preset: opt.Preset, Threads: opt.Threads,
	}
}
