package media

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

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

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
