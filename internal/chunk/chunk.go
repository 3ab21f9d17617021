// Package chunk plans how a long video is split for parallel encoding and
// defines the work order between internal/vod's fan-out and the Worker
// that encodes one piece (the encode Lambda): the request, the response
// and the encodes that make independently encoded chunks join seamlessly
// in MPEG-TS or CMAF.
package chunk

import (
	"math"
	"time"
)

// Chunk is a span of the source made of whole segments, encoded by one
// Worker call (one encode Lambda invocation).
type Chunk struct {
	Index        int     `json:"index"`
	Start        float64 `json:"start"`        // seconds into the source, a multiple of the segment length
	Duration     float64 `json:"duration"`     // seconds; 0 for the last chunk, which runs to the end
	FirstSegment int     `json:"firstSegment"` // sequence number of its first segment (media.SegmentName)
}

// Plan splits a source of duration seconds into chunks of chunkSeconds
// (rounded down to whole segments of segSeconds, at least one), except the
// first, which lasts firstSeconds (rounded likewise; 0 means chunkSeconds)
// so that playback can start before a whole chunk is encoded. The last
// chunk takes the remainder and runs to the end of the source, so frames
// past the stated duration are never lost; a remainder shorter than one
// segment is merged into the chunk before it rather than encoded alone.
func Plan(duration, segSeconds, chunkSeconds, firstSeconds float64) []Chunk {
	if duration <= 0 || segSeconds <= 0 {
		return nil
	}
	segs := func(sec float64) int { return max(1, int(math.Floor(sec/segSeconds+1e-9))) }
	perChunk, first := segs(chunkSeconds), segs(chunkSeconds)
	if firstSeconds > 0 {
		first = min(segs(firstSeconds), perChunk)
	}
	var cs []Chunk
	for seg := 0; ; {
		n := perChunk
		if len(cs) == 0 {
			n = first
		}
		start := float64(seg) * segSeconds
		cs = append(cs, Chunk{Index: len(cs), Start: start, Duration: float64(n) * segSeconds, FirstSegment: seg})
		seg += n
		// Stop when what is left is less than a segment: it belongs to
		// this, the last chunk.
		if duration-float64(seg)*segSeconds < segSeconds-1e-9 {
			break
		}
	}
	cs[len(cs)-1].Duration = 0
	return cs
}

// Seconds picks the chunk length: want (the configured size), shortened
// so that encoding one chunk at speed (source seconds encoded per second
// of wall time for the whole ladder, as measured) takes at most half of
// budget (the encode function's timeout), and rounded down to whole
// segments. speed <= 0 or budget <= 0 leaves want as is.
func Seconds(want, segSeconds, speed float64, budget time.Duration) float64 {
	if speed > 0 && budget > 0 {
		want = min(want, speed*budget.Seconds()/2)
	}
	return max(1, math.Floor(want/segSeconds+1e-9)) * segSeconds
}

// Worth says whether chunking pays for a source of duration seconds: at
// least minChunks chunks of chunkSeconds; below that one process is faster.
func Worth(duration, chunkSeconds float64, minChunks int) bool {
	return chunkSeconds > 0 && duration >= float64(max(minChunks, 2))*chunkSeconds
}
