package media

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Rung is one video rendition of the ladder.
type Rung struct {
	Name                      string // "1080p", "720p"...: named by the short side, so portrait "720p" is 720x1280
	Width, Height             int    // even, display orientation, square pixels
	FPS                       float64
	Bitrate, MaxRate, BufSize int    // bits/s; capped VBR
	Profile, Level            string // H.264 profile and level, e.g. "high", "4.0"
	// CRF, when set, encodes the rung at this constant quality capped by
	// MaxRate and BufSize instead of at Bitrate (a per-title ladder, see
	// PlanPerTitle); Bitrate is then what it is expected to average.
	CRF float64 `json:",omitempty"`
	// Codec is the rung's codec when it is not H.264 (an extra rung of
	// Ladder.Extra, see PlanCodecs); Profile and Level are then left to
	// the encoder and read back from what it wrote.
	Codec Codec `json:",omitempty"`
}

// Codecs returns the RFC 6381 codec string for the rung, e.g. "avc1.64001f".
// The middle byte holds the constraint flags x264 writes: constraint_set1
// for Main, none for High.
func (r Rung) Codecs() string {
	if r.Codec != "" && r.Codec != H264 {
		return r.extraCodecs()
	}
	profile, constraints := 0x64, 0x00
	switch r.Profile {
	case "main":
		profile, constraints = 0x4d, 0x40
	case "baseline":
		profile, constraints = 0x42, 0xc0
	}
	return fmt.Sprintf("avc1.%02x%02x%02x", profile, constraints, levelIDC(r.Level))
}

// levelIDC turns "3.1" into 31.
func levelIDC(level string) int {
	a, b, _ := strings.Cut(level, ".")
	maj, _ := strconv.Atoi(a)
	mnr, _ := strconv.Atoi(b)
	return maj*10 + mnr
}

// AudioRung is the audio rendition.
type AudioRung struct {
	Name                          string // AudioName, or AudioTrackName(n) for Ladder.MoreAudio
	Bitrate, Channels, SampleRate int
	// Stream is the source stream index of a MoreAudio track (the first
	// track is Source.Audio's).
	Stream int `json:",omitempty"`
	// Language (a BCP 47 tag) and Label (the name a track picker shows)
	// come from the source stream's tags, when there are several tracks.
	Language string `json:",omitempty"`
	Label    string `json:",omitempty"`
}

// Codecs returns the RFC 6381 codec string of AAC-LC.
func (a AudioRung) Codecs() string { return "mp4a.40.2" }

// AudioName is the audio rendition's name: its folder, and its NAME in
// the master playlist.
const AudioName = "audio"

// ValidRungName reports whether name is one PlanLadder gives a video rung:
// the short side in pixels, from the smallest picture accepted up to the
// top standard rung, then "p" ("1080p", "720p", "48p"). Names become
// folders, keys and ffmpeg arguments, so nothing else is accepted, but
// an extra codec's rung named after one ("720p-hevc", see PlanCodecs).
func ValidRungName(name string) bool {
	return validH264RungName(name) || validExtraName(name)
}

func validH264RungName(name string) bool {
	digits, ok := strings.CutSuffix(name, "p")
	if !ok || digits == "" || digits[0] == '0' || len(digits) > 4 {
		return false
	}
	n, err := strconv.Atoi(digits)
	return err == nil && strings.Trim(digits, "0123456789") == "" && n >= minSide && n <= standards[0].short
}

// Ladder is the set of renditions to encode.
type Ladder struct {
	Video          []Rung // highest first; empty for an audio-only source
	Audio          *AudioRung
	SegmentSeconds float64
	// MoreAudio are the further audio tracks of a source with video, each
	// its own rendition beside Audio (the default track).
	MoreAudio []AudioRung `json:",omitempty"`
	// Extra are the rungs in other codecs than H.264 (HEVC, AV1), each
	// the size and frame rate of a rung of Video and encoded from the same
	// scaled picture (PlanCodecs); listed after Video in the master.
	Extra []Rung `json:",omitempty"`
}

// LadderOptions tune PlanLadder.
type LadderOptions struct {
	SegmentSeconds float64  // default 4
	MaxRungs       int      // keep at most this many video rungs, the highest; 0 = all
	Rungs          []string // optional subset by name ("720p", "360p"...)
}

// DefaultSegmentSeconds is the segment length when LadderOptions leaves it
// zero: short enough to start playing fast, long enough to keep the
// per-segment overhead and request count low.
const DefaultSegmentSeconds = 4

