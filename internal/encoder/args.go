package encoder

import (
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/hlsflow/hlsflow/internal/media"
)

// DefaultPreset is the x264 preset when a Job leaves it empty: fast enough
// for several live streams per core at 720p.
const DefaultPreset = "veryfast"

// Live outputs: the segment length when the ladder sets none, and how many
// segments ffmpeg keeps in its playlists (the watcher reads them; the
// publisher writes the ones players see).
const liveSegmentSeconds, liveListSize = 2, 30

// Kind is what ffmpeg writes.
type Kind int

const (
	// VOD is a finished rendition per rung (-hls_playlist_type vod).
	// ffmpeg writes its playlist only once, at the end, so segments are
	// watched as files. Audio is its own rendition.
	VOD Kind = iota
	// Live is a sliding window from an MPEG-TS feed: the audio is muxed
	// into every video rendition (self-contained live variants), x264 is
	// tuned for latency, and segments are watched through ffmpeg's
	// playlist, which gives their durations.
	Live
	// LiveCMAF is Live written as one fragmented MP4 per rendition
	// (Dir/{rendition}/CMAFStream), a fragment at every keyframe and every
	// Output.PartSeconds between, flushed as each is whole: the input of
	// the low-latency packager. Nothing is watched; the caller reads the
	// files as they grow.
	LiveCMAF
)

// Input is what ffmpeg reads.
type Input struct {
	// URL is the local path or http(s) URL that was probed (VOD), read
	// with media.InputArgs' lock-down; for Live, an MPEG-TS feed, by
	// default pipe:0 (Options.Stdin).
	URL string
	// Source is the probe's result (for Live, what the listener saw of the
	// feed): stream indexes, the demuxer and the -max_pixels bound.
	Source *media.Source
	// Start and Duration (seconds, 0 for none) select a span (VOD): a fast
	// seek that is frame-accurate since the video is re-encoded, and the
	// most that is read.
	Start, Duration float64
	// Realtime reads the input at its own rate (-re): benchmarks feeding a
	// file as if it were live.
	Realtime bool
	// Format is a Live feed's container: FeedMPEGTS (also when empty) or
	// FeedMatroska (WHIP's VP8, which MPEG-TS cannot carry).
	Format string
}

// The containers a Live feed may come in (Input.Format), ffmpeg's
// demuxer names.
const (
	FeedMPEGTS   = "mpegts"
	FeedMatroska = "matroska"
)

// Output is where and how ffmpeg writes the renditions.
type Output struct {
	Kind Kind
	// Dir holds one folder per rendition (Renditions): index.m3u8 and
	// media.SegmentName(Revision, n) files.
	Dir      string
	Revision string // see media.SegmentPattern; VOD only
	// StartNumber and TimeOffset (seconds) continue a timeline that
	// another encode began: chunks of one source join without a
	// discontinuity (see internal/chunk). Either set, both are written.
	StartNumber int
	TimeOffset  float64
	// PartSeconds is LiveCMAF's fragment length, default
	// DefaultPartSeconds.
	PartSeconds float64
	// CMAF (VOD only) writes fragmented MP4 segments (.m4s) after an init
	// segment per rendition, which its playlist names in EXT-X-MAP
	// (vodcmaf.go), instead of MPEG-TS.
	CMAF bool
	// AudioTrim (VOD only) keeps part of each audio output (audiotrim.go).
	AudioTrim *AudioTrim
}

// Job is one ffmpeg run: an input, a ladder, an output.
type Job struct {
	Input  Input
	Ladder media.Ladder
	Output Output
	Preset string // x264 preset, default DefaultPreset
	// Threads is -threads for every encoder; 0 leaves the choice to
	// ffmpeg, or with ShareThreads gives each rung its share of 1.5
	// threads per CPU (rungThreads).
	Threads      int
	ShareThreads bool
	Progress     bool // report progress (-progress pipe:1); Live always does
	// Storyboard, when set (VOD with video), also writes its thumbnails
	// to Output.Dir/StoryboardDir from the frames the ladder decodes.
	Storyboard *Storyboard
}

// Renditions are the folders under Output.Dir that the job writes, in the
// order of -var_stream_map.
func (j Job) Renditions() []string {
	var names []string
	for _, r := range j.Ladder.Video {
		names = append(names, r.Name)
	}
	for _, r := range j.Ladder.Extra {
		names = append(names, r.Name)
	}
	if a := j.Ladder.Audio; a != nil && (j.Output.Kind == VOD || len(names) == 0) {
		names = append(names, a.Name)
	}
	for _, a := range moreAudio(j) {
		names = append(names, a.Name)
	}
	return names
}

