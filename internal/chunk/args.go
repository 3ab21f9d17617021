package chunk

import (
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
	// Storyboard, when set, has a video chunk also write the thumbnails
	// of the whole video's storyboard grid that fall in its span.
	Storyboard *encoder.Storyboard
}

// VideoJob is the encode of chunk c of every video rung of l into
// OutDir/{rung}/seg_[REV_]NNNNN.ts and OutDir/{rung}/index.m3u8. What
// makes chunks join seamlessly:
//   - the input span starts at c.Start (a fast seek that, since the video
//     is re-encoded, cuts at the exact frame) and lasts c.Duration, which
//     ends the chunk on a segment boundary;
//   - keyframes are forced at chunk-relative multiples of the segment
//     length, which are source multiples too because c.Start is one;
//   - the time offset continues the timeline (plus TimeBase), so no
//     EXT-X-DISCONTINUITY is needed;
//   - the start number continues the segment numbers.
func VideoJob(src *media.Source, l media.Ladder, c Chunk, opt Options) encoder.Job {
	l.Audio, l.MoreAudio = nil, nil
	j := job(src, l, opt, TimeBase+c.Start)
	j.Input.Start, j.Input.Duration, j.Output.StartNumber = c.Start, c.Duration, c.FirstSegment
	if opt.Storyboard != nil {
		sb := *opt.Storyboard
		sb.From = c.Start
		j.Storyboard = &sb
	}
	return j
}

// AudioJob is the encode of the whole audio rendition (and of every
// further track, l.MoreAudio) into OutDir/{name}/ on the same timeline as the video chunks. Audio
// is never chunked: AAC frames do not fall on segment boundaries and each
// encode would restart with priming samples, which is audible.
func AudioJob(src *media.Source, l media.Ladder, opt Options) encoder.Job {
	l.Video, l.Extra = nil, nil
	return job(src, l, opt, TimeBase)
}

func job(src *media.Source, l media.Ladder, opt Options, offset float64) encoder.Job {
	return encoder.Job{
		Input:  encoder.Input{URL: opt.Input, Source: src},
		Ladder: l,
		Output: encoder.Output{Kind: encoder.VOD, Dir: opt.OutDir, Revision: opt.Revision, TimeOffset: offset},
		Preset: opt.Preset, Threads: opt.Threads,
	}
}
