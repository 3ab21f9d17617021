package chunk

import (
	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/media"
)

// Kinds of work an encode request asks for.
const (
	KindVideo = "video" // one chunk of every video rung
	KindAudio = "audio" // the same chunk of every audio track (AudioJob)
)

// Request is the payload the fan-out sends to a Worker, through the
// Lambda Invoke API (JSON) or in-process. The Worker checks the names in
// it but otherwise trusts it: the source was probed and the ladder planned.
type Request struct {
	Kind        string       `json:"kind"`
	ID          string       `json:"id"`     // video id, for logs
	Bucket      string       `json:"bucket"` // the upload
	Key         string       `json:"key"`
	MediaBucket string       `json:"mediaBucket"`
	Prefix      string       `json:"prefix"` // segments go to Prefix + rung + "/" + media.SegmentName(Revision, n)
	Revision    string       `json:"revision,omitempty"`
	CMAF        bool         `json:"cmaf,omitempty"` // fragmented MP4 segments (Options.CMAF)
	Source      media.Source `json:"source"`
	Ladder      media.Ladder `json:"ladder"`
	Chunk       Chunk        `json:"chunk"`
	Preset      string       `json:"preset,omitempty"`
	Threads     int          `json:"threads,omitempty"`
	Attempt     int          `json:"attempt"` // 1 for the first try, for logs and tests
	// Storyboard is the video's storyboard, planned once by the fan-out
	// for the whole duration (KindVideo; omitted for none): each chunk
	// returns the thumbnails of its grid that fall in its span.
	Storyboard *encoder.Storyboard `json:"storyboard,omitempty"`
}

// Thumbnail is one storyboard thumbnail a video chunk made: number Index
// on the video's grid (taken at Index x Interval), a JPEG of the planned
// size. A few KB each, a few hundred at most per video, so they travel
// in the response rather than as objects to clean up.
type Thumbnail struct {
	Index int    `json:"index"`
	JPEG  []byte `json:"jpeg"`
}

// Segment is one uploaded segment.
type Segment struct {
	URI      string  `json:"uri"`      // media.SegmentName, relative to its rendition folder
	Duration float64 `json:"duration"` // seconds, as the HLS muxer measured it
	Size     int64   `json:"size"`     // bytes
}

// Response is what an encode returns once every segment it made is in the
// media bucket.
type Response struct {
	Renditions map[string][]Segment `json:"renditions"` // by rung name ("720p", "audio")
	Seconds    float64              `json:"seconds"`    // wall time of ffmpeg
	// Codecs holds the RFC 6381 codecs of each video rung as encoded (read
	// from its first segment), for the master; best effort.
	Codecs map[string]string `json:"codecs,omitempty"`
	// Thumbnails are the storyboard thumbnails of a video chunk asked for
	// one, in order.
	Thumbnails []Thumbnail `json:"thumbnails,omitempty"`
	// Inits are each rendition's init segment (CMAF), by name: a few
	// hundred bytes, which the fan-out compares across chunks (every
	// chunk's must be the same bytes) and uploads once.
	Inits map[string][]byte `json:"inits,omitempty"`
}
