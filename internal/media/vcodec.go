package media

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Codec is a video codec of the ladder. Every ladder has its H.264 rungs
// (Ladder.Video), which every player decodes; HEVC and AV1 are opt-in
// extras (Ladder.Extra) that players able to decode them pick for fewer
// bytes at the same picture.
type Codec string

const (
	H264 Codec = "h264"
	HEVC Codec = "hevc" // libx265, hvc1-tagged
	AV1  Codec = "av1"  // SVT-AV1
)

// extraCodecs are the codecs Ladder.Extra may hold, in the order their
// rungs are listed.
var extraCodecs = []Codec{HEVC, AV1}

// maxCodecList bounds how many names a codec list may hold (duplicates
// included): a list is written by people, never hundreds long.
const maxCodecList = 8

// ParseCodecs reads a list of video codec names ("h264", "hevc", "av1",
// case-insensitive; "" is none) and returns the extra codecs it asks for,
// in extraCodecs' order: H.264 is always encoded, so naming it adds
// nothing. An unknown name is an error that says which.
func ParseCodecs(names []string) ([]Codec, error) {
	if len(names) > maxCodecList {
		return nil, fmt.Errorf("video codecs: %d names, at most %d", len(names), maxCodecList)
	}
	want := map[Codec]bool{}
	for _, n := range names {
		c := Codec(strings.ToLower(strings.TrimSpace(n)))
		switch {
		case c == H264:
		case slices.Contains(extraCodecs, c):
			want[c] = true
		default:
			if len(n) > 16 {
				n = n[:16] + "…"
			}
			return nil, fmt.Errorf("video codec %q: want h264, hevc or av1", n)
		}
	}
	var out []Codec
	for _, c := range extraCodecs {
		if want[c] {
			out = append(out, c)
		}
	}
	return out, nil
}

// ParseCodecList is ParseCodecs of a comma-separated list, as the
// VIDEO_CODECS setting and hlsflow up --codecs give it.
func ParseCodecList(s string) ([]Codec, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	return ParseCodecs(strings.Split(s, ","))
}

// Ladder rules for the extra codecs. Only the top rungs get them: they
// carry most of a ladder's bytes (720p and 1080p are about three quarters
// of the fixed ladder's bitrate), so that is where fewer bits per picture
// pay, while each extra rung costs an encode that is several times x264's
// (see encoder's codec settings). The rungs below stay H.264 only: they
// serve slow links and small screens, which the H.264 rungs serve for
// every player. A 360p source still gets its one rung in each codec.
const (
	extraRungs     = 2   // per extra codec, the highest H.264 rungs...
	extraMinHeight = 360 // ...down to this short side
)

// codecRule is what an extra codec's rung is given relative to the H.264
// rung of the same size: its cap (maxrate and buffer, the share of the
// H.264 rung's) and its constant quality, mapped from a per-title H.264
// rung's CRF or, for a fixed-bitrate rung, a default.
type codecRule struct {
	capShare   float64
	crfOffset  float64 // added to the H.264 CRF (HEVC: x265's scale)
	crfScale   float64 // multiplies it (AV1: SVT-AV1's 0..63 scale)
	defaultCRF float64 // for a fixed-bitrate H.264 rung
	maxCRF     float64
	integerCRF bool // SVT-AV1 takes whole numbers only
}

// codecRules come from encoder's BenchmarkCodecs (the CRF that matches
// the H.264 rung's SSIM within 0.002, and the bytes it takes; README,
// "Video codecs"): the matching CRF was 17-23 for x265 and 24-38 for
// SVT-AV1 across the clips, so a fixed-bitrate rung gets the middle of
// that; the hardest clip needed 0.7 of H.264's bytes in either codec, so
// the caps are 0.7 and 0.6 of H.264's maxrate: lower caps would cost
// complex content picture quality, higher ones savings on it.
var codecRules = map[Codec]codecRule{
	HEVC: {capShare: 0.7, crfOffset: 2, crfScale: 1, defaultCRF: 22, maxCRF: 40},
	AV1:  {capShare: 0.6, crfOffset: 0, crfScale: 1.45, defaultCRF: 32, maxCRF: 55, integerCRF: true},
}

