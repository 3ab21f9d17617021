package media

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// allowedFormats maps ffprobe's format_name of every container we accept to
// the demuxer forced with -f when encoding. Everything else is refused:
// several demuxers (hls, concat, dash, image2 sequences...) open further
// files or URLs named inside the upload, and nothing in a plain video file
// needs that.
var allowedFormats = map[string]string{
	"mov,mp4,m4a,3gp,3g2,mj2": "mov",
	"matroska,webm":           "matroska",
	"mpegts":                  "mpegts",
	"flv":                     "flv",
	"avi":                     "avi",
	"mpeg":                    "mpeg",
	"wav":                     "wav",
	"mp3":                     "mp3",
	"ogg":                     "ogg",
	"aac":                     "aac",
	"flac":                    "flac",
}

// formatWhitelist is passed as -format_whitelist to ffprobe and ffmpeg so
// that libavformat refuses any other demuxer before it reads a header (and
// so before a playlist could open anything it names).
const formatWhitelist = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mpegts,flv,avi,mpeg,wav,mp3,ogg,aac,flac"

// videoCodecs are the video codecs we decode. Others (and codecs ffprobe
// cannot name) are refused at probe time rather than failing mid-encode.
var videoCodecs = map[string]bool{
	"h264": true, "hevc": true, "vp8": true, "vp9": true, "av1": true,
	"mpeg4": true, "mpeg2video": true, "mpeg1video": true, "mjpeg": true,
	"prores": true, "dnxhd": true, "theora": true, "h263": true, "flv1": true,
	"vc1": true, "wmv3": true, "msmpeg4v3": true, "dvvideo": true, "ffv1": true,
	"png": true, "qtrle": true,
}

// audioCodecs are the audio codecs we decode (plus every pcm_* variant).
var audioCodecs = map[string]bool{
	"aac": true, "mp3": true, "mp2": true, "opus": true, "vorbis": true,
	"flac": true, "alac": true, "ac3": true, "eac3": true, "wmav2": true,
	"amr_nb": true, "amr_wb": true, "dts": true, "truehd": true,
}

// minSide is the smallest width or height accepted: below it there is
// nothing to watch, and H.264 needs at least a macroblock.
const minSide = 16

// ffprobe's JSON (only the fields we read).
type probeJSON struct {
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
		Size       string `json:"size"`
		BitRate    string `json:"bit_rate"`
	} `json:"format"`
	Streams []struct {
		Index             int    `json:"index"`
		CodecType         string `json:"codec_type"`
		CodecName         string `json:"codec_name"`
		Profile           string `json:"profile"`
		PixFmt            string `json:"pix_fmt"`
		Width             int    `json:"width"`
		Height            int    `json:"height"`
		SampleAspectRatio string `json:"sample_aspect_ratio"`
		RFrameRate        string `json:"r_frame_rate"`
		AvgFrameRate      string `json:"avg_frame_rate"`
		Duration          string `json:"duration"`
		NbFrames          string `json:"nb_frames"`
		BitRate           string `json:"bit_rate"`
		Channels          int    `json:"channels"`
		SampleRate        string `json:"sample_rate"`
		Disposition       struct {
			AttachedPic int `json:"attached_pic"`
		} `json:"disposition"`
		Tags struct {
			Rotate   string `json:"rotate"`
			Language string `json:"language"`
			Title    string `json:"title"`
			Handler  string `json:"handler_name"`
		} `json:"tags"`
		SideData []struct {
			Type     string  `json:"side_data_type"`
			Rotation float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
}

// Probe inspects input (a local path or an http(s) URL, typically a
// presigned GET) with ffprobe and returns what the ladder needs. ffprobe
// reads through the input with range requests and never fetches the whole
// file. Probe refuses, with an error wrapping ErrUnsupported whose text is a
// sentence for the uploader, anything that is not a plain audio/video file
// in an allow-listed container, or that exceeds lim. Other errors (ffprobe
// missing, network failures, cancellation) do not wrap ErrUnsupported and
// may be retried.
func Probe(ctx context.Context, ffprobe, input string, lim Limits) (*Source, error) {
	if !isURL(input) {
		fi, err := os.Stat(input)
		if err != nil {
			return nil, fmt.Errorf("probe %s: %w", input, err)
		}
		if fi.IsDir() {
			return nil, fmt.Errorf("probe %s: is a directory", input)
		}
		if fi.Size() == 0 {
			return nil, unsupported("the file is empty")
		}
	}
	name := redactQuery(input)
	if _, err := tlsArgs(input); err != nil {
		return nil, fmt.Errorf("probe %s: %w", name, err)
	}
	out, stderr, err := runProbe(ctx, ffprobe, input, "error")
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("probe %s: %w", name, ctx.Err())
		}
		return nil, classifyProbeFailure(ctx, ffprobe, input, stderr, err)
	}
	var pj probeJSON
	if err := json.Unmarshal(out, &pj); err != nil {
		return nil, fmt.Errorf("probe %s: decode ffprobe output: %w", name, err)
	}
	src, err := sourceFrom(&pj)
	if err != nil {
		return nil, err
	}
	if err := checkDecodable(ctx, ffprobe, src); err != nil {
		return nil, err
	}
	if err := CheckLimits(src, lim); err != nil {
		return nil, err
	}
	return src, nil
}