// standard is one row of the bitrate table, for 16:9 at up to 30 fps.
type standard struct {
	short   int // short side in pixels
	bitrate int // bits/s
}

// standards is the ladder table. Bitrates are for a 16:9 picture at up to
// 30 fps; PlanLadder scales them by the rung's pixel count relative to
// 16:9 (between 0.5x and 1.5x) and by 1.5 above 30 fps, rounded to 10 kb/s:
//
//	1080p  5000 kb/s    720p  3000 kb/s    480p  1400 kb/s
//	 360p   800 kb/s    240p   400 kb/s (only for sources under 360p)
//
// A source smaller than 240p gets one rung at its own size, with the 240p
// bitrate scaled by its pixel count. A source more than 10% larger than the
// top standard rung it fits (and under 1080p) also gets a rung at its own
// size, so 960x540 gives 540p, 480p, 360p.
var standards = []standard{
	{1080, 5_000_000},
	{720, 3_000_000},
	{480, 1_400_000},
	{360, 800_000},
	{240, 400_000},
}

// Frame-rate caps: rungs above 480p keep up to 60 fps, rungs at 480p and
// below up to 30 fps. A faster source is halved until it fits (60 -> 30,
// 50 -> 25, 120 -> 60), so every kept frame is a source frame.
const (
	maxFPSHigh = 60
	maxFPSLow  = 30
)

// Audio rendition: AAC-LC stereo 128 kb/s 48 kHz for every source with
// audio (5.1 is downmixed by ffmpeg's standard matrix, mono is duplicated).
const (
	audioBitrate    = 128_000
	audioChannels   = 2
	audioSampleRate = 48_000
)

// PlanLadder chooses the renditions for src. It never upscales, keeps the
// display aspect ratio (rotation and sample aspect ratio applied), and gives
// even sizes. See standards for the table.
func PlanLadder(src *Source, opt LadderOptions) (Ladder, error) {
	if src == nil || (src.Video == nil && src.Audio == nil) {
		return Ladder{}, fmt.Errorf("plan ladder: %w: the file has no video or audio", ErrUnsupported)
	}
	seg := opt.SegmentSeconds
	if seg == 0 {
		seg = DefaultSegmentSeconds
	}
	if seg < 1 || seg > 60 || math.IsNaN(seg) {
		return Ladder{}, fmt.Errorf("plan ladder: segment length %g s is outside 1..60 s", seg)
	}
	l := Ladder{SegmentSeconds: seg}
	if src.Audio != nil {
		l.Audio = &AudioRung{Name: AudioName, Bitrate: audioBitrate, Channels: audioChannels, SampleRate: audioSampleRate}
	}
	if src.Video == nil {
		return l, nil
	}
	planMoreAudio(src, &l)
	v := src.Video
	if v.Width < 2 || v.Height < 2 || v.FPS <= 0 {
		return Ladder{}, fmt.Errorf("plan ladder: %w: the video has no usable picture size or frame rate", ErrUnsupported)
	}
	rungs := planRungs(v)
	if len(opt.Rungs) > 0 {
		var kept []Rung
		for _, r := range rungs {
			if slices.Contains(opt.Rungs, r.Name) {
				kept = append(kept, r)
			}
		}
		// A subset that fits none of this source's rungs keeps the smallest
		// rung rather than refusing the video for a configuration choice.
		if len(kept) == 0 {
			kept = rungs[len(rungs)-1:]
		}
		rungs = kept
	}
	if opt.MaxRungs > 0 && len(rungs) > opt.MaxRungs {
		rungs = rungs[:opt.MaxRungs]
	}
	l.Video = rungs
	return l, nil
}

