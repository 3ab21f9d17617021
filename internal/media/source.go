package media

import (
	"errors"
	"time"
)

// ErrUnsupported is wrapped by every refusal of Probe; the rest of the
// message is a sentence meant for the person who uploaded the file.
var ErrUnsupported = errors.New("unsupported input")

// Limits bounds what Probe accepts. A zero field means no limit. The
// picture limits compare the long side with the larger of MaxWidth and
// MaxHeight and the short side with the smaller, so portrait and landscape
// sources are treated alike.
type Limits struct {
	MaxWidth, MaxHeight int
	MaxPixels           int
	MaxDuration         time.Duration
	MaxFPS              float64
	MaxSize             int64
}

// DefaultLimits accepts up to 8K UHD (7680x4320 or 4320x7680, 33.2
// megapixels), 8 hours, 240 fps and 100 GiB: beyond any camera people
// upload from, well short of what would exhaust a Lambda.
var DefaultLimits = Limits{
	MaxWidth:    7680,
	MaxHeight:   4320,
	MaxPixels:   7680 * 4320,
	MaxDuration: 8 * time.Hour,
	MaxFPS:      240,
	MaxSize:     100 << 30,
}

// Source is what Probe learned about an input.
type Source struct {
	FormatName string  // ffprobe's format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
	Demuxer    string  // the allow-listed -f value to force when decoding
	Duration   float64 // seconds
	Size       int64   // bytes, 0 if unknown
	BitRate    int64   // bits/s of the whole file
	Video      *Video  // nil for audio-only sources
	Audio      *Audio  // nil when the source has no audio
	// MoreAudio are the source's audio streams after Audio, in stream
	// order, at most MaxAudioTracks-1: each becomes its own rendition.
	MoreAudio []Audio `json:",omitempty"`
	// Subtitles are the source's text subtitle streams (SubtitleCodecs),
	// at most MaxSubtitleTracks, extracted as WebVTT.
	Subtitles []Subtitle `json:",omitempty"`
}

// MaxAudioTracks and MaxSubtitleTracks bound the streams of one source
// that become renditions: a file with a hundred audio streams gets the
// first eight, not a hundred encodes.
const (
	MaxAudioTracks    = 8
	MaxSubtitleTracks = 8
)

// Subtitle describes a text subtitle stream of the source.
type Subtitle struct {
	Index           int
	Codec           string
	Language, Title string // from the stream's tags; "" when absent or "und"
}

// SubtitleCodecs are the subtitle codecs extracted from a source: text
// formats FFmpeg converts to WebVTT (ASS/SSA keep their text only).
// Picture subtitles (DVD, PGS) are not text and are ignored.
var SubtitleCodecs = map[string]bool{
	"mov_text": true, "subrip": true, "srt": true, "webvtt": true, "ass": true, "ssa": true, "text": true,
}

// Video describes the video stream that will be encoded.
type Video struct {
	Index                   int // stream index in the input
	Codec, Profile, PixFmt  string
	CodedWidth, CodedHeight int
	Rotation                int // degrees clockwise as displayed: 0, 90, 180 or 270
	Width, Height           int // display size, rotation and sample aspect ratio applied
	FPS                     float64
	BitRate                 int64
}

// Audio describes the audio stream that will be encoded.
type Audio struct {
	Index                int
	Codec                string
	Channels, SampleRate int
	BitRate              int64
	// Language and Title are the stream's tags ("" when absent; "und" is
	// absent), for the track picker.
	Language string `json:",omitempty"`
	Title    string `json:",omitempty"`
}