// checkDecodable refuses a source whose codecs this build of FFmpeg has no
// software decoder for (the Lambda layer has none for AV1).
func checkDecodable(ctx context.Context, ffprobe string, src *Source) error {
	can, err := decodableCodecs(ctx, ffprobe)
	if err != nil {
		return err
	}
	if v := src.Video; v != nil && !can[v.Codec] {
		return unsupported("the video codec (%s) cannot be decoded by this installation's FFmpeg; "+
			"re-encode the video as H.264, HEVC or VP9 and upload it again", v.Codec)
	}
	if a := src.Audio; a != nil && !can[a.Codec] {
		return unsupported("the audio codec (%s) cannot be decoded by this installation's FFmpeg; "+
			"re-encode the audio as AAC, MP3 or Opus and upload it again", a.Codec)
	}
	more := src.MoreAudio[:0]
	for _, a := range src.MoreAudio {
		if can[a.Codec] {
			more = append(more, a)
		}
	}
	src.MoreAudio = more
	return nil
}

func unsupported(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, a...))
}

func isURL(input string) bool {
	return strings.HasPrefix(input, "http://") || strings.HasPrefix(input, "https://")
}

// protocolWhitelist allows only what the input itself needs: a URL input
// cannot open local files, a local input cannot reach the network.
func protocolWhitelist(input string) string {
	if isURL(input) {
		return "http,https,tcp,tls"
	}
	return "file"
}

// inputURL makes a local path explicit so a name such as "http:x" is never
// taken for a protocol.
func inputURL(input string) string {
	if isURL(input) {
		return input
	}
	return "file:" + input
}

