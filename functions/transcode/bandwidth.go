package transcode

import (
	"math"
	"time"

	"github.com/hlsflow/hlsflow/internal/hls"
)

// rate is what a rendition costs to stream, from its real segments.
type rate struct {
	peak, average int64 // bits per second
	duration      time.Duration
}

// measure computes a rendition's peak and average bitrate from its
// segments' sizes (bytes, by URI). The peak follows Apple's definition of
// BANDWIDTH: the highest bitrate of any run of consecutive segments lasting
// between half and one and a half target durations, so a short final
// segment does not count alone. The average is total bits over total time.
func measure(p *hls.MediaPlaylist, sizes map[string]int64) rate {
	var total int64
	var dur time.Duration
	for _, s := range p.Segments {
		total += sizes[s.URI]
		dur += s.Duration
	}
	if dur <= 0 {
		return rate{}
	}
	r := rate{duration: dur, average: bitsPerSecond(total, dur)}
	target := time.Duration(p.TargetDuration) * time.Second
	if target <= 0 {
		for _, s := range p.Segments {
			target = max(target, s.Duration)
		}
	}
	lo, hi := target/2, target*3/2
	for i := range p.Segments {
		var n int64
		var d time.Duration
		for _, s := range p.Segments[i:] {
			if d+s.Duration > hi {
				break
			}
			n += sizes[s.URI]
			d += s.Duration
			if d >= lo {
				r.peak = max(r.peak, bitsPerSecond(n, d))
			}
		}
	}
	// A video shorter than half a segment has no qualifying run.
	r.peak = max(r.peak, r.average)
	return r
}

func bitsPerSecond(bytes int64, d time.Duration) int64 {
	return int64(math.Ceil(float64(bytes) * 8 / d.Seconds()))
}
