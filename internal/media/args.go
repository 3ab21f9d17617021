package media

import (
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// EncodeOptions tune LadderArgs.
type EncodeOptions struct {
	Input    string        // local path or http(s) URL, as given to Probe
	OutDir   string        // renditions are written under it, see LadderArgs
	Preset   string        // x264 preset, default "veryfast"
	Threads  int           // -threads for every encoder; 0 = 1.5 per CPU shared out between rungs by cost (rungThreads)
	Progress bool          // add -progress pipe:1 (parsed by Run)
	Duration time.Duration // encode only the first Duration of the input; 0 = all
	Revision string        // goes into segment names (SegmentPattern); lower-case letters and digits
}

// DefaultPreset is the x264 preset when EncodeOptions leaves it empty.
const DefaultPreset = "veryfast"

// LadderArgs returns the ffmpeg argv (without the binary name) that encodes
// the whole ladder in one process: one decode, a filter graph that scales
// each rung from the one above it, one x264 encode per rung, and AAC.
//
// Layout under OutDir: one folder per video rung named after it
// (720p/index.m3u8, 720p/seg_00000.ts, ...; seg_REV_00000.ts with
// opt.Revision) and audio/index.m3u8 with audio/seg_00000.ts for the audio
// rendition. Video renditions carry no
// audio; no master playlist is written (the caller writes it from the
// Ladder). Segments are MPEG-TS, SegmentSeconds long, each starting with an
// IDR frame at the same time on every rung (keyframes forced at multiples of
// SegmentSeconds, closed GOP, no scene-cut keyframes).
//
// Completeness guarantee (checked against ffmpeg 5.1 by TestSegmentsAppearComplete):
// a segment is written as seg_NNNNN.ts.tmp and renamed to seg_NNNNN.ts only
// once complete, so a watcher may upload and delete any file whose name
// ends in ".ts" as soon as it appears. index.m3u8 is complete when ffmpeg
// has exited successfully.
//
// The input is read with -protocol_whitelist restricted to what it needs,
// -format_whitelist set to the allow-listed demuxers and -f src.Demuxer, so
// ffmpeg cannot pick another demuxer (such as a playlist that would open
// the files or URLs it names). LadderArgs returns nil when the ladder has
// no rendition or the revision is not valid.
func LadderArgs(src *Source, l Ladder, opt EncodeOptions) []string {
	if src == nil || !ValidRevision(opt.Revision) || (len(l.Video) == 0 && l.Audio == nil) ||
		(len(l.Video) > 0 && src.Video == nil) || (l.Audio != nil && src.Audio == nil) {
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
	a := []string{"-hide_banner", "-nostdin", "-loglevel", "error"}
	if opt.Progress {
		a = append(a, "-progress", "pipe:1", "-nostats")
	}
	a = append(a, InputArgs(src, opt.Input, 0, opt.Duration.Seconds())...)

	var streamMap []string
	if len(l.Video) > 0 {
		a = append(a, "-filter_complex", ladderGraph(src.Video, l.Video))
		for i := range l.Video {
			a = append(a, "-map", fmt.Sprintf("[out%d]", i))
		}
	}
	if l.Audio != nil {
		a = append(a, "-map", fmt.Sprintf("0:%d", src.Audio.Index))
	}
	if len(l.Video) > 0 {
		a = append(a, x264Args(l.Video, seg, preset)...)
		threads := rungThreads(l.Video, numCPU())
		for i, r := range l.Video {
			a = append(a, rungArgs(i, r)...)
			if opt.Threads == 0 {
				a = append(a, fmt.Sprintf("-threads:v:%d", i), strconv.Itoa(threads[i]))
			}
			streamMap = append(streamMap, fmt.Sprintf("v:%d,name:%s", i, r.Name))
		}
	}
	if l.Audio != nil {
		a = append(a, audioArgs(l.Audio)...)
		streamMap = append(streamMap, "a:0,name:"+l.Audio.Name)
	}
	if opt.Threads > 0 {
		a = append(a, "-threads", strconv.Itoa(opt.Threads))
	}
	a = append(a,
		"-map_metadata", "-1", "-map_chapters", "-1",
		"-max_muxing_queue_size", "4096",
		"-f", "hls",
		"-hls_time", fmtFloat(seg),
		"-hls_playlist_type", "vod",
		"-hls_segment_type", "mpegts",
		"-hls_flags", "temp_file+independent_segments",
		"-hls_segment_filename", filepath.Join(opt.OutDir, "%v", SegmentPattern(opt.Revision)),
		"-var_stream_map", strings.Join(streamMap, " "),
		filepath.Join(opt.OutDir, "%v", "index.m3u8"),
	)
	return a
}

// InputArgs are the options that lock down how an input is opened, for
// every ffmpeg the pipeline runs on an upload: only the protocols the input
// needs, and only the demuxer the probe chose, forced. A Demuxer outside the
// allow-list (a tampered Source) keeps the whole allow-list, which then
// refuses it. An https input is read with the certificate verified
// against the CA bundle (see tlsArgs). start (fast, frame-accurate seek
// when re-encoding) and dur are seconds, 0 for none.
//
// It also bounds the decode, so that a file cannot make ffmpeg do more
// than its probe promised: -max_pixels (MaxPixels) makes the decoders
// refuse any picture larger than the probed one, and -t reads at most dur,
// or, when dur is 0, what is left of the probed duration after start plus
// DurationMargin.
func InputArgs(src *Source, input string, start, dur float64) []string {
	formats := formatWhitelist
	if slices.Contains(strings.Split(formatWhitelist, ","), src.Demuxer) {
		formats = src.Demuxer
	}
	a := []string{
		"-protocol_whitelist", protocolWhitelist(input),
		"-format_whitelist", formats,
		"-max_pixels", strconv.FormatInt(MaxPixels(src.Video), 10),
	}
	if src.Demuxer != "" {
		a = append(a, "-f", src.Demuxer)
	}
	if start > 0 {
		a = append(a, "-ss", fmtFloat(start))
	}
	if dur <= 0 && src.Duration > 0 {
		dur = math.Ceil(max(0, src.Duration-start) + DurationMargin(src.Duration))
	}
	if dur > 0 {
		a = append(a, "-t", fmtFloat(dur))
	}
	// Probe has already refused an https input with no CA bundle; should
	// the bundle vanish since, ffmpeg still verifies and fails the read.
	if strings.HasPrefix(input, "https://") {
		a = append(a, "-tls_verify", "1")
		if ca := caFile(); ca != "" {
			a = append(a, "-ca_file", ca)
		}
	}
	return append(a, "-i", inputURL(input))
}

// pixelPad is added to each side of the probed picture for -max_pixels:
// decoders check the picture they allocate, which some pad to their block
// or stride alignment (H.264 macroblocks, 64-pixel strides).
const pixelPad = 128

// MaxPixels is the -max_pixels bound for decoding v: its probed coded
// picture (the display size when the coded one is unknown, as for a live
// feed) with pixelPad more on each side. A stream that grows past it
// mid-file (a decompression bomb: a few small frames for the probe, then
// 8K ones) has its larger pictures refused by the decoder, which then
// never allocates them. Without video no picture may be decoded: 0.
func MaxPixels(v *Video) int64 {
	if v == nil {
		return 0
	}
	w, h := v.CodedWidth, v.CodedHeight
	if w <= 0 || h <= 0 {
		w, h = v.Width, v.Height
	}
	return int64(max(w, 0)+pixelPad) * int64(max(h, 0)+pixelPad)
}

// DurationMargin is how much longer than its probed duration (seconds) a
// source may be read: 10 s plus 10%. Containers state durations loosely
// (audio a frame longer than video, MPEG-TS estimated from timestamps),
// and the last chunk runs to the end on purpose; the margin keeps that,
// while a file that claims 2 s cannot make ffmpeg decode for hours.
func DurationMargin(duration float64) float64 { return 10 + duration/10 }

// ladderGraph decodes once and scales in a cascade: each rung is scaled
// from the rung above it rather than from the source, which costs less and,
// for downscaling by at most 1.5x a step, looks the same (see the SSIM lines
// of BenchmarkLadderVsNaive). Frame-rate caps are applied where the chain
// first needs them, before scaling.
func ladderGraph(v *Video, rungs []Rung) string {
	return LadderGraph(fmt.Sprintf("[0:%d]", v.Index), v.FPS, rungs)
}

// LadderGraph is the filter graph shared by every encoder of a ladder (on
// demand, chunked, live): from the input pad in, each rung is scaled from
// the one above it, and a frame-rate cap is applied where the chain first
// needs it. srcFPS 0 means the input's rate is not known (a live feed), so
// the first rung's rate is always set. Outputs are [out0], [out1]…
func LadderGraph(in string, srcFPS float64, rungs []Rung) string {
	var b strings.Builder
	b.WriteString(in)
	fps := srcFPS
	for i, r := range rungs {
		if i > 0 {
			fmt.Fprintf(&b, ";[chain%d]", i)
		}
		if r.FPS > 0 && (fps == 0 || r.FPS < fps-0.001) {
			fmt.Fprintf(&b, "fps=%s,", fmtFloat(r.FPS))
			fps = r.FPS
		}
		fmt.Fprintf(&b, "scale=w=%d:h=%d,setsar=1,format=yuv420p", r.Width, r.Height)
		if i == len(rungs)-1 {
			fmt.Fprintf(&b, "[out%d]", i)
		} else {
			fmt.Fprintf(&b, ",split=2[out%d][chain%d]", i, i+1)
		}
	}
	return b.String()
}

// x264Args are the encoder settings shared by every rung. Keyframes are
// forced at every segment boundary by time, so they fall on the same frame
// time on every rung; the GOP is longer than a segment so x264 never adds
// one of its own, scene cuts add none, and GOPs are closed so each segment
// decodes on its own.
func x264Args(rungs []Rung, seg float64, preset string) []string {
	topFPS := 0.0
	for _, r := range rungs {
		topFPS = max(topFPS, r.FPS)
	}
	gop := int(topFPS*seg*2) + 1
	return []string{
		"-c:v", "libx264",
		"-preset", preset,
		"-force_key_frames", "expr:gte(t,n_forced*" + fmtFloat(seg) + ")",
		"-forced-idr", "1",
		"-g", strconv.Itoa(gop),
		"-sc_threshold", "0",
		"-flags", "+cgop",
	}
}

// numCPU is runtime.NumCPU, replaced by tests that need stable arguments.
var numCPU = runtime.NumCPU

// rungThreads shares out x264 threads between the rungs of one process in
// proportion to each rung's pixel rate, within the budget x264 would take
// for a single encode (1.5 per CPU). Letting every encoder of the ladder
// pick its own count (x264's default) runs that many threads per rung, and
// measured 10-25% more CPU for the same output (see BenchmarkLadderVsNaive);
// a single-rung ladder gets the whole budget, which is x264's default.
func rungThreads(rungs []Rung, cpus int) []int {
	budget := max(1, int(math.Round(1.5*float64(cpus))))
	var total float64
	for _, r := range rungs {
		total += float64(r.Width*r.Height) * r.FPS
	}
	threads := make([]int, len(rungs))
	for i, r := range rungs {
		share := 1.0
		if total > 0 {
			share = float64(r.Width*r.Height) * r.FPS / total
		}
		threads[i] = max(1, int(math.Round(float64(budget)*share)))
	}
	return threads
}

// rungArgs are the per-rung rate control and profile settings.
func rungArgs(i int, r Rung) []string {
	s := ":v:" + strconv.Itoa(i)
	return []string{
		"-b" + s, strconv.Itoa(r.Bitrate),
		"-maxrate" + s, strconv.Itoa(r.MaxRate),
		"-bufsize" + s, strconv.Itoa(r.BufSize),
		"-profile" + s, r.Profile,
		"-level" + s, r.Level,
	}
}

func audioArgs(ar *AudioRung) []string {
	return []string{
		"-c:a", "aac",
		"-b:a", strconv.Itoa(ar.Bitrate),
		"-ac", strconv.Itoa(ar.Channels),
		"-ar", strconv.Itoa(ar.SampleRate),
	}
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