func runProbe(ctx context.Context, ffprobe, input, loglevel string) (stdout, stderr []byte, err error) {
	tls, err := tlsArgs(input)
	if err != nil {
		return nil, nil, err
	}
	args := append([]string{
		"-v", loglevel, "-hide_banner",
		"-protocol_whitelist", protocolWhitelist(input),
		"-format_whitelist", formatWhitelist,
		"-of", "json", "-show_format", "-show_streams",
	}, tls...)
	cmd := exec.CommandContext(ctx, ffprobe, append(args, inputURL(input))...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.WaitDelay = 2 * time.Second
	err = cmd.Run()
	return o.Bytes(), e.Bytes(), err
}

// classifyProbeFailure turns ffprobe's complaint into a refusal for people,
// or into a plain error when the fault is not the file's.
func classifyProbeFailure(ctx context.Context, ffprobe, input string, stderr []byte, runErr error) error {
	// ffprobe names the input in its messages: keep signatures out of logs.
	name := redactQuery(input)
	msg := strings.ReplaceAll(string(stderr), input, name)
	var ee *exec.ExitError
	if !errors.As(runErr, &ee) {
		return fmt.Errorf("probe %s: run %s: %w", name, ffprobe, runErr)
	}
	switch {
	case strings.Contains(msg, "Format not on whitelist"):
		// Ask again at debug level (still behind the whitelist, so still
		// safe) only to learn which format it was.
		_, dbg, _ := runProbe(ctx, ffprobe, input, "debug")
		return unsupported("%s", describeFormat(probedFormat(string(dbg)), input))
	case strings.Contains(msg, "moov atom not found"),
		strings.Contains(msg, "Invalid data found when processing input"),
		strings.Contains(msg, "End of file"):
		head, err := readHead(ctx, input, 512)
		if err != nil {
			return fmt.Errorf("probe %s: ffprobe failed (%s) and reading the start failed: %w", name, lastLine(msg), err)
		}
		if s := sniff(head); s != "" {
			return unsupported("%s", s)
		}
		if strings.Contains(msg, "moov atom not found") && looksLikeMP4(head) {
			return unsupported("the file is incomplete or damaged (its MP4 index is missing; was the upload cut short?)")
		}
		return unsupported("the file is not a video or audio file (its content was not recognised)")
	case strings.Contains(msg, "Protocol not on whitelist"):
		return unsupported("the file refers to other files or URLs, which is not allowed; upload the video file itself")
	case strings.Contains(msg, "[tls @"):
		// The storage's certificate, not the file: say so, and retry.
		return fmt.Errorf("probe %s: TLS: %s", name, tlsLine(msg))
	}
	return fmt.Errorf("probe %s: ffprobe failed: %s", name, lastLine(msg))
}

// tlsLine is the TLS layer's own complaint in ffprobe's log.
func tlsLine(log string) string {
	for line := range strings.SplitSeq(log, "\n") {
		if _, rest, ok := strings.Cut(line, "[tls @ "); ok {
			if _, why, ok := strings.Cut(rest, "] "); ok {
				return why
			}
		}
	}
	return lastLine(log)
}

// probedFormat finds the demuxer libavformat picked in ffprobe's debug log.
func probedFormat(log string) string {
	for _, line := range strings.Split(log, "\n") {
		if i := strings.Index(line, "Format "); i >= 0 && strings.Contains(line, " probed with size=") {
			rest := line[i+len("Format "):]
			if j := strings.Index(rest, " probed with"); j > 0 {
				return rest[:j]
			}
		}
	}
	return ""
}

// describeFormat says in one sentence why a format is refused.
func describeFormat(format, input string) string {
	switch {
	case format == "hls" || format == "applehttp":
		return "the file is an HLS playlist, which refers to other files; upload the video file itself"
	case format == "concat":
		return "the file is a concat list, which refers to other files; upload the video file itself"
	case format == "dash":
		return "the file is a DASH manifest, which refers to other files; upload the video file itself"
	case format == "image2" || format == "image2pipe":
		ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(input)), ".")
		if ext == "" || isURL(input) {
			return "the file is an image, not a video"
		}
		return fmt.Sprintf("the file is an image (%s), not a video", ext)
	case strings.HasSuffix(format, "_pipe"):
		return fmt.Sprintf("the file is an image (%s), not a video", strings.TrimSuffix(format, "_pipe"))
	case format == "gif" || format == "apng" || format == "webp":
		return fmt.Sprintf("the file is an image (%s), not a video", format)
	case format == "tty":
		return "the file is a text document, not a video"
	case format == "srt" || format == "webvtt" || format == "ass" || format == "microdvd" ||
		format == "subviewer" || format == "subviewer1" || format == "sami" || format == "lrc":
		return "the file is a subtitle file, not a video"
	case format == "":
		return "the file is not a video or audio file we accept"
	}
	return fmt.Sprintf("the %s format is not supported; upload MP4, MOV, MKV, WebM, MPEG-TS, FLV, AVI, MPEG, or an audio file (WAV, MP3, AAC, FLAC, Ogg)", format)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// sourceFrom picks the streams and fills a Source, refusing what we cannot
