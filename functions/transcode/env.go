package transcode

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/encoder"
)

// Configure applies the optional settings found through getenv (os.Getenv
// in the Lambda):
//
//	TMPDIR             parent of the working directories (default /tmp)
//	X264_PRESET        x264 preset (default veryfast)
//	SOURCE_MINUTES_PER_DAY  daily quota of source minutes, UTC days (default 0: none)
//	FFMPEG_THREADS     ffmpeg -threads (default: ffmpeg's choice)
//	LADDER_RUNGS       comma-separated rung names to keep, e.g. "720p,360p"
//	MAX_DURATION       longest accepted source, a Go duration such as "2h"
//	MAX_SIZE_MB        largest accepted source in MiB
//	ENCODE_FUNCTION    the encode Lambda's name; enables chunked encoding
//	                   (the caller sets Invoker)
//	CHUNK_SECONDS      chunk length, rounded down to whole segments (default 32)
//	FIRST_CHUNK_SECONDS  first chunk's length, for an early start (default 4)
//	MIN_CHUNKS         shorter sources use one ffmpeg here (default 2)
//	PARALLELISM        encode invocations at once (default 10)
//	CHUNK_ATTEMPTS     tries per chunk before the video fails (default 3)
//	ENCODE_SPEED       measured ladder speed, source s per wall s (optional)
//	ENCODE_TIMEOUT     the encode function's timeout, e.g. 15m (optional)
//	PROGRESSIVE        "off" publishes playlists only when complete
//
// FFMPEG_PATH and FFPROBE_PATH are read by New (through media).
func (h *Handler) Configure(getenv func(string) string) error {
	if v := getenv("TMPDIR"); v != "" {
		h.TmpDir = v
	}
	if v := getenv("X264_PRESET"); v != "" {
		if !encoder.ValidPreset(v) {
			return fmt.Errorf("X264_PRESET %q: want an x264 preset such as veryfast", v)
		}
		h.Preset = v
	}
	if v := getenv("SOURCE_MINUTES_PER_DAY"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("SOURCE_MINUTES_PER_DAY %q: want a number of minutes (0: no quota)", v)
		}
		h.SourceMinutesPerDay = f
	}
	if v := getenv("FFMPEG_THREADS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("FFMPEG_THREADS %q: want a number of threads", v)
		}
		h.Threads = n
	}
	if v := getenv("LADDER_RUNGS"); v != "" {
		h.Ladder.Rungs = strings.Split(v, ",")
	}
	if v := getenv("MAX_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("MAX_DURATION %q: want a duration such as 2h", v)
		}
		h.Limits.MaxDuration = d
	}
	if v := getenv("MAX_SIZE_MB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("MAX_SIZE_MB %q: want a positive number", v)
		}
		h.Limits.MaxSize = n << 20
	}
	h.EncodeFunction = getenv("ENCODE_FUNCTION")
	ints := []struct {
		name string
		dst  *int
	}{{"MIN_CHUNKS", &h.MinChunks}, {"PARALLELISM", &h.Parallelism}, {"CHUNK_ATTEMPTS", &h.ChunkAttempts}}
	for _, e := range ints {
		if v := getenv(e.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return fmt.Errorf("%s %q: want a positive number", e.name, v)
			}
			*e.dst = n
		}
	}
	floats := []struct {
		name string
		dst  *float64
	}{{"CHUNK_SECONDS", &h.ChunkSeconds}, {"FIRST_CHUNK_SECONDS", &h.FirstChunkSeconds}, {"ENCODE_SPEED", &h.EncodeSpeed}}
	for _, e := range floats {
		if v := getenv(e.name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 {
				return fmt.Errorf("%s %q: want a positive number", e.name, v)
			}
			*e.dst = f
		}
	}
	if v := getenv("ENCODE_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("ENCODE_TIMEOUT %q: want a duration such as 15m", v)
		}
		h.EncodeTimeout = d
	}
	h.NoProgressive = getenv("PROGRESSIVE") == "off"
	return nil
}
