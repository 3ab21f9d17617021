package encoder

import (
	"fmt"
	"strconv"
)

// AACFrame is the samples in one AAC-LC frame (packet), and so the
// encoder's priming delay: the first packet ffmpeg's AAC encoder writes
// decodes to these many samples of silence before the input's first.
const AACFrame = 1024

// AudioTrim makes a VOD audio encode one piece of a track encoded in
// pieces (internal/chunk): of every audio output it keeps the AAC packets
// numbered From (0 is the priming packet) up to To (exclusive; 0 keeps
// all that follow), so that frames decoded around the piece's ends, which
// have no neighbour to overlap with, are encoded but never sent. Pad
// (seconds, 0 for none) pads the input with silence to at least that
// length, so that the packets asked for exist even when the track ends
// early.
type AudioTrim struct {
	From, To int
	Pad      float64
}

// audioTrimArgs are the output options of t: apad, and the noise
// bitstream filter dropping packets by number (the packets leave the
// encoder in order, one per AACFrame samples).
func audioTrimArgs(t *AudioTrim) []string {
	if t == nil {
		return nil
	}
	// asetpts: the packets' timestamps count samples from the piece's
	// first. A source's own (WebM's are in milliseconds) jitter by up to
	// half a frame, and the HLS muxer cuts segments on timestamps: a piece
	// one frame long by packet count could look a jitter longer than its
	// segments and end in a one-frame segment of its own, whose number
	// the next piece's first segment also takes.
	filters := "asetpts=STARTPTS+N/SR/TB"
	if t.Pad > 0 {
		filters = "apad=whole_dur=" + fmtFloat(t.Pad) + "," + filters
	}
	a := []string{"-af", filters}
	// The bitstream filter list is comma-separated: commas inside the
	// expression are escaped.
	drop := "lt(n\\," + strconv.Itoa(t.From) + ")"
	if t.To > 0 {
		drop += fmt.Sprintf("+gte(n\\,%d)", t.To)
	}
	if t.From > 0 || t.To > 0 {
		a = append(a, "-bsf:a", "noise=drop="+drop)
	}
	return a
}
