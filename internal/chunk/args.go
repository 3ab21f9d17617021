package chunk

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hlsflow/hlsflow/internal/media"
)

// TimeBase (seconds) is added to every output timestamp. x264's B-frames
// give the first frame a negative DTS; at source time 0 the MPEG-TS muxer
// would shift the whole first chunk to hide it, but not later chunks,
// leaving a 2-frame jump at the first join. Starting the timeline at
// TimeBase keeps every DTS positive, so every chunk is offset alike.
const TimeBase = 10.0

// Options tune the ffmpeg arguments.
type Options struct {
	Input   string // presigned URL or local path of the source
	OutDir  string // rendition folders are written under it
	Preset  string // x264 preset; "" = media.DefaultPreset
	Threads int    // 0 = ffmpeg's choice
	// Revision goes into segment names (media.SegmentPattern), as in the
	// transcoder's own encodes.
	Revision string
}

// VideoArgs returns the ffmpeg argv (without the binary) that encodes chunk
// c of every video rung of l into OutDir/{rung}/seg_[REV_]NNNNN.ts and
// OutDir/{rung}/index.m3u8. What makes chunks join seamlessly:
//   - -ss before -i seeks fast and, since the video is re-encoded, cuts at
//     the exact frame; -t ends the chunk on a segment boundary;
//   - keyframes are forced at chunk-relative multiples of the segment
//     length, which are source multiples too because c.Start is one;
//   - -output_ts_offset continues the timeline (plus TimeBase), so no
//     EXT-X-DISCONTINUITY is needed;
//   - -start_number continues the segment numbers.
//
// It returns nil when the ladder has no video.
func VideoArgs(src *media.Source, l media.Ladder, c Chunk, opt Options) []string {
	if src == nil || src.Video == nil || len(l.Video) == 0 || !media.ValidRevision(opt.Revision) {
		return nil
	}
	seg := segSeconds(l)
	a := append(head(), media.InputArgs(src, opt.Input, c.Start, c.Duration)...)
	a = append(a, "-filter_complex", graph(src.Video, l.Video))
	for i := range l.Video {
		a = append(a, "-map", fmt.Sprintf("[out%d]", i))
	}
	topFPS := 0.0
	for _, r := range l.Video {
		topFPS = max(topFPS, r.FPS)
	}
	preset := opt.Preset
	if preset == "" {
		preset = media.DefaultPreset
	}
	a = append(a,
		"-c:v", "libx264",
		"-preset", preset,
		"-force_key_frames", "expr:gte(t,n_forced*"+num(seg)+")",
		"-forced-idr", "1",
		// Longer than a segment so x264 adds no keyframe of its own.
		"-g", strconv.Itoa(int(topFPS*seg*2)+1),
		"-sc_threshold", "0",
		"-flags", "+cgop",
	)
	var streamMap []string
	for i, r := range l.Video {
		s := ":v:" + strconv.Itoa(i)
		a = append(a,
			"-b"+s, strconv.Itoa(r.Bitrate), "-maxrate"+s, strconv.Itoa(r.MaxRate),
			"-bufsize"+s, strconv.Itoa(r.BufSize), "-profile"+s, r.Profile, "-level"+s, r.Level)
		streamMap = append(streamMap, fmt.Sprintf("v:%d,name:%s", i, r.Name))
	}
	a = append(a, tail(opt.Threads, TimeBase+c.Start)...)
	return append(a,
		"-f", "hls",
		"-hls_time", num(seg),
		"-hls_playlist_type", "vod",
		"-hls_segment_type", "mpegts",
		"-hls_flags", "temp_file+independent_segments",
		"-start_number", strconv.Itoa(c.FirstSegment),
		"-hls_segment_filename", filepath.Join(opt.OutDir, "%v", media.SegmentPattern(opt.Revision)),
		"-var_stream_map", strings.Join(streamMap, " "),
		filepath.Join(opt.OutDir, "%v", "index.m3u8"),
	)
}

// AudioArgs returns the ffmpeg argv that encodes the whole audio rendition
// into OutDir/{l.Audio.Name}/ on the same timeline as the video chunks.
// Audio is never chunked: AAC frames do not fall on segment boundaries and
// each encode would restart with priming samples, which is audible.
// It returns nil when the ladder has no audio.
func AudioArgs(src *media.Source, l media.Ladder, opt Options) []string {
	if src == nil || src.Audio == nil || l.Audio == nil || !media.ValidRevision(opt.Revision) {
		return nil
	}
	dir := filepath.Join(opt.OutDir, l.Audio.Name)
	a := append(head(), media.InputArgs(src, opt.Input, 0, 0)...)
	a = append(a,
		"-map", fmt.Sprintf("0:%d", src.Audio.Index), "-vn",
		"-c:a", "aac",
		"-b:a", strconv.Itoa(l.Audio.Bitrate),
		"-ac", strconv.Itoa(l.Audio.Channels),
		"-ar", strconv.Itoa(l.Audio.SampleRate),
	)
	a = append(a, tail(opt.Threads, TimeBase)...)
	return append(a,
		"-f", "hls",
		"-hls_time", num(segSeconds(l)),
		"-hls_playlist_type", "vod",
		"-hls_segment_type", "mpegts",
		"-hls_flags", "temp_file+independent_segments",
		"-hls_segment_filename", filepath.Join(dir, media.SegmentPattern(opt.Revision)),
		filepath.Join(dir, "index.m3u8"),
	)
}

func head() []string { return []string{"-hide_banner", "-nostdin", "-loglevel", "error"} }

func tail(threads int, offset float64) []string {
	var a []string
	if threads > 0 {
		a = append(a, "-threads", strconv.Itoa(threads))
	}
	return append(a,
		"-map_metadata", "-1", "-map_chapters", "-1",
		"-max_muxing_queue_size", "4096",
		"-output_ts_offset", num(offset),
	)
}

// graph is media's ladder graph, so chunked and single-process encodes
// give the same pictures.
func graph(v *media.Video, rungs []media.Rung) string {
	return media.LadderGraph(fmt.Sprintf("[0:%d]", v.Index), v.FPS, rungs)
}

func segSeconds(l media.Ladder) float64 {
	if l.SegmentSeconds > 0 {
		return l.SegmentSeconds
	}
	return media.DefaultSegmentSeconds
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
