// Package lambdaspec is what the stack gives each Go Lambda function:
// timeout, default memory and the names of the environment variables it
// sets. The CDK app (infra) takes its timeouts from here and its tests
// check the synthesised environment against Env; `hlsflow up --functions
// zip` runs each function with these and nothing more, so a function that
// reads a variable the stack does not set fails locally first.
package lambdaspec

import (
	"slices"
	"time"
)

// Spec is one function as the stack configures it.
type Spec struct {
	Name    string
	Timeout time.Duration
	// MemoryMB is the stack's default size (infra context transcodeMemory,
	// encodeMemory, apiMemory).
	MemoryMB int
	// TmpMB is its /tmp, the ephemeral storage (infra context
	// ephemeralStorage for the ffmpeg functions; Lambda's 512 otherwise).
	TmpMB int
	// Env names every variable the stack may set for the function.
	// Optional ones are set only by some configurations.
	Env, Optional []string
}

// Names of the variables the stack sets.
const (
	UploadsBucket   = "UPLOADS_BUCKET"
	MediaBucket     = "MEDIA_BUCKET"
	X264Preset      = "X264_PRESET"
	FFmpegPath      = "FFMPEG_PATH"
	FFprobePath     = "FFPROBE_PATH"
	EncodeFunction  = "ENCODE_FUNCTION"
	Parallelism     = "PARALLELISM"
	SourceMinutes   = "SOURCE_MINUTES_PER_DAY"
	EncodeMemory    = "ENCODE_MEMORY_MB" // what status.json charges chunk encodes at
	PerTitle        = "PER_TITLE"        // "on" or "off": per-title ladders
	SegmentFormat   = "SEGMENT_FORMAT"   // "ts" or "cmaf": on-demand segment container
	VideoCodecs     = "VIDEO_CODECS"     // e.g. "h264,hevc,av1": the video codecs of on-demand ladders
	APITokenARN     = "API_TOKEN_SECRET_ARN"
	StreamSecretARN = "STREAM_KEY_SECRET_ARN"
	RTMPURL         = "RTMP_URL"
	SRTURL          = "SRT_URL"
	WHIPURL         = "WHIP_URL"
	PublicLibrary   = "PUBLIC_LIBRARY"
	SignedPlayback  = "SIGNED_PLAYBACK"
	FetchFunction   = "FETCH_FUNCTION"
	FetchAllow      = "FETCH_ALLOW_NETS"
	MaxUploadBytes  = "MAX_UPLOAD_BYTES"
	// Signed playback's keys on AWS (internal/playsign): the secrets'
	// ARNs, never their values, and the CloudFront public key's ID.
	PlaybackKeyARN    = "PLAYBACK_KEY_SECRET_ARN"
	PlaybackTokenARN  = "PLAYBACK_TOKEN_SECRET_ARN"
	PlaybackKeyPairID = "PLAYBACK_KEY_PAIR_ID"
	// WebhookQueue is the SQS FIFO queue of webhook deliveries, which
	// the functions that emit events queue to and the webhooks function
	// sends from.
	WebhookQueue = "WEBHOOK_QUEUE_URL"
)

// Where the FFmpeg layer puts its binaries (layers unpack under /opt).
const (
	LayerFFmpeg  = "/opt/bin/ffmpeg"
	LayerFFprobe = "/opt/bin/ffprobe"
)

// The functions. FFmpegTimeout is Lambda's maximum: a long source must
// not be cut off (README.md "Sizing").
const (
	FFmpegTimeout = 15 * time.Minute
	APITimeout    = 10 * time.Second
	// FetchTimeout is Lambda's maximum too: a large source takes a while
	// to arrive (the fetch itself stops earlier, to record why).
	FetchTimeout = 15 * time.Minute
	// WebhooksTimeout covers one delivery attempt (webhooks.DefaultTimeout)
	// and its bookkeeping in S3.
	WebhooksTimeout = 30 * time.Second
)

var (
	Transcode = Spec{Name: "transcode", Timeout: FFmpegTimeout, MemoryMB: 10240, TmpMB: 2048,
		Env:      []string{UploadsBucket, MediaBucket, X264Preset, FFmpegPath, FFprobePath, EncodeFunction, SourceMinutes, EncodeMemory, PerTitle, SegmentFormat, VideoCodecs},
		Optional: []string{Parallelism, WebhookQueue}}
	Encode = Spec{Name: "encode", Timeout: FFmpegTimeout, MemoryMB: 10240, TmpMB: 2048,
		Env: []string{UploadsBucket, MediaBucket, X264Preset, FFmpegPath, FFprobePath}}
	API = Spec{Name: "api", Timeout: APITimeout, MemoryMB: 256, TmpMB: 512,
		Env:      []string{UploadsBucket, MediaBucket, APITokenARN, StreamSecretARN, RTMPURL},
		Optional: []string{PublicLibrary, SignedPlayback, SRTURL, WHIPURL, FetchFunction, PlaybackKeyARN, PlaybackTokenARN, PlaybackKeyPairID, WebhookQueue}}
	Fetch = Spec{Name: "fetch", Timeout: FetchTimeout, MemoryMB: 512, TmpMB: 512,
		Env:      []string{UploadsBucket, MediaBucket},
		Optional: []string{FetchAllow, MaxUploadBytes}}
	Webhooks = Spec{Name: "webhooks", Timeout: WebhooksTimeout, MemoryMB: 256, TmpMB: 512,
		Env: []string{MediaBucket, WebhookQueue}}
)

// All are the functions in the order the stack creates them.
var All = []Spec{Encode, Transcode, API, Fetch, Webhooks}

// Sets reports whether the stack may set name for the function.
func (s Spec) Sets(name string) bool {
	return slices.Contains(s.Env, name) || slices.Contains(s.Optional, name)
}