func planRungs(v *Video) []Rung {
	portrait := v.Height > v.Width
	long, short := float64(v.Width), float64(v.Height)
	if portrait {
		long, short = short, long
	}
	aspect := long / short
	var rungs []Rung
	for _, s := range standards {
		if s.short > int(short) || (s.short == 240 && short >= 360) {
			continue
		}
		rungs = append(rungs, makeRung(s.short, aspect, int(long), portrait, v.FPS, s.bitrate, s.short))
	}
	if len(rungs) == 0 {
		// Smaller than every standard rung: one rung at its own size.
		sh := evenDown(int(short))
		rungs = append(rungs, makeRung(sh, aspect, int(long), portrait, v.FPS, 400_000, 240))
		return rungs
	}
	// A source between two standard sizes (540p, an odd 332p, a 320-wide
	// phone video) would otherwise top out at the standard rung below it and
	// throw away detail the viewer paid for: add a rung at the source's own
	// size, rated from the standard rung above it.
	top := rungs[0]
	topShort := min(top.Width, top.Height)
	if sh := evenDown(int(short)); topShort < standards[0].short && float64(sh) > nativeMargin*float64(topShort) {
		above := standards[0]
		for _, s := range standards {
			if s.short > sh {
				above = s
			}
		}
		rungs = append([]Rung{makeRung(sh, aspect, int(long), portrait, v.FPS, above.bitrate, above.short)}, rungs...)
	}
	return rungs
}

// nativeMargin is how much larger than the top standard rung a source must
// be to get a rung at its own size; below it the difference is not worth
// another encode.
const nativeMargin = 1.1

// makeRung sizes a rung and rates it from base, the bitrate of a 16:9
// picture stdShort pixels high.
func makeRung(short int, aspect float64, srcLong int, portrait bool, srcFPS float64, base, stdShort int) Rung {
	long := evenRound(float64(short) * aspect)
	if long > srcLong {
		long = evenDown(srcLong)
	}
	long = max(long, short) // keep the short side short whatever the rounding
	fps := srcFPS
	limit := float64(maxFPSHigh)
	if short <= 480 {
		limit = maxFPSLow
	}
	for fps > limit+0.01 {
		fps /= 2
	}
	// Scale the 16:9 bitrate by pixel count, within reason.
	stdPixels := float64(evenRound(float64(stdShort)*16/9) * stdShort)
	ratio := math.Min(1.5, math.Max(0.5, float64(long*short)/stdPixels))
	rate := float64(base) * ratio
	if fps > 30.01 {
		rate *= 1.5
	}
	bitrate := int(math.Round(rate/10_000)) * 10_000 // round to 10 kb/s
	w, h := long, short
	if portrait {
		w, h = short, long
	}
	r := Rung{
		Name:    strconv.Itoa(short) + "p",
		Width:   w,
		Height:  h,
		FPS:     fps,
		Bitrate: bitrate,
		MaxRate: bitrate * 11 / 10,
		BufSize: bitrate * 2,
		Profile: "high",
	}
	if short <= 360 {
		// Main for the small rungs that old and low-end devices pick.
		r.Profile = "main"
	}
	r.Level = pickLevel(w, h, fps, r.MaxRate, r.BufSize, r.Profile == "high")
	return r
}

// h264Levels is Table A-1 of H.264: max macroblocks per second, per frame,
// max bitrate and CPB size (kbit/s and kbit, Main; High allows 1.25x).
var h264Levels = []struct {
	name              string
	mbps, fs, br, cpb int
}{
	{"3.0", 40500, 1620, 10000, 10000},
	{"3.1", 108000, 3600, 14000, 14000},
	{"3.2", 216000, 5120, 20000, 20000},
	{"4.0", 245760, 8192, 20000, 25000},
	{"4.1", 245760, 8192, 50000, 62500},
	{"4.2", 522240, 8704, 50000, 62500},
	{"5.0", 589824, 22080, 135000, 135000},
	{"5.1", 983040, 36864, 240000, 240000},
	{"5.2", 2073600, 36864, 240000, 240000},
}

// pickLevel returns the lowest level (3.0 at least, which every HLS player
// decodes) that fits the picture, frame rate, maxrate and buffer.
func pickLevel(w, h int, fps float64, maxRate, bufSize int, high bool) string {
	mbs := ((w + 15) / 16) * ((h + 15) / 16)
	mbps := float64(mbs) * fps
	scale := 1.0
	if high {
		scale = 1.25
	}
	maxSideMBs := max((w+15)/16, (h+15)/16)
	for _, l := range h264Levels {
		if mbs <= l.fs && mbps <= float64(l.mbps) &&
			float64(maxRate) <= float64(l.br)*1000*scale &&
			float64(bufSize) <= float64(l.cpb)*1000*scale &&
			float64(maxSideMBs*maxSideMBs) <= float64(l.fs)*8 {
			return l.name
		}
	}
	return h264Levels[len(h264Levels)-1].name
}

func evenRound(x float64) int { return int(math.Round(x/2)) * 2 }
func evenDown(n int) int      { return n &^ 1 }
