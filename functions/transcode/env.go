package transcode

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Configure applies the optional settings found through getenv (os.Getenv
// in the Lambda):
//
//	TMPDIR             parent of the working directories (default /tmp)
//	X264_PRESET        x264 preset (default veryfast)
//	FFMPEG_THREADS     ffmpeg -threads (default: ffmpeg's choice)
//	LADDER_RUNGS       comma-separated rung names to keep, e.g. "720p,360p"
//	MAX_DURATION       longest accepted source, a Go duration such as "2h"
//	MAX_SIZE_MB        largest accepted source in MiB
//
// FFMPEG_PATH and FFPROBE_PATH are read by New (through media).
func (h *Handler) Configure(getenv func(string) string) error {
	if v := getenv("TMPDIR"); v != "" {
		h.TmpDir = v
	}
	if v := getenv("X264_PRESET"); v != "" {
		h.Preset = v
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
	return nil
}