// encode.
func sourceFrom(pj *probeJSON) (*Source, error) {
	demuxer, ok := allowedFormats[pj.Format.FormatName]
	if !ok {
		return nil, unsupported("%s", describeFormat(pj.Format.FormatName, ""))
	}
	src := &Source{
		FormatName: pj.Format.FormatName,
		Demuxer:    demuxer,
		Duration:   parseFloat(pj.Format.Duration),
		Size:       parseInt(pj.Format.Size),
		BitRate:    parseInt(pj.Format.BitRate),
	}
	var stills int
	for _, s := range pj.Streams {
		switch s.CodecType {
		case "video":
			if src.Video != nil || s.Disposition.AttachedPic == 1 {
				continue // cover art, or a second video stream
			}
			v, err := videoFrom(s.Index, s.CodecName, s.Profile, s.PixFmt, s.Width, s.Height,
				s.SampleAspectRatio, rotationOf(s.SideData, s.Tags.Rotate),
				frameRate(s.AvgFrameRate, s.RFrameRate), parseInt(s.BitRate))
			if err != nil {
				return nil, err
			}
			frames := parseInt(s.NbFrames)
			if frames == 0 {
				d := parseFloat(s.Duration)
				if d <= 0 {
					d = src.Duration
				}
				frames = int64(math.Round(d * v.FPS))
			}
			if frames < 2 {
				// A still picture in a video container: treated like cover
				// art, so a song with a still picture becomes audio-only.
				stills++
				continue
			}
			src.Video = v
		case "audio":
			known := audioCodecs[s.CodecName] || strings.HasPrefix(s.CodecName, "pcm_")
			a := Audio{
				Index:      s.Index,
				Codec:      s.CodecName,
				Channels:   s.Channels,
				SampleRate: int(parseInt(s.SampleRate)),
				BitRate:    parseInt(s.BitRate),
				Language:   tagLanguage(s.Tags.Language),
				Title:      streamTitle(s.Tags.Title, s.Tags.Handler),
			}
			switch {
			case src.Audio == nil && !known:
				return nil, unsupported("the audio codec (%s) is not supported", nameOr(s.CodecName))
			case src.Audio == nil:
				src.Audio = &a
			case known && len(src.MoreAudio) < MaxAudioTracks-1 && a.Channels > 0:
				// Further tracks (commentary, dubs) are a bonus: one we
				// cannot decode is left out rather than refusing the file.
				src.MoreAudio = append(src.MoreAudio, a)
			}
		case "subtitle":
			if SubtitleCodecs[s.CodecName] && len(src.Subtitles) < MaxSubtitleTracks {
				src.Subtitles = append(src.Subtitles, Subtitle{Index: s.Index, Codec: s.CodecName,
					Language: tagLanguage(s.Tags.Language), Title: streamTitle(s.Tags.Title, s.Tags.Handler)})
			}
		}
	}
	switch {
	case src.Video == nil && src.Audio == nil && stills > 0:
		return nil, unsupported("the file is a single picture, not a video")
	case src.Video == nil && src.Audio == nil:
		return nil, unsupported("the file has no video or audio")
	case src.Duration <= 0:
		return nil, unsupported("the file has no duration (is it a live stream or damaged?)")
	}
	return src, nil
}

func nameOr(codec string) string {
	if codec == "" {
		return "unknown"
	}
	return codec
}

func videoFrom(index int, codec, profile, pixFmt string, w, h int, sar string, rot int, fps float64, bitRate int64) (*Video, error) {
	if !videoCodecs[codec] {
		return nil, unsupported("the video codec (%s) is not supported", nameOr(codec))
	}
	if w <= 0 || h <= 0 {
		return nil, unsupported("the video has no picture size (is it damaged?)")
	}
	if fps <= 0 {
		return nil, unsupported("the video has no frame rate (is it damaged?)")
	}
	dw, dh := displaySize(w, h, sar, rot)
	return &Video{
		Index: index, Codec: codec, Profile: profile, PixFmt: pixFmt,
		CodedWidth: w, CodedHeight: h, Rotation: rot,
		Width: dw, Height: dh, FPS: fps, BitRate: bitRate,
	}, nil
}

// displaySize applies the sample aspect ratio (to the stored width) and then
// the rotation.
func displaySize(w, h int, sar string, rot int) (int, int) {
	dw := float64(w)
	if n, d, ok := parseRatio(sar, ":"); ok && n > 0 && d > 0 {
		dw = dw * n / d
	}
	W, H := int(math.Round(dw)), h
	if rot == 90 || rot == 270 {
		W, H = H, W
	}
	return W, H
}