// Args returns the ffmpeg argv (without the binary name) of j: one
// decode, a filter graph that scales each rung from the one above it
// (LadderGraph), one x264 encode per rung with the same keyframes, AAC,
// and the HLS muxer writing Dir/{rendition}/index.m3u8 and its segments.
//
// Segments are MPEG-TS, the ladder's SegmentSeconds long, each starting
// with an IDR frame at the same time on every rung: keyframes are forced at
// multiples of the segment length by time, the GOP is longer than a
// segment so x264 never adds one of its own, scene cuts add none, and GOPs
// are closed so each segment decodes on its own. A segment is written
// under a temporary name and renamed when complete (checked against ffmpeg
// 5.1 by TestSegmentsAppearComplete), so any *.ts file is final.
//
// The extra rungs of other codecs (Ladder.Extra, on demand in CMAF only)
// are encoded from their H.264 rung's scaled picture, after it in the
// stream order (extraArgs).
//
// A VOD input is opened with media.InputArgs (only the protocols and the
// demuxer the probe allowed, bounded by -max_pixels and -t). Args returns
// nil when there is nothing to encode or the revision is not valid.
func Args(j Job) []string {
	l, src, live := j.Ladder, j.Input.Source, j.Output.Kind == Live || j.Output.Kind == LiveCMAF
	if live && src == nil {
		src = &media.Source{} // a feed's streams are mapped by type
	}
	if src == nil || !media.ValidRevision(j.Output.Revision) || (len(l.Video) == 0 && l.Audio == nil) || !extraOK(j) ||
		(!live && ((len(l.Video) > 0 && src.Video == nil) || (l.Audio != nil && src.Audio == nil))) {
		return nil
	}
	seg := l.SegmentSeconds
	if seg <= 0 && live {
		seg = liveSegmentSeconds
	} else if seg <= 0 {
		seg = media.DefaultSegmentSeconds
	}
	preset := j.Preset
	if preset == "" {
		preset = DefaultPreset
	}
	a := []string{"-hide_banner", "-nostdin", "-loglevel", "error"}
	if j.Progress || live {
		a = append(a, "-progress", "pipe:1", "-nostats")
	}
	if j.Input.Realtime {
		a = append(a, "-re")
	}
	if live {
		a = append(a, feedArgs(j)...)
	} else {
		a = append(a, media.InputArgs(src, j.Input.URL, j.Input.Start, j.Input.Duration)...)
	}

	// Streams: [outN] per rung; VOD maps the audio once as its own
	// rendition, Live into every video rendition.
	in, audio, fps := "[0:v:0]", "0:a:0", 0.0
	if !live && src.Video != nil {
		in, fps = fmt.Sprintf("[0:%d]", src.Video.Index), src.Video.FPS
	}
	if !live && src.Audio != nil {
		audio = fmt.Sprintf("0:%d", src.Audio.Index)
	}
	var streamMap []string
	sb := j.Storyboard
	if live || len(l.Video) == 0 {
		sb = nil
	}
	if len(l.Video) > 0 {
		graph := LadderGraph(in, fps, l.Video)
		if sb != nil {
			graph = storyboardGraph(graph, len(l.Video), sb)
		}
		graph = splitExtra(graph, l.Video, l.Extra)
		a = append(a, "-filter_complex", graph)
	}
	if j.Output.Kind == LiveCMAF {
		return cmafArgs(j, a, seg, preset)
	}
	for i, r := range l.Video {
		a = append(a, "-map", fmt.Sprintf("[out%d]", i))
		if live && l.Audio != nil {
			a = append(a, "-map", audio)
			streamMap = append(streamMap, fmt.Sprintf("v:%d,a:%d,name:%s", i, i, r.Name))
		} else {
			streamMap = append(streamMap, fmt.Sprintf("v:%d,name:%s", i, r.Name))
		}
	}
	for k, r := range l.Extra { // VOD only (extraOK)
		a = append(a, "-map", fmt.Sprintf("[out%d]", len(l.Video)+k))
		streamMap = append(streamMap, fmt.Sprintf("v:%d,name:%s", len(l.Video)+k, r.Name))
	}
	if l.Audio != nil && (!live || len(l.Video) == 0) {
		a = append(a, "-map", audio)
		streamMap = append(streamMap, "a:0,name:"+l.Audio.Name)
	}
	for i, t := range moreAudio(j) {
		// Each further track is its own rendition, encoded like the first
		// (the -c:a settings below apply to every audio output).
		a = append(a, "-map", fmt.Sprintf("0:%d", t.Stream))
		streamMap = append(streamMap, fmt.Sprintf("a:%d,name:%s", i+1, t.Name))
	}

	if len(l.Video) > 0 {
		a = append(a, x264Args(l.Video, seg, preset, live)...)
	}
	var threads []int
	if j.ShareThreads && j.Threads == 0 {
		threads = rungThreads(l.Video, numCPU())
	}
	for i, r := range l.Video {
		a = append(a, rungArgs(i, r)...)
		if threads != nil {
			a = append(a, fmt.Sprintf("-threads:v:%d", i), strconv.Itoa(threads[i]))
		}
	}
	for k, r := range l.Extra {
		a = append(a, extraArgs(len(l.Video)+k, r, seg)...)
	}
	if l.Audio != nil {
		if live {
			// Publishers' audio timestamps overlap or gap at loops,
			// reconnects and encoder hiccups; resampling with async keeps
			// the output's audio continuous.
			a = append(a, "-af", "aresample=async=1000")
		}
		a = append(a, "-c:a", "aac", "-b:a", strconv.Itoa(l.Audio.Bitrate),
			"-ac", strconv.Itoa(l.Audio.Channels), "-ar", strconv.Itoa(l.Audio.SampleRate))
		if !live {
			a = append(a, audioTrimArgs(j.Output.AudioTrim)...)
		}
	}
	if j.Threads > 0 {
		a = append(a, "-threads", strconv.Itoa(j.Threads))
	}
	a = append(a, "-map_metadata", "-1")
	if !live {
		a = append(a, "-map_chapters", "-1")
	}
	a = append(a, "-max_muxing_queue_size", "4096")
	if o := j.Output.TimeOffset; o != 0 {
		a = append(a, "-output_ts_offset", fmtFloat(o))
	}
	a = append(a, "-f", "hls", "-hls_time", fmtFloat(seg))
	if live {
		a = append(a, "-hls_list_size", strconv.Itoa(liveListSize))
	} else {
		a = append(a, "-hls_playlist_type", "vod")
	}
	pattern := media.SegmentPattern(j.Output.Revision)
	if j.Output.CMAF && !live {
		pattern = media.CMAFSegmentPattern(j.Output.Revision)
		a = append(a, vodCMAFArgs(len(streamMap), j.Output.TimeOffset != 0)...)
	} else {
		a = append(a, "-hls_segment_type", "mpegts")
	}
	a = append(a, "-hls_flags", "temp_file+independent_segments")
	if o := j.Output; o.StartNumber > 0 || o.TimeOffset != 0 {
		a = append(a, "-start_number", strconv.Itoa(o.StartNumber))
	}
	a = append(a,
		"-hls_segment_filename", filepath.Join(j.Output.Dir, "%v", pattern),
		"-var_stream_map", strings.Join(streamMap, " "),
		filepath.Join(j.Output.Dir, "%v", media.PlaylistName("")),
	)
	if sb != nil {
		a = append(a, storyboardArgs(j.Output.Dir, sb)...)
	}
	return a
}

