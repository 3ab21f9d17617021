// Package feed is the boundary between the live listeners (RTMP, UDP) and
// the stream lifecycle: a listener claims a stream name, describes what it
// received (Info), and then writes clean MPEG-TS bytes until the publisher
// goes away.
package feed

import (
	"errors"
	"io"
	"time"
)

// ErrBusy is returned by Claim when the stream already has a publisher.
var ErrBusy = errors.New("stream already has a publisher")

// ErrClosed is returned by Claim while the service shuts down.
var ErrClosed = errors.New("ingest is shutting down")

// Info is what a listener learnt about an incoming feed before transcoding.
type Info struct {
	Width, Height int
	FPS           float64 // 0 when the stream does not say
	VideoCodec    string  // "h264", or "vp8" (WHIP, in Matroska)
	Audio         bool
	AudioCodec    string // "aac", "mp3", ...
	// Received is when the feed's first bytes arrived: the wall-clock
	// time of its first frame, which anchors the stream's
	// PROGRAM-DATE-TIME. Zero means when Start was called.
	Received time.Time
	// Format is the container of the bytes Write takes: "" for MPEG-TS,
	// FormatMatroska for WHIP's VP8 (MPEG-TS has no VP8 mapping).
	Format string
}

// FormatMatroska is Info.Format of a Matroska (WebM) feed.
const FormatMatroska = "matroska"

// Hub hands out stream names to publishers.
type Hub interface {
	// Claim reserves name for one publisher; remote describes it for logs.
	// It fails with ErrBusy if someone else publishes to name.
	Claim(name, remote string) (Feed, error)
}

// Feed is one publisher's connection to a stream.
type Feed interface {
	// Start begins transcoding a feed described by info. Nothing is
	// encoded before Start, so a refused publisher costs no ffmpeg.
	Start(info Info) error
	// Write takes MPEG-TS bytes (whole 188-byte packets), or the
	// container Info.Format names. It never blocks on
	// the transcoder or S3; excess is dropped and counted.
	io.Writer
	// End says the publisher is gone (err nil for a clean stop).
	End(err error)
}
