package feed

import (
	"errors"
	"fmt"
	"time"
)

// Prober gathers the first MPEG-TS packets of a feed until ProbeTS can
// describe it, within a byte and a time budget: a sender that never shows
// its tables and H.264 parameters is refused without costing more. The
// UDP and SRT listeners probe this way before a transcoder starts.
type Prober struct {
	// Max bounds the bytes kept; Timeout the time from the first Add.
	Max     int
	Timeout time.Duration

	data    []byte
	nextTry int       // probe when this many bytes are in
	nextAt  time.Time // or at this time
	first   time.Time
}

// Probing again each time the bytes double keeps the cost linear; a
// low-rate feed (audio, a still picture) is probed at least this often.
const (
	firstTry   = 32 << 10
	probeEvery = 500 * time.Millisecond
)

// Add takes whole TS packets that arrived at now (none to only look at
// the clock). It returns ErrNeedMore until the feed is described, then its
// Info; an error wrapping ErrUnsupported refuses the feed (not one the
// ladder can be made from, or no description within Max bytes or Timeout).
func (p *Prober) Add(pkts []byte, now time.Time) (Info, error) {
	if p.first.IsZero() {
		p.first, p.nextTry, p.nextAt = now, firstTry, now.Add(probeEvery)
	}
	timedOut := now.Sub(p.first) >= p.Timeout
	if len(pkts) == 0 && !timedOut {
		return Info{}, ErrNeedMore // nothing new to look at
	}
	p.data = append(p.data, pkts...)
	if !timedOut && len(p.data) < p.nextTry && len(p.data) < p.Max && now.Before(p.nextAt) {
		return Info{}, ErrNeedMore
	}
	if len(p.data) >= p.nextTry {
		p.nextTry *= 2
	}
	p.nextAt = now.Add(probeEvery)
	info, err := ProbeTS(p.data)
	if errors.Is(err, ErrNeedMore) && (len(p.data) >= p.Max || timedOut) {
		err = fmt.Errorf("%w: no feed description (tables and h264 parameters) in %d bytes", ErrUnsupported, len(p.data))
	}
	if err != nil && !errors.Is(err, ErrNeedMore) {
		p.data = nil // refused: nothing more is kept
	}
	if err == nil {
		info.Received = p.first
	}
	return info, err
}

// Bytes is what Add gathered: the start of the feed, for the transcoder.
func (p *Prober) Bytes() []byte { return p.data }