// moreAudio are the ladder's further audio tracks that j encodes: on
// demand only, beside the first track, each a stream of the source.
func moreAudio(j Job) []media.AudioRung {
	src := j.Input.Source
	if j.Output.Kind != VOD || j.Ladder.Audio == nil || src == nil {
		return nil
	}
	var out []media.AudioRung
	for _, t := range j.Ladder.MoreAudio {
		for _, s := range src.MoreAudio {
			if s.Index == t.Stream { // never a stream the probe did not vet
				out = append(out, t)
				break
			}
		}
	}
	return out
}

// feedArgs open a live feed (MPEG-TS, or Matroska when Input.Format says
// so; never a demuxer ffmpeg guesses): from a pipe or a file only, decoding
// no picture larger than the probed one (a publisher who switches to 8K
// mid-stream has those frames refused, never allocated), with timestamps
// made up where the feed lacks them and damaged packets dropped.
func feedArgs(j Job) []string {
	input := j.Input.URL
	if input == "" {
		input = "pipe:0"
	}
	format := FeedMPEGTS
	if j.Input.Format == FeedMatroska {
		format = FeedMatroska
	}
	return []string{
		"-protocol_whitelist", "pipe,file",
		"-max_pixels", strconv.FormatInt(feedMaxPixels(j), 10),
		"-fflags", "+genpts+discardcorrupt",
		"-analyzeduration", "1500000", "-probesize", "2000000",
		"-f", format, "-i", input,
	}
}

