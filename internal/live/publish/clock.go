package publish

import (
	"sync"
	"time"
)

// Clock gives one publisher run's segments their PROGRAM-DATE-TIME: the
// wall-clock time the run's first frame was received, plus how far the
// segment's first frame is from it on the feed's own timeline. Summing
// segment durations instead accumulates their rounding and misses what
// never reached the playlist; taking each segment's time from the
// segment keeps the PDT on the feed's clock for hours. A reconnect is a
// new run, so a new Clock: it re-anchors.
//
// The first segment's first frame stands for the first frame received:
// a feed joined mid-GOP (UDP) is decoded from its first keyframe, so its
// PDTs are late by that much, a constant that does not grow.
type Clock struct {
	received time.Time

	mu    sync.Mutex
	first time.Duration
	set   bool
}

// NewClock returns the Clock of a run whose first frame arrived at
// received.
func NewClock(received time.Time) *Clock { return &Clock{received: received} }

// PDT is the wall-clock time of the frame presented at pts on the run's
// timeline; the first pts it is given is the run's first frame.
func (c *Clock) PDT(pts time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.set {
		c.first, c.set = pts, true
	}
	return c.received.Add(pts - c.first)
}
