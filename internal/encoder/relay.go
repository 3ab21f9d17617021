package encoder

import (
	"strconv"
	"time"
)

// RelayArgs returns the ffmpeg arguments that copy an MPEG-TS feed on
// stdin (Options.Stdin), without re-encoding, as FLV to target, an
// rtmp:// or rtmps:// URL: a restream. A network read or write that waits
// longer than stall fails. Progress reports Bytes, what went out.
// protocol are options for target's protocol (-rtmp_tcurl…).
func RelayArgs(target string, stall time.Duration, protocol ...string) []string {
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error",
		"-nostats", "-progress", "pipe:1", "-stats_period", "1",
		// A short probe: the feed is live, and what the probe holds back
		// arrives at the destination late and at once.
		"-analyzeduration", "2000000", "-probesize", "2000000",
		"-f", "mpegts", "-i", "pipe:0",
		"-map", "0:v?", "-map", "0:a?", "-c", "copy",
		"-rw_timeout", strconv.FormatInt(stall.Microseconds(), 10)}
	args = append(args, protocol...)
	return append(args, "-f", "flv", target)
}
