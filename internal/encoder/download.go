package encoder

import (
	"strconv"
	"strings"
	"time"
)

// DownloadArgs returns the ffmpeg arguments that remux an encoded
// rendition into one MP4 file out, with no second encode: video is the
// rung's segments joined into one MPEG-TS file, audio the audio
// rendition's ("" for none; video "" for an audio-only ladder). Only local
// MPEG-TS files are read, or for CMAF renditions (a path ending in .mp4)
// the init segment followed by the segments: a fragmented MP4. The moov atom goes before the media data
// (+faststart), so a browser plays the download while it arrives. It
// returns nil when there is nothing to remux.
func DownloadArgs(video, audio, out string) []string {
	if (video == "" && audio == "") || out == "" {
		return nil
	}
	a := []string{"-hide_banner", "-nostdin", "-loglevel", "error"}
	in := func(path string) {
		if strings.HasSuffix(path, ".mp4") {
			a = append(a, "-protocol_whitelist", "file", "-format_whitelist", "mov,mp4,m4a,3gp,3g2,mj2", "-f", "mp4", "-i", path)
			return
		}
		a = append(a, "-protocol_whitelist", "file", "-format_whitelist", "mpegts", "-f", "mpegts", "-i", path)
	}
	var maps []string
	if video != "" {
		in(video)
		maps = append(maps, "-map", "0:v:0")
	}
	if audio != "" {
		in(audio)
		maps = append(maps, "-map", strconv.Itoa(len(maps)/2)+":a:0")
	}
	a = append(a, maps...)
	return append(a, "-c", "copy", "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", "-y", out)
}

// DownloadBudget is the Budget of a remux of seconds of media: no
// decoder, no encoder, so the base memory and a fraction of an encode's
// CPU time.
func DownloadBudget(seconds float64) Budget {
	return Budget{Memory: budgetBaseMemory, CPU: budgetBaseCPU + time.Duration(max(seconds, 0)*float64(budgetCPUPerSecond))}
}
