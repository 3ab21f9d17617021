package chunk

import (
	"math"

	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/media"
)

// AudioPreroll is how many AAC frames (about 85 ms at 48 kHz) an audio
// chunk encodes before its first kept frame and after its last, and then
// drops. AAC frames overlap their neighbours (MDCT): a frame decoded from
// a cold start, the source decoder's or the encoder's, fades in, and the
// last frame before a hard stop fades out, so independently encoded
// pieces click at every join. With two frames of pre- and post-roll the
// frames on either side of a join are each encoded from the real signal
// around it and overlap as in one encode (measured: no click on a 1 kHz
// tone, TestChunkedAudioIsContinuous); four leave a margin.
const AudioPreroll = 4

// AudioJob is the encode of chunk c of the audio rendition (and of every
// further track, l.MoreAudio) into OutDir/{name}/, on the video chunks'
// timeline and segment numbers, such that the chunks' packets join into
// the track one encode of the whole would make: continuous, without
// priming silence at the joins, the same number of samples. last says c
// runs to the end of the source.
//
// The track is cut on a grid of AAC frames (encoder.AACFrame samples at
// the ladder's sample rate) counted from the start of the source: a chunk
// owns the frames whose end falls within its span, so a frame that
// straddles a chunk boundary (4 s is 187.5 frames at 48 kHz) belongs to
// exactly one chunk, and every audio segment boundary falls within a frame
// of the video's, where a whole encode cuts it (the HLS muxer counts
// segments from the priming packet, a frame early). The chunk's input
// starts AudioPreroll frames before its first frame, on the grid (so the
// encoder's frames are the grid's), and ends AudioPreroll frames after its
// last; encoder.AudioTrim drops the packets of that pre- and post-roll,
// and of the priming, except in the first chunk, which starts the track
// like a whole encode.
func AudioJob(src *media.Source, l media.Ladder, c Chunk, last bool, opt Options) encoder.Job {
	l.Video, l.Extra = nil, nil
	if l.Audio == nil || l.Audio.SampleRate <= 0 {
		return job(src, l, opt, TimeBase) // nothing to encode: no arguments
	}
	frame := float64(encoder.AACFrame) / float64(l.Audio.SampleRate) // seconds
	// The first grid frame that ends at or after t (a chunk boundary is a
	// whole number of samples, so at most rounding away from one).
	grid := func(t float64) int { return max(0, int(math.Ceil(t/frame-1e-6))-1) }
	first := grid(c.Start)
	from := max(0, first-AudioPreroll) // the frame the input starts at
	trim := &encoder.AudioTrim{}
	if c.Start > 0 {
		// Packet n of the encode decodes to frame from+n-1: packet 0 is
		// the priming.
		trim.From = first - from + 1
	}
	j := job(src, l, opt, TimeBase+float64(from)*frame)
	j.Input.Start = float64(from) * frame
	j.Output.StartNumber = c.FirstSegment
	if last {
		// Read to the end, as a whole encode would; pad only so that a
		// track ending before this chunk still gives it a packet.
		trim.Pad = float64(trim.From+1) * frame
	} else {
		end := grid(c.Start + c.Duration)
		trim.To = end - from + 1
		j.Input.Duration = float64(end-from+AudioPreroll) * frame
		trim.Pad = j.Input.Duration // a track that ends early is padded with silence to the chunk's end
	}
	j.Output.AudioTrim = trim
	return j
}
