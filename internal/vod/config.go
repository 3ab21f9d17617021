package vod

import (
	"cmp"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/encoder"
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
//	PER_TITLE          "off" gives every source the fixed ladder (default "on": per-title ladders)
//	AWS_LAMBDA_FUNCTION_MEMORY_SIZE  this function's memory in MB (Lambda sets it)
//	ENCODE_MEMORY_MB   the encode function's memory in MB
//
// FFMPEG_PATH and FFPROBE_PATH are read by New (through media); the
// encode function's name (ENCODE_FUNCTION) by the bootstrap that builds
// the LambdaEncoder.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		MediaBucket: getenv("MEDIA_BUCKET"), UploadsBucket: getenv("UPLOADS_BUCKET"), TmpDir: getenv("TMPDIR"),
		Limits: media.DefaultLimits, NoProgressive: getenv("PROGRESSIVE") == "off",
	}
	if v := getenv("X264_PRESET"); v != "" {
		if !encoder.ValidPreset(v) {
			return Config{}, fmt.Errorf("X264_PRESET %q: want an x264 preset such as veryfast", v)
		}
		c.Preset = v
	}
	if v := getenv("SOURCE_MINUTES_PER_DAY"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return Config{}, fmt.Errorf("SOURCE_MINUTES_PER_DAY %q: want a number of minutes (0: no quota)", v)
		}
		c.SourceMinutesPerDay = f
	}
	if v := getenv("FFMPEG_THREADS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return Config{}, fmt.Errorf("FFMPEG_THREADS %q: want a number of threads", v)
		}
		c.Threads = n
	}
	switch v := getenv("PER_TITLE"); v {
	case "", "on":
		c.PerTitle = true
	case "off":
	default:
		return Config{}, fmt.Errorf("PER_TITLE %q: want on or off", v)
	}
	if v := getenv("LADDER_RUNGS"); v != "" {
		c.Ladder.Rungs = strings.Split(v, ",")
	}
	durations := []struct {
		name, example string
		dst           *time.Duration
	}{{"MAX_DURATION", "2h", &c.Limits.MaxDuration}, {"ENCODE_TIMEOUT", "15m", &c.EncodeTimeout}}
	for _, e := range durations {
		if v := getenv(e.name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return Config{}, fmt.Errorf("%s %q: want a duration such as %s", e.name, v, e.example)
			}
			*e.dst = d
		}
	}
	if v := getenv("MAX_SIZE_MB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return Config{}, fmt.Errorf("MAX_SIZE_MB %q: want a positive number", v)
		}
		c.Limits.MaxSize = n << 20
	}
	ints := []struct {
		name string
		dst  *int
	}{{"MIN_CHUNKS", &c.MinChunks}, {"PARALLELISM", &c.Parallelism}, {"CHUNK_ATTEMPTS", &c.ChunkAttempts},
		{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", &c.MemoryMB}, {lambdaspec.EncodeMemory, &c.EncodeMemoryMB}}
	for _, e := range ints {
		if v := getenv(e.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return Config{}, fmt.Errorf("%s %q: want a positive number", e.name, v)
			}
			*e.dst = n
		}
	}
	floats := []struct {
		name string
		dst  *float64
	}{{"CHUNK_SECONDS", &c.ChunkSeconds}, {"FIRST_CHUNK_SECONDS", &c.FirstChunkSeconds}, {"ENCODE_SPEED", &c.EncodeSpeed}}
	for _, e := range floats {
		if v := getenv(e.name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 {
				return Config{}, fmt.Errorf("%s %q: want a positive number", e.name, v)
			}
			*e.dst = f
		}
	}
	return c, nil
}
