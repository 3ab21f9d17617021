package hls

import (
	"math"
	"time"
)

// Rate is what a rendition costs to stream, from its real segments.
type Rate struct {
	Peak, Average int64 // bits per second
	Duration      time.Duration
}

// Measure computes a rendition's peak and average bitrate from its
// segments' sizes (bytes, by URI). The peak follows Apple's definition of
// BANDWIDTH: the highest bitrate of any run of consecutive segments lasting
// between half and one and a half target durations, so a short final
// segment does not count alone. The average is total bits over total time.
func Measure(p *MediaPlaylist, sizes map[string]int64) Rate {
	var total int64
	var dur time.Duration
	for _, s := range p.Segments {
		total += sizes[s.URI]
		dur += s.Duration
	}
	if dur <= 0 {
		return Rate{}
	}
	r := Rate{Duration: dur, Average: bitsPerSecond(total, dur)}
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
				r.Peak = max(r.Peak, bitsPerSecond(n, d))
			}
		}
	}
	// A video shorter than half a segment has no qualifying run.
	r.Peak = max(r.Peak, r.Average)
	return r
}

func bitsPerSecond(bytes int64, d time.Duration) int64 {
	return int64(math.Ceil(float64(bytes) * 8 / d.Seconds()))
}