// feedMaxPixels is media.MaxPixels of the feed's picture when the
// listener saw it, nothing for an audio-only ladder, and the largest
// picture an upload may have otherwise.
func feedMaxPixels(j Job) int64 {
	var v *media.Video
	if j.Input.Source != nil {
		v = j.Input.Source.Video
	}
	switch {
	case v != nil && v.Width > 0 && v.Height > 0:
		return media.MaxPixels(v)
	case len(j.Ladder.Video) == 0:
		return 0
	}
	return int64(media.DefaultLimits.MaxPixels)
}

// LadderGraph is the filter graph shared by every encode of a ladder (on
// demand, chunked, live): from the input pad in, each rung is scaled from
// the one above it rather than from the source, which costs less and, for
// downscaling by at most 1.5x a step, looks the same (see the SSIM lines of
// BenchmarkLadderVsNaive). A frame-rate cap is applied where the chain
// first needs it, before scaling. srcFPS 0 means the input's rate is not
// known (a live feed), so the first rung's rate is always set. Outputs are
// [out0], [out1]…
func LadderGraph(in string, srcFPS float64, rungs []media.Rung) string {
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

// x264Args are the encoder settings shared by every rung (see Args for the
// keyframe rules). Live adds zerolatency: no B-frames and no lookahead,
// which live does not need and which cost delay.
func x264Args(rungs []media.Rung, seg float64, preset string, live bool) []string {
	topFPS := 0.0
	for _, r := range rungs {
		topFPS = max(topFPS, r.FPS)
	}
	a := []string{"-c:v", "libx264", "-preset", preset}
	if live {
		a = append(a, "-tune", "zerolatency")
	}
	return append(a,
		"-force_key_frames", keyframeExpr(seg),
		"-forced-idr", "1",
		"-g", strconv.Itoa(int(topFPS*seg*2)+1),
		"-sc_threshold", "0",
		"-flags", "+cgop",
	)
}

// keyframeTolerance is how much earlier than its multiple of a segment a
// frame may be and still be forced a keyframe, for a segment that is not
// whole seconds: a whole-frame segment (media.PlanCodecs: 4.004 s at
// 29.97 fps, 119 frames at 179/6 fps) ends on a frame whose time and the
// segment multiple ffmpeg compares it with are both rounded doubles, so
// the boundary frame can come out a hair early and the keyframe land a
// frame late, off the AV1 rung's (at 179/6 fps, without it, the first
// H.264 segment was 4.022 s, AV1's 3.989 s; TestExtraEncode). 10 µs is
// far more than that rounding and far less than a frame at any rung's
// rate (16.7 ms at 60 fps). Whole-second segments keep the plain
// comparison, exact at 24-60 fps.
const keyframeTolerance = "0.00001"

// keyframeExpr is the -force_key_frames expression of segments of seg
// seconds: a keyframe at the first frame at or after each multiple.
func keyframeExpr(seg float64) string {
	if seg == math.Trunc(seg) {
		return "expr:gte(t,n_forced*" + fmtFloat(seg) + ")"
	}
	return "expr:gte(t,n_forced*" + fmtFloat(seg) + "-" + keyframeTolerance + ")"
}

// numCPU is runtime.NumCPU, replaced by tests that need stable arguments.
var numCPU = runtime.NumCPU

// rungThreads shares out x264 threads between the rungs of one process in
// proportion to each rung's pixel rate, within the budget x264 would take
// for a single encode (1.5 per CPU). Letting every encoder of the ladder
// pick its own count (x264's default) runs that many threads per rung, and
// measured 10-25% more CPU for the same output (see BenchmarkLadderVsNaive);
// a single-rung ladder gets the whole budget, which is x264's default.
func rungThreads(rungs []media.Rung, cpus int) []int {
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

// rungArgs are the per-rung rate control and profile settings: the
// rung's bitrate, or for a per-title rung (Rung.CRF) capped constant
// quality under the same maxrate and buffer.
func rungArgs(i int, r media.Rung) []string {
	s := ":v:" + strconv.Itoa(i)
	rate := []string{"-b" + s, strconv.Itoa(r.Bitrate)}
	if r.CRF > 0 {
		rate = []string{"-crf" + s, fmtFloat(r.CRF)}
	}
	return append(rate,
		"-maxrate"+s, strconv.Itoa(r.MaxRate),
		"-bufsize"+s, strconv.Itoa(r.BufSize),
		"-profile"+s, r.Profile,
		"-level"+s, r.Level,
	)
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