// PlanCodecs adds to l the rungs of each extra codec in codecs (see the
// ladder rules above): each at the size and frame rate of the H.264 rung
// it is made from, encoded from the same scaled picture with the same
// keyframes, named after it ("720p-hevc", "720p-av1"). SVT-AV1 places
// keyframes by frame count only (ffmpeg 5.1 does not pass it forced
// keyframes), so a ladder with AV1 rungs needs segments of a whole number
// of frames: where they are not (29.97, 23.976, 59.94 fps), its segment is
// made so (wholeFrameSegment), which every rung's keyframes then follow.
// A rung whose segment still is not (a rate no whole-frame segment fits)
// gets no AV1 rung; its keyframes would drift from the segment boundaries.
func PlanCodecs(l Ladder, codecs []Codec) Ladder {
	l.Extra = nil
	if slices.Contains(codecs, AV1) {
		l.SegmentSeconds = wholeFrameSegment(l.SegmentSeconds, l.Video)
	}
	for _, c := range codecs {
		rule, ok := codecRules[c]
		if !ok {
			continue
		}
		n := 0
		for _, r := range l.Video {
			if n == extraRungs || min(r.Width, r.Height) < extraMinHeight {
				break
			}
			n++
			if c == AV1 && !wholeFrames(l.SegmentSeconds, r.FPS) {
				continue
			}
			l.Extra = append(l.Extra, extraRung(r, c, rule))
		}
	}
	return l
}

// wholeFrameSegment returns seg, or where seg is not a whole number of
// frames at every rung's rate, the nearest length that is a whole number
// of frames at the lowest: rungs run at the source's rate or its halves
// (PlanLadder), so that length is whole at the others too (4 s at 29.97
// and 59.94 fps becomes 4.004 s, 120 and 240 frames; 23.976 fps 4.004 s,
// 96 frames). Like every segment length it stays within 1..60 s. The
// length is rounded to the microsecond (ffmpeg's unit for times) when
// that keeps it whole, as it does for the NTSC rates (N/1001 fps).
func wholeFrameSegment(seg float64, rungs []Rung) float64 {
	low := 0.0
	whole := true
	for _, r := range rungs {
		if r.FPS > 0 && (low == 0 || r.FPS < low) {
			low = r.FPS
		}
		whole = whole && (r.FPS <= 0 || wholeFrames(seg, r.FPS))
	}
	if whole || low == 0 || seg <= 0 {
		return seg
	}
	n := math.Round(seg * low)
	if n/low > 60 {
		n--
	} else if n/low < 1 {
		n++
	}
	out := n / low
	if n < 1 || out < 1 || out > 60 {
		return seg // a rate too low for any whole-frame segment
	}
	if us := math.Round(out*1e6) / 1e6; math.Abs(us*low-n) < 1e-9 {
		out = us
	}
	return out
}

// wholeFrames reports whether a segment of seg seconds at fps is a whole
// number of frames.
func wholeFrames(seg, fps float64) bool {
	n := seg * fps
	return n >= 1 && math.Abs(n-math.Round(n)) < 1e-3
}

func extraRung(r Rung, c Codec, rule codecRule) Rung {
	crf := rule.defaultCRF
	if r.CRF > 0 {
		crf = r.CRF*rule.crfScale + rule.crfOffset
	}
	if rule.integerCRF {
		crf = math.Round(crf)
	}
	scale := func(n int) int { return int(math.Round(float64(n)*rule.capShare/1000)) * 1000 }
	return Rung{
		Name: r.Name + "-" + string(c), Codec: c,
		Width: r.Width, Height: r.Height, FPS: r.FPS,
		Bitrate: scale(r.Bitrate), MaxRate: scale(r.MaxRate), BufSize: scale(r.BufSize),
		Profile: "main", CRF: math.Min(crf, rule.maxCRF),
	}
}

// VideoCodec returns the rung's codec: H264 when Rung.Codec is empty.
func (r Rung) VideoCodec() Codec {
	if r.Codec == "" {
		return H264
	}
	return r.Codec
}

// extraCodecs is the RFC 6381 string of an extra-codec rung when its init
// segment cannot be read (the master normally names what was encoded,
// InitCodecs): Main profile, 8 bits, the level its picture rate needs.
func (r Rung) extraCodecs() string {
	sps := float64(r.Width*r.Height) * r.FPS // luma samples per second
	switch r.Codec {
	case HEVC:
		level := 93 // 3.1: 720p30
		switch {
		case sps > 133_693_440:
			level = 153 // 5.1
		case sps > 66_846_720:
			level = 123 // 4.1: 1080p60
		case sps > 33_177_600:
			level = 120 // 4: 1080p30
		}
		return fmt.Sprintf("hvc1.1.6.L%d.90", level)
	case AV1:
		level := 5 // 3.1
		switch {
		case sps > 133_693_440:
			level = 13 // 5.1
		case sps > 70_778_880:
			level = 9 // 4.1
		case sps > 35_389_440:
			level = 8 // 4.0
		}
		return fmt.Sprintf("av01.0.%02dM.08", level)
	}
	return ""
}

// validExtraName reports whether name is an extra-codec rung's name: a
// video rung's name, "-", an extra codec.
func validExtraName(name string) bool {
	for _, c := range extraCodecs {
		if base, ok := strings.CutSuffix(name, "-"+string(c)); ok {
			return validH264RungName(base)
		}
	}
	return false
}
