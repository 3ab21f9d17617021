package encoder

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/media"
)

// BenchmarkPerTitleBound measures what a per-title planner could reach if
// it knew each source exactly, the bound BenchmarkPerTitle's figure is
// read against: the top rung of each source's fixed ladder (the sources
// of BenchmarkPerTitle, PERTITLE_CLIPS too), encoded whole at capped CRF
// boundStartCRF, +2, ... under the fixed rung's cap, at x264 veryfast (the
// fixed ladder's preset) and fast, until its SSIM is under the lowest
// target; the bytes at each target (the fixed rung's SSIM minus 0.0015,
// the planner's aim, and minus 0.002, the benchmark's limit) are
// interpolated between the CRFs around it (log bytes and log(1-SSIM)
// straight between them). It prints, per source, preset and target,
//
//	pertitle_bound_<preset>_<tolerance>_<clip>: bytes / the fixed rung's,
//	  at most 1 (a planner keeps the fixed rung where no CRF is cheaper)
//
// and their averages, pertitle_bound_<preset>_<tolerance>. The top rung
// carries most of a ladder's bytes; the lower rungs are not encoded.
// Run: make bench-pertitle-bound.
func BenchmarkPerTitleBound(b *testing.B) {
	dir := b.TempDir()
	clips := perTitleClips(b, dir)
	presets := []string{DefaultPreset, "fast"}
	for i := 0; i < b.N; i++ {
		sums := map[string]float64{}
		for k, c := range clips {
			name := strings.TrimSuffix(filepath.Base(c.path), filepath.Ext(c.path))
			ratios := boundOf(b, c, presets, filepath.Join(dir, strconv.Itoa(k)))
			for _, key := range slices.Sorted(maps.Keys(ratios)) {
				fmt.Printf("pertitle_bound_%s_%s: %.3f\n", key, name, ratios[key])
				sums[key] += ratios[key]
			}
		}
		for _, p := range presets {
			for _, t := range boundTolerances {
				key := p + "_" + fmtFloat(t)
				fmt.Printf("pertitle_bound_%s: %.3f\n", key, sums[key]/float64(len(clips)))
			}
		}
	}
}

// The bound's targets, below the fixed rung's SSIM, and its CRF sweep.
var boundTolerances = []float64{0.0015, 0.002}

const boundStartCRF, boundMaxCRF = 12, 51

// boundPoint is one encode of the sweep.
type boundPoint struct {
	crf, bytes, ssim float64
}

// boundOf encodes clip c's fixed top rung and sweeps it at each of
// presets (in dir), and returns, per "<preset>_<tolerance>", its bytes at
// the fixed rung's SSIM minus the tolerance over the fixed rung's bytes.
func boundOf(b *testing.B, c perTitleClip, presets []string, dir string) map[string]float64 {
	b.Helper()
	src, fixed := benchClip(b, c.path, c.seconds)
	top := fixed.Video[0]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	ref := referenceOf(b, c.path, c.seconds, filepath.Join(dir, "reference.mkv"))
	dur := time.Duration(src.Duration * float64(time.Second))
	encode := func(r media.Rung, preset, out string) boundPoint {
		l := media.Ladder{SegmentSeconds: fixed.SegmentSeconds, Video: []media.Rung{r}}
		encodeCPU(b, ladderArgs(src, l, encodeOptions{Input: c.path, OutDir: out, Duration: dur, Preset: preset}))
		rd := filepath.Join(out, r.Name)
		return boundPoint{crf: r.CRF, bytes: float64(dirBytes(b, rd)), ssim: rungSSIM(b, rd, ref, src, r)}
	}
	f := encode(top, DefaultPreset, filepath.Join(dir, "fixed"))
	lowest := f.ssim - boundTolerances[len(boundTolerances)-1]
	out := map[string]float64{}
	for _, p := range presets {
		var sweep []boundPoint
		for crf := float64(boundStartCRF); crf <= boundMaxCRF; crf += 2 {
			r := top
			r.CRF = crf
			pt := encode(r, p, filepath.Join(dir, p, "crf"+fmtFloat(crf)))
			sweep = append(sweep, pt)
			if pt.ssim < lowest {
				break
			}
		}
		fmt.Printf("pertitle_bound_%s_%s: fixed %.0f B ssim %.4f | sweep (crf, bytes, ssim) %v\n", p, top.Name, f.bytes, f.ssim, sweep)
		for _, t := range boundTolerances {
			ratio := 1.0
			if bytes, ok := bytesAt(sweep, f.ssim-t); ok {
				ratio = math.Min(1, bytes/f.bytes)
			}
			out[p+"_"+fmtFloat(t)] = ratio
		}
	}
	return out
}

// bytesAt interpolates the sweep's bytes at SSIM target: between the
// first two neighbouring CRFs whose SSIMs are on either side of it, log
// bytes and log(1-SSIM) taken as straight in the CRF. ok is false when
// no two are (every encode above the target, or none).
func bytesAt(sweep []boundPoint, target float64) (float64, bool) {
	for i := 1; i < len(sweep); i++ {
		a, z := sweep[i-1], sweep[i]
		if a.ssim >= target && target >= z.ssim && a.ssim > z.ssim {
			x := math.Log((1-target)/(1-a.ssim)) / math.Log((1-z.ssim)/(1-a.ssim))
			return math.Exp(math.Log(a.bytes) + x*math.Log(z.bytes/a.bytes)), true
		}
	}
	return 0, false
}

// bytesAt finds the target between the right neighbours, on the model's
// lines, and says when no two encodes straddle it.
func TestBytesAt(t *testing.T) {
	sweep := []boundPoint{
		{12, 4000, 0.990}, {14, 4000, 0.990}, // capped: the same encode
		{16, 2000, 0.980}, {18, 1000, 0.960},
	}
	got, ok := bytesAt(sweep, 0.985)
	// Halfway in log(1-SSIM) from 0.990 to 0.980 is 1-SSIM = 0.01*sqrt(2).
	want := 4000 * math.Pow(0.5, math.Log(0.015/0.01)/math.Log(2))
	if !ok || math.Abs(got-want) > 0.01 {
		t.Errorf("bytes at 0.985 = %v, %v; want %v", got, ok, want)
	}
	// On the capped encodes' SSIM: the last of them, not the 0/0 between
	// two of them.
	if got, ok := bytesAt(sweep, 0.990); !ok || got != 4000 {
		t.Errorf("bytes at 0.990 = %v, %v; want 4000", got, ok)
	}
	if got, ok := bytesAt(sweep, 0.970); !ok || !(got < 2000 && got > 1000) {
		t.Errorf("bytes at 0.970 = %v, %v; want between 1000 and 2000", got, ok)
	}
	for _, target := range []float64{0.995, 0.950} {
		if got, ok := bytesAt(sweep, target); ok {
			t.Errorf("bytes at %v = %v, want none: no encodes straddle it", target, got)
		}
	}
}
