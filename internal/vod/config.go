package vod

import (
	"cmp"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/envconf"
	"github.com/hlsflow/hlsflow/internal/lambdaspec"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/metrics"
	"github.com/hlsflow/hlsflow/internal/store"
)

// Config says where a Pipeline writes and how it encodes. The zero value
// of a field means its default, applied once by New.
type Config struct {
	MediaBucket   string // where vod/{id}/ is written; required
	UploadsBucket string // uploads elsewhere are ignored; "" accepts any bucket but MediaBucket

	FFmpeg, FFprobe string              // default media.FFmpegPath(), media.FFprobePath()
	TmpDir          string              // parent of each job's working directory; default os.TempDir()
	Limits          media.Limits        // what a source may be; default media.DefaultLimits
	Ladder          media.LadderOptions // how the ladder is planned
	Preset          string              // x264 preset; default encoder.DefaultPreset
	// PerTitle plans each source's ladder from a complexity pass on a few
	// slices of it (pertitle.go, media.PlanPerTitle).
	PerTitle bool
	Threads  int // ffmpeg -threads; 0 is ffmpeg's choice
	// SegmentFormat is the container of the segments: media.TS (the
	// default) or media.CMAF (with a DASH manifest too; chunked encodes
	// share one init segment per rung, cmaf.go).
	SegmentFormat media.SegmentFormat
	// Codecs are the extra video codecs (HEVC, AV1) of every upload that
	// does not choose its own (codecs.go); a video with any is written as
	// CMAF whatever SegmentFormat says.
	Codecs []media.Codec

	// SourceMinutesPerDay is the daily quota of source minutes (see
	// quota.go); 0 is no quota.
	SourceMinutesPerDay float64

	// Margin is how long before the invocation's deadline ffmpeg is
	// stopped, so that the failure can still be recorded; 0 is a tenth of
	// the time left, between encoder.KillGrace + 3 s and 30 s.
	Margin        time.Duration
	ProgressEvery time.Duration // status.json progress at most this often; default 5 s
	Poll          time.Duration // how often finished segments are looked for; default 200 ms

	// Chunked encoding (fanout.go), when Deps.Chunks is set: a source of at
	// least MinChunks (2) chunks of ChunkSeconds (32) is encoded by Chunks,
	// at most Parallelism (10) chunks at once, each tried ChunkAttempts (3)
	// times, RetryWait (1 s) more between each. The first chunk lasts
	// FirstChunkSeconds (one segment) so that playback can start early.
	ChunkSeconds, FirstChunkSeconds       float64
	MinChunks, Parallelism, ChunkAttempts int
	RetryWait                             time.Duration
	// EncodeSpeed (source seconds per second for the whole ladder, as
	// measured) and EncodeTimeout (the encode function's timeout) shorten
	// chunks so each ends well inside the timeout; 0 is not applied.
	EncodeSpeed   float64
	EncodeTimeout time.Duration
	// NoProgressive writes playlists only when every chunk is in, instead
	// of EVENT playlists as the leading chunks arrive.
	NoProgressive bool
	// NoDownload makes no MP4 download (download.go). Downloads are on by
	// default: a remux of segments already in the bucket costs seconds of
	// this function and the top rung's size in storage, no encode.
	NoDownload bool

	// MemoryMB and EncodeMemoryMB are the transcode and encode functions'
	// memory sizes, which a job's cost is charged at (GB-seconds); default
	// lambdaspec.Transcode.MemoryMB and lambdaspec.Encode.MemoryMB, as the stack deploys.
	MemoryMB, EncodeMemoryMB int

	// RetireAfter is how long a replaced video's files are kept after the
	// new version is ready (see replace.go); default DefaultRetireAfter,
	// negative is at once.
	RetireAfter time.Duration
}

// Deps are the clients a Pipeline or Worker uses.
type Deps struct {
	Store *store.Store
	// Chunks encodes the chunks of long sources: a *Worker in this
	// process, or a LambdaEncoder. Without it every source is encoded here
	// with one ffmpeg.
	Chunks ChunkEncoder
	Log    *slog.Logger // default slog.Default()
	// Metrics receives the jobs' metrics; nil records none.
	Metrics *metrics.Recorder
	// Events receives videos' created, ready and failed events
	// (events.go); nil sends none.
	Events Events
}

// Defaults of the chunked path, and of the progress updates.
const (
	DefaultChunkSeconds  = 32 // 8 segments of 4 s
	DefaultChunkAttempts = 3
	DefaultMinChunks     = 2
	defaultParallelism   = 10
	defaultProgressEvery = 5 * time.Second
	defaultPoll          = 200 * time.Millisecond
)

// withDefaults fills the zero values of c.
func (c Config) withDefaults() Config {
	c.FFmpeg = cmp.Or(c.FFmpeg, media.FFmpegPath())
	c.FFprobe = cmp.Or(c.FFprobe, media.FFprobePath())
	c.TmpDir = cmp.Or(c.TmpDir, os.TempDir())
	if c.Limits == (media.Limits{}) {
		c.Limits = media.DefaultLimits
	}
	c.Preset = cmp.Or(c.Preset, encoder.DefaultPreset)
	c.SegmentFormat = cmp.Or(c.SegmentFormat, media.TS)
	c.ProgressEvery = cmp.Or(c.ProgressEvery, defaultProgressEvery)
	c.Poll = cmp.Or(c.Poll, defaultPoll)
	c.ChunkSeconds = cmp.Or(c.ChunkSeconds, DefaultChunkSeconds)
	c.MinChunks = cmp.Or(c.MinChunks, DefaultMinChunks)
	c.Parallelism = cmp.Or(c.Parallelism, defaultParallelism)
	c.ChunkAttempts = cmp.Or(c.ChunkAttempts, DefaultChunkAttempts)
	c.RetryWait = cmp.Or(c.RetryWait, time.Second)
	c.MemoryMB = cmp.Or(c.MemoryMB, lambdaspec.Transcode.MemoryMB)
	c.EncodeMemoryMB = cmp.Or(c.EncodeMemoryMB, lambdaspec.Encode.MemoryMB)
	switch {
	case c.RetireAfter == 0:
		c.RetireAfter = DefaultRetireAfter
	case c.RetireAfter < 0:
		c.RetireAfter = 0
	}
	return c
}

