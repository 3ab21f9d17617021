package encoder

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/hlsflow/hlsflow/internal/media"
)

// Encoder settings of the extra codecs (media.Ladder.Extra), chosen by
// speed on 720p (CPU seconds per source second, x264 veryfast ≈ 0.2 on
// the same machine): x265 "faster" ≈ 0.7 ("fast" ≈ 0.95 for a few
// percent fewer bytes), SVT-AV1 preset 10 ≈ 0.45 (8 ≈ 1.0, 12 ≈ 0.25 with
// visibly more bytes at the same SSIM). See the README, "Video codecs".
const (
	hevcPreset = "faster"
	av1Preset  = "10"
)

// codecCost is the CPU time and memory of an extra codec's rung relative
// to an x264 veryfast rung of the same size, for the Budget: measured
// CPU (see above) rounded up, and the encoders' own buffers (x265's
// lookahead and frame threads, SVT-AV1's picture buffers) as their peak
// resident size over x264's.
var codecCost = map[media.Codec]struct{ cpu, memory float64 }{
	media.HEVC: {cpu: 5, memory: 3},
	media.AV1:  {cpu: 4, memory: 4},
}

// extraArgs are the settings of extra rung r, output stream v:i. They
// follow the H.264 settings (x264Args, which every video stream gets) and
// override what differs, as ffmpeg applies a stream's most specific
// option last. Keyframes: x265 takes the forced keyframes as IDR
// (-forced-idr, set for every stream) with its scene cuts off and closed
// GOPs; SVT-AV1 is given a closed GOP of exactly one segment (ffmpeg 5.1
// does not pass it forced keyframes; media.PlanCodecs makes the segment
// of a ladder with AV1 rungs a whole number of frames). Both are capped constant
// quality: the rung's CRF under its maxrate (SVT-AV1's mbr, in kb/s).
func extraArgs(i int, r media.Rung, seg float64) []string {
	s := ":v:" + strconv.Itoa(i)
	switch r.Codec {
	case media.HEVC:
		return []string{
			"-c" + s, "libx265", "-preset" + s, hevcPreset, "-tag" + s, "hvc1",
			"-crf" + s, fmtFloat(r.CRF), "-maxrate" + s, strconv.Itoa(r.MaxRate), "-bufsize" + s, strconv.Itoa(r.BufSize),
			"-profile" + s, "main",
			"-x265-params" + s, "scenecut=0:open-gop=0:log-level=error",
		}
	case media.AV1:
		return []string{
			"-c" + s, "libsvtav1", "-preset" + s, av1Preset,
			"-crf" + s, strconv.Itoa(int(math.Round(r.CRF))), "-g" + s, strconv.Itoa(int(math.Round(seg * r.FPS))),
			"-svtav1-params" + s, fmt.Sprintf("mbr=%d:scd=0", r.MaxRate/1000),
		}
	}
	return nil
}

// extraOK reports whether the extra rungs of j can be encoded: on demand,
// in CMAF (HLS carries HEVC and AV1 only in fragmented MP4), each a known
// codec at the size and frame rate of an H.264 rung it is split from.
func extraOK(j Job) bool {
	l := j.Ladder
	if len(l.Extra) == 0 {
		return true
	}
	if j.Output.Kind != VOD || !j.Output.CMAF {
		return false
	}
	for _, x := range l.Extra {
		if _, ok := codecCost[x.Codec]; !ok || baseRung(l.Video, x) < 0 {
			return false
		}
	}
	return true
}

// baseRung is the index of the H.264 rung that extra rung x is made from:
// the first of the same size and frame rate, or -1.
func baseRung(rungs []media.Rung, x media.Rung) int {
	for i, r := range rungs {
		if r.Width == x.Width && r.Height == x.Height && r.FPS == x.FPS {
			return i
		}
	}
	return -1
}

// splitExtra adds to a ladder graph (LadderGraph's, with or without the
// storyboard's branch) the outputs of the extra rungs: each H.264 rung's
// scaled picture is split once more for every extra rung of its size, so
// the extra rung encodes exactly the frames its H.264 rung does. Extra
// rung k is [out{len(rungs)+k}].
func splitExtra(graph string, rungs, extra []media.Rung) string {
	for i := range rungs {
		var outs strings.Builder
		n := 0
		for k, x := range extra {
			if baseRung(rungs, x) == i {
				fmt.Fprintf(&outs, "[out%d]", len(rungs)+k)
				n++
			}
		}
		if n == 0 {
			continue
		}
		label, via := fmt.Sprintf("[out%d]", i), fmt.Sprintf("[xs%d]", i)
		graph = strings.Replace(graph, label, via, 1) + fmt.Sprintf(";%ssplit=%d%s%s", via, n+1, label, outs.String())
	}
	return graph
}
