// Package transcode runs the live ladder: one ffmpeg process per publisher
// run, fed MPEG-TS on stdin, encoding every rung with aligned keyframes
// into HLS segments in a local folder, and a watcher that reports each
// segment once ffmpeg has finished it.
package transcode

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/feed"
	"github.com/hlsflow/hlsflow/internal/media"
)

// DefaultPreset is the x264 preset for live: fast enough for several
// streams per core at 720p.
const DefaultPreset = "veryfast"

// DefaultSegmentSeconds is the live segment length.
const DefaultSegmentSeconds = 2

// Layout of the output folder (see Args).
const (
	PlaylistName   = "index.m3u8"
	SegmentPattern = "seg_%05d.ts"
)

// ArgsOptions tune Args.
type ArgsOptions struct {
	Dir       string // output folder
	Preset    string // x264 preset, default DefaultPreset
	Threads   int    // 0 = ffmpeg's default
	Input     string // default "pipe:0"
	Realtime  bool   // add -re (benchmarks feeding a file)
	ListSize  int    // entries kept in ffmpeg's own playlists, default 30
	NoAudio   bool   // ignore the feed's audio
	InputArgs []string
	// Feed is what the listener probed of this run's feed: its picture
	// bounds the decoder (-max_pixels, see maxPixels). A zero Feed bounds
	// it by media.DefaultLimits.
	Feed feed.Info
}

// maxPixels bounds the pictures ffmpeg decodes from the feed to the
// probed one (media.MaxPixels): a publisher who switches to 8K mid-stream
// has those frames refused by the decoder, never allocated.
func maxPixels(l media.Ladder, info feed.Info) int64 {
	switch {
	case info.VideoCodec != "" && info.Width > 0 && info.Height > 0:
		return media.MaxPixels(feed.Source(info).Video)
	case len(l.Video) == 0:
		return 0 // audio only: no picture to decode
	}
	return int64(media.DefaultLimits.MaxPixels)
}

// Budget is what the live ffmpeg of feed info may use over a run of at
// most d (media.EncodeBudget of the ladder for that long).
func Budget(l media.Ladder, info feed.Info, d time.Duration, preset string) media.Budget {
	if preset == "" {
		preset = DefaultPreset
	}
	src := feed.Source(info)
	if src.Video != nil && src.Video.FPS <= 0 {
		src.Video.FPS = 30
	}
	return media.EncodeBudget(src, l, d.Seconds(), preset)
}

// Args returns the ffmpeg argv (without the binary) that encodes ladder l
// from MPEG-TS on stdin. Each video rung gets the audio muxed in (live
// variants are self-contained, which every player handles), and is written
// under Dir/{rung name}/ as seg_NNNNN.ts plus ffmpeg's own index.m3u8,
// which the watcher reads for segment durations; the playlists players see
// are written by the publisher. Segments appear under their final name only
// when complete (hls_flags temp_file). Keyframes are forced at every
// segment boundary by time, so rungs switch cleanly; zerolatency drops
// B-frames and lookahead, which live does not need and which cost delay.
// A ladder with no video rung (a radio stream) is its audio rendition
// alone, under Dir/{audio name}/. Args returns nil when there is nothing
// to encode.
func Args(l media.Ladder, opt ArgsOptions) []string {
	audio := l.Audio != nil && !opt.NoAudio
	if len(l.Video) == 0 && !audio {
		return nil
	}
	seg := l.SegmentSeconds
	if seg <= 0 {
		seg = DefaultSegmentSeconds
	}
	preset := opt.Preset
	if preset == "" {
		preset = DefaultPreset
	}
	input := opt.Input
	if input == "" {
		input = "pipe:0"
	}
	list := opt.ListSize
	if list <= 0 {
		list = 30
	}
	a := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-progress", "pipe:1", "-nostats"}
	if opt.Realtime {
		a = append(a, "-re")
	}
	a = append(a, opt.InputArgs...)
	a = append(a,
		"-protocol_whitelist", "pipe,file",
		"-max_pixels", strconv.FormatInt(maxPixels(l, opt.Feed), 10),
		"-fflags", "+genpts+discardcorrupt",
		"-analyzeduration", "1500000", "-probesize", "2000000",
		"-f", "mpegts", "-i", input)
	var streamMap []string
	if len(l.Video) == 0 {
		a = append(a, "-map", "0:a:0")
		streamMap = append(streamMap, "a:0,name:"+l.Audio.Name)
	} else {
		a = append(a, "-filter_complex", graph(l.Video))
	}
	for i, r := range l.Video {
		a = append(a, "-map", fmt.Sprintf("[out%d]", i))
		if audio {
			a = append(a, "-map", "0:a:0")
			streamMap = append(streamMap, fmt.Sprintf("v:%d,a:%d,name:%s", i, i, r.Name))
		} else {
			streamMap = append(streamMap, fmt.Sprintf("v:%d,name:%s", i, r.Name))
		}
	}
	if len(l.Video) > 0 {
		topFPS := 0.0
		for _, r := range l.Video {
			topFPS = max(topFPS, r.FPS)
		}
		gop := int(topFPS*seg*2) + 1
		a = append(a,
			"-c:v", "libx264", "-preset", preset, "-tune", "zerolatency",
			"-force_key_frames", "expr:gte(t,n_forced*"+fmtFloat(seg)+")",
			"-forced-idr", "1", "-g", strconv.Itoa(gop), "-sc_threshold", "0", "-flags", "+cgop")
	}
	for i, r := range l.Video {
		s := ":v:" + strconv.Itoa(i)
		a = append(a,
			"-b"+s, strconv.Itoa(r.Bitrate),
			"-maxrate"+s, strconv.Itoa(r.MaxRate),
			"-bufsize"+s, strconv.Itoa(r.BufSize),
			"-profile"+s, r.Profile,
			"-level"+s, r.Level)
	}
	if audio {
		// Publishers' audio timestamps overlap or gap at loops, reconnects
		// and encoder hiccups; resampling with async keeps the output's
		// audio continuous, so segments and recordings never carry
		// non-monotonic timestamps.
		a = append(a, "-af", "aresample=async=1000",
			"-c:a", "aac",
			"-b:a", strconv.Itoa(l.Audio.Bitrate),
			"-ac", strconv.Itoa(l.Audio.Channels),
			"-ar", strconv.Itoa(l.Audio.SampleRate))
	}
	if opt.Threads > 0 {
		a = append(a, "-threads", strconv.Itoa(opt.Threads))
	}
	a = append(a,
		"-map_metadata", "-1",
		"-max_muxing_queue_size", "4096",
		"-f", "hls",
		"-hls_time", fmtFloat(seg),
		"-hls_list_size", strconv.Itoa(list),
		"-hls_segment_type", "mpegts",
		"-hls_flags", "temp_file+independent_segments",
		"-hls_segment_filename", filepath.Join(opt.Dir, "%v", SegmentPattern),
		"-var_stream_map", strings.Join(streamMap, " "),
		filepath.Join(opt.Dir, "%v", PlaylistName),
	)
	return a
}

// graph decodes once and scales each rung from the one above it; frame
// rates are capped where the chain first needs it.
func graph(rungs []media.Rung) string {
	return media.LadderGraph("[0:v:0]", 0, rungs)
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