func (d Deps) logger() *slog.Logger { return cmp.Or(d.Log, slog.Default()) }

// ConfigFromEnv reads the settings the Lambda environment gives (getenv is
// os.Getenv there):
//
//	MEDIA_BUCKET       where vod/ is written (required by New)
//	UPLOADS_BUCKET     uploads elsewhere are ignored
//	TMPDIR             parent of the working directories (default /tmp)
//	X264_PRESET        x264 preset (default veryfast)
//	SOURCE_MINUTES_PER_DAY  daily quota of source minutes, UTC days (default 0: none)
//	FFMPEG_THREADS     ffmpeg -threads (default: ffmpeg's choice)
//	LADDER_RUNGS       comma-separated rung names to keep, e.g. "720p,360p"
//	MAX_DURATION       longest accepted source, a Go duration such as "2h"
//	MAX_SIZE_MB        largest accepted source in MiB
//	CHUNK_SECONDS      chunk length, rounded down to whole segments (default 32)
//	FIRST_CHUNK_SECONDS  first chunk's length, for an early start (default 4)
//	MIN_CHUNKS         shorter sources use one ffmpeg here (default 2)
//	PARALLELISM        chunk encodes at once (default 10)
//	CHUNK_ATTEMPTS     tries per chunk before the video fails (default 3)
//	ENCODE_SPEED       measured ladder speed, source s per wall s (optional)
//	ENCODE_TIMEOUT     the encode function's timeout, e.g. 15m (optional)
//	PROGRESSIVE        "off" publishes playlists only when complete
//	DOWNLOAD_MP4       "off" makes no MP4 download
//	PER_TITLE          "off" gives every source the fixed ladder (default "on": per-title ladders)
//	SEGMENT_FORMAT     "ts" (default) or "cmaf": fragmented MP4 segments with EXT-X-MAP
//	VIDEO_CODECS       video codecs beside h264, e.g. "h264,hevc,av1" (default h264 only)
//	AWS_LAMBDA_FUNCTION_MEMORY_SIZE  this function's memory in MB (Lambda sets it)
//	ENCODE_MEMORY_MB   the encode function's memory in MB
//
// FFMPEG_PATH and FFPROBE_PATH are read by New (through media); the
// encode function's name (ENCODE_FUNCTION) by the bootstrap that builds
// the LambdaEncoder.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	e := envconf.New(getenv)
	c := Config{
		MediaBucket: e.String("MEDIA_BUCKET", ""), UploadsBucket: e.String("UPLOADS_BUCKET", ""), TmpDir: e.String("TMPDIR", ""),
		Limits: media.DefaultLimits, NoProgressive: e.String("PROGRESSIVE", "") == "off",
		Preset:              e.String("X264_PRESET", ""),
		SourceMinutesPerDay: e.Float("SOURCE_MINUTES_PER_DAY", 0, false),
		Threads:             e.Int("FFMPEG_THREADS", 0, 0),
		EncodeTimeout:       e.Duration("ENCODE_TIMEOUT", 0, time.Nanosecond),
		MinChunks:           e.Int("MIN_CHUNKS", 0, 1), Parallelism: e.Int("PARALLELISM", 0, 1),
		ChunkAttempts:  e.Int("CHUNK_ATTEMPTS", 0, 1),
		MemoryMB:       e.Int("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 0, 1),
		EncodeMemoryMB: e.Int(lambdaspec.EncodeMemory, 0, 1),
		ChunkSeconds:   e.Float("CHUNK_SECONDS", 0, true), FirstChunkSeconds: e.Float("FIRST_CHUNK_SECONDS", 0, true),
		EncodeSpeed: e.Float("ENCODE_SPEED", 0, true),
		NoDownload:  e.String("DOWNLOAD_MP4", "") == "off",
	}
	if c.Preset != "" && !encoder.ValidPreset(c.Preset) {
		e.Fail("X264_PRESET", c.Preset, "want an x264 preset such as veryfast")
	}
	switch v := e.String("PER_TITLE", "on"); v {
	case "on":
		c.PerTitle = true
	case "off":
	default:
		e.Fail("PER_TITLE", v, "want on or off")
	}
	if v := e.String(lambdaspec.SegmentFormat, ""); v != "" {
		f, err := media.ParseSegmentFormat(v)
		if err != nil {
			e.Fail(lambdaspec.SegmentFormat, v, "want ts or cmaf")
		}
		c.SegmentFormat = f
	}
	if v := e.String(lambdaspec.VideoCodecs, ""); v != "" {
		cs, err := media.ParseCodecList(v)
		if err != nil {
			e.Fail(lambdaspec.VideoCodecs, v, "want a comma-separated list of h264, hevc, av1")
		}
		c.Codecs = cs
	}
	if v := e.String("LADDER_RUNGS", ""); v != "" {
		c.Ladder.Rungs = strings.Split(v, ",")
	}
	c.Limits.MaxDuration = e.Duration("MAX_DURATION", c.Limits.MaxDuration, time.Nanosecond)
	if mb := e.Int("MAX_SIZE_MB", 0, 1); mb > 0 {
		c.Limits.MaxSize = int64(mb) << 20
	}
	if err := e.Err(); err != nil {
		return Config{}, err
	}
	return c, nil
}
