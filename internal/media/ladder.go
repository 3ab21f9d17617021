package media

import "errors"

// Rung is one video rendition of the ladder.
type Rung struct {
	Name                      string // "1080p", "720p"...: the short side
	Width, Height             int
	FPS                       float64
	Bitrate, MaxRate, BufSize int    // bits/s
	Profile, Level            string // "high", "4.0"
}

// Codecs returns the RFC 6381 codec string for the rung, e.g. "avc1.64001f".
func (r Rung) Codecs() string { return "avc1.64001f" }

// AudioRung is the audio rendition.
type AudioRung struct {
	Name                          string // "audio"
	Bitrate, Channels, SampleRate int
}

// Codecs returns the RFC 6381 codec string of AAC-LC.
func (a AudioRung) Codecs() string { return "mp4a.40.2" }

// Ladder is the set of renditions to encode.
type Ladder struct {
	Video          []Rung
	Audio          *AudioRung
	SegmentSeconds float64
}

// LadderOptions tune PlanLadder.
type LadderOptions struct {
	SegmentSeconds float64  // default 4
	MaxRungs       int      // 0 = no limit
	Rungs          []string // optional subset by name
}

// PlanLadder chooses the renditions for src.
func PlanLadder(src *Source, opt LadderOptions) (Ladder, error) {
	return Ladder{}, errors.New("plan ladder: not implemented")
}