// rotationOf returns the clockwise rotation, in degrees rounded to a
// quarter turn, that a player applies when displaying the stream. ffprobe
// reports the display matrix's counter-clockwise angle (-90 for a phone
// held upright).
func rotationOf(side []struct {
	Type     string  `json:"side_data_type"`
	Rotation float64 `json:"rotation"`
}, tag string) int {
	var ccw float64
	found := false
	for _, sd := range side {
		if sd.Type == "Display Matrix" {
			ccw, found = sd.Rotation, true
			break
		}
	}
	if !found && tag != "" {
		// The legacy rotate tag is already clockwise.
		ccw, found = -parseFloat(tag), true
	}
	if !found {
		return 0
	}
	q := int(math.Round(-ccw/90)) % 4
	if q < 0 {
		q += 4
	}
	return q * 90
}

// frameRate prefers the average rate (right for variable-rate phone video)
// and falls back to the stream's base rate.
func frameRate(avg, r string) float64 {
	if n, d, ok := parseRatio(avg, "/"); ok && d > 0 && n > 0 {
		return n / d
	}
	if n, d, ok := parseRatio(r, "/"); ok && d > 0 && n > 0 {
		return n / d
	}
	return 0
}

func parseRatio(s, sep string) (float64, float64, bool) {
	a, b, ok := strings.Cut(s, sep)
	if !ok {
		return 0, 0, false
	}
	n, err1 := strconv.ParseFloat(a, 64)
	d, err2 := strconv.ParseFloat(b, 64)
	return n, d, err1 == nil && err2 == nil
}

func parseFloat(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

func parseInt(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// CheckLimits refuses, with an error wrapping ErrUnsupported, sources
// beyond lim. Picture limits apply to the long and short sides so that
// portrait and landscape are treated alike. Probe applies it; the encode
// function applies it to what it is sent, and live ingest to each feed.
func CheckLimits(src *Source, lim Limits) error {
	if lim.MaxSize > 0 && src.Size > lim.MaxSize {
		return unsupported("the file is %s, more than the %s we accept", HumanBytes(src.Size), HumanBytes(lim.MaxSize))
	}
	if lim.MaxDuration > 0 && src.Duration > lim.MaxDuration.Seconds() {
		return unsupported("the file lasts %s, longer than the %s we accept",
			humanDuration(src.Duration), humanDuration(lim.MaxDuration.Seconds()))
	}
	v := src.Video
	if v == nil {
		return nil
	}
	long, short := max(v.Width, v.Height), min(v.Width, v.Height)
	maxLong, maxShort := max(lim.MaxWidth, lim.MaxHeight), min(lim.MaxWidth, lim.MaxHeight)
	if short < minSide {
		return unsupported("the picture (%dx%d) is too small to be a video", v.Width, v.Height)
	}
	if (maxLong > 0 && long > maxLong) || (maxShort > 0 && short > maxShort) {
		return unsupported("the picture (%dx%d) is larger than the %dx%d we accept", v.Width, v.Height, lim.MaxWidth, lim.MaxHeight)
	}
	if lim.MaxPixels > 0 && v.Width*v.Height > lim.MaxPixels {
		return unsupported("the picture (%dx%d, %.3g megapixels) is larger than the %.3g megapixels we accept",
			v.Width, v.Height, float64(v.Width*v.Height)/1e6, float64(lim.MaxPixels)/1e6)
	}
	if lim.MaxFPS > 0 && v.FPS > lim.MaxFPS {
		return unsupported("the frame rate (%.4g fps) is higher than the %.4g fps we accept", v.FPS, lim.MaxFPS)
	}
	return nil
}

// HumanBytes writes a size for people: "1.5 GiB", "12 MiB", "300 bytes".
func HumanBytes(n int64) string {
	const gib, mib = 1 << 30, 1 << 20
	switch {
	case n >= gib:
		return fmt.Sprintf("%.3g GiB", float64(n)/gib)
	case n >= mib:
		return fmt.Sprintf("%.3g MiB", float64(n)/mib)
	}
	return fmt.Sprintf("%d bytes", n)
}

func humanDuration(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
