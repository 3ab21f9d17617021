package encoder

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/cost"
	"github.com/hlsflow/hlsflow/internal/media"
)

// BenchmarkCodecs measures what the HEVC and AV1 rungs save, and what
// they cost to make, on the repository's clips (the first codecSeconds of
// each) and a synthetic high-motion source. For every rung that gets
// extra codecs (media.PlanCodecs: the top two), it encodes today's fixed
// H.264 ladder in CMAF, then searches each extra codec's CRF (capped at
// the H.264 rung's maxrate, so the cap never decides) for the highest
// whose SSIM against the source is at least the H.264 rung's minus 0.002,
// and compares bytes. It prints both SSIMs and the CRF per rung, then
//
//	hevc_bytes_vs_h264_<clip>, av1_bytes_vs_h264_<clip>: extra-codec
//	  bytes / H.264 bytes over the rungs with extra codecs
//	hevc_bytes_vs_h264, av1_bytes_vs_h264: their averages over the
//	  clips (targets <= 0.70 and <= 0.60)
//	cpu_s_per_source_min_h264, cpu_s_per_source_min_h264_av1: CPU
//	  seconds (user+sys of ffmpeg) per source minute of the product's
//	  single-process encode of the whole ladder, H.264 only and with the
//	  AV1 rungs, over every clip
//	cost_per_source_minute_usd_h264, cost_per_source_minute_usd_h264_av1:
//	  those CPU seconds at Lambda's arm64 price (mediaConvertPrices)
//	mediaconvert_per_source_minute_usd_h264, _h264_av1: MediaConvert's
//	  on-demand price for the same outputs, and the ratios of ours to it
//
// Run: go test -run '^$' -bench Codecs -benchtime 1x ./internal/encoder/
func BenchmarkCodecs(b *testing.B) {
	dir := b.TempDir()
	synth := syntheticMotion(b, dir, codecSeconds)
	clips := []string{
		testMedia(b, "01_bbb_720p_h264_aac51.mp4"),
		testMedia(b, "02_flower_960x540_h264_aac.mp4"),
		testMedia(b, "08_tears_of_steel_vp8_vorbis.webm"),
		testMedia(b, "09_bbb_720p60_h264_aac.ts"),
		testMedia(b, "11_bottles_640x360_noaudio.mp4"),
		synth,
	}
	for i := 0; i < b.N; i++ {
		ratios := map[media.Codec][]float64{}
		var seconds float64
		var cpuH264, cpuAV1 time.Duration
		var mcH264, mcAV1 float64
		for n, path := range clips {
			name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
			r := codecsVsH264(b, path, filepath.Join(dir, strconv.Itoa(n)))
			for _, c := range []media.Codec{media.HEVC, media.AV1} {
				ratio, ok := r.ratio[c]
				if !ok {
					// Below 360p: no rung gets extra codecs.
					fmt.Printf("%s_bytes_vs_h264_%s: n/a (no rung of 360p or more)\n", c, name)
					continue
				}
				fmt.Printf("%s_bytes_vs_h264_%s: %.3f\n", c, name, ratio)
				ratios[c] = append(ratios[c], ratio)
			}
			seconds += r.seconds
			cpuH264 += r.cpuH264
			cpuAV1 += r.cpuAV1
			mcH264 += r.mcH264
			mcAV1 += r.mcAV1
		}
		for _, c := range []media.Codec{media.HEVC, media.AV1} {
			avg := mean(ratios[c])
			fmt.Printf("%s_bytes_vs_h264: %.3f\n", c, avg)
			b.ReportMetric(avg, string(c)+"-bytes-ratio")
		}
		minutes := seconds / 60
		perMin := func(d time.Duration) float64 { return d.Seconds() / minutes }
		usd := func(d time.Duration) float64 { return perMin(d) * cost.USEast1.VCPUSecond() }
		fmt.Printf("cpu_s_per_source_min_h264: %.1f\n", perMin(cpuH264))
		fmt.Printf("cpu_s_per_source_min_h264_av1: %.1f\n", perMin(cpuAV1))
		fmt.Printf("cost_per_source_minute_usd_h264: %.5f\n", usd(cpuH264))
		fmt.Printf("cost_per_source_minute_usd_h264_av1: %.5f\n", usd(cpuAV1))
		fmt.Printf("mediaconvert_per_source_minute_usd_h264: %.4f\n", mcH264/minutes)
		fmt.Printf("mediaconvert_per_source_minute_usd_h264_av1: %.4f\n", mcAV1/minutes)
		fmt.Printf("cost_vs_mediaconvert_h264: %.3f\n", usd(cpuH264)/(mcH264/minutes))
		fmt.Printf("cost_vs_mediaconvert_h264_av1: %.3f\n", usd(cpuAV1)/(mcAV1/minutes))
	}
}

// codecSeconds is how much of each clip the benchmark encodes: AV1 and
// HEVC are several times x264's CPU, and the CRF search encodes each rung
// a few times.
const codecSeconds = 6

type codecsResult struct {
	ratio           map[media.Codec]float64
	seconds         float64
	cpuH264, cpuAV1 time.Duration
	mcH264, mcAV1   float64 // MediaConvert USD for the clip's outputs
}

// codecsVsH264 measures one clip (see BenchmarkCodecs).
func codecsVsH264(b *testing.B, input, out string) codecsResult {
	b.Helper()
	src, fixed := benchClip(b, input, codecSeconds)
	name := strings.TrimSuffix(filepath.Base(input), filepath.Ext(input))
	res := codecsResult{ratio: map[media.Codec]float64{}, seconds: src.Duration}

	// The product's encodes, for the CPU: H.264 alone, and with AV1.
	h264Dir := filepath.Join(out, "h264")
	res.cpuH264 = encodeCPU(b, codecJobArgs(input, src, fixed, h264Dir))
	withAV1 := withExtra(fixed, media.AV1)
	res.cpuAV1 = encodeCPU(b, codecJobArgs(input, src, withAV1, filepath.Join(out, "h264av1")))
	minutes := src.Duration / 60
	for _, r := range withAV1.Video {
		res.mcH264 += minutes * cost.MediaConvertBasicUSEast1.OutputMinute(r.Width, r.Height, r.FPS)
	}
	res.mcAV1 = res.mcH264
	for _, r := range withAV1.Extra {
		res.mcAV1 += minutes * cost.MediaConvertBasicUSEast1.OutputMinute(r.Width, r.Height, r.FPS)
	}

	ref := referenceOf(b, input, codecSeconds, filepath.Join(out, "reference.mkv"))
	for _, c := range []media.Codec{media.HEVC, media.AV1} {
		var h264Bytes, extraBytes int64
		for k, x := range withExtra(fixed, c).Extra {
			base := fixed.Video[baseRung(fixed.Video, x)]
			hb := cmafBytes(b, filepath.Join(h264Dir, base.Name))
			hs := rungSSIM(b, filepath.Join(h264Dir, base.Name), ref, src, base)
			crf, xb, xs := searchCRF(b, input, ref, src, base, x, hs-0.002, filepath.Join(out, fmt.Sprintf("%s%d", c, k)))
			fmt.Printf("codecs_%s_%s: h264 %d B ssim %.4f | %s crf %g %d B ssim %.4f | ratio %.3f (planned crf %g, cap %.2f of h264's)\n",
				name, x.Name, hb, hs, c, crf, xb, xs, float64(xb)/float64(hb), x.CRF, float64(x.MaxRate)/float64(base.MaxRate))
			h264Bytes += hb
			extraBytes += xb
		}
		if h264Bytes > 0 {
			res.ratio[c] = float64(extraBytes) / float64(h264Bytes)
		}
	}
	return res
}

// withExtra is l with the extra rungs of codec c, as the product plans
// them (media.PlanCodecs: with AV1, a 29.97 fps clip's segment is made
// 4.004 s, a whole number of frames).
func withExtra(l media.Ladder, c media.Codec) media.Ladder {
	return media.PlanCodecs(l, []media.Codec{c})
}

// searchCRF finds the highest CRF of extra rung x (on its own, beside its
// H.264 rung) whose SSIM is at least target: steps of 2 (HEVC) or 4
// (AV1) from the planned CRF, then one step between. It returns the CRF,
// the rung's bytes and SSIM there.
func searchCRF(b *testing.B, input, ref string, src *media.Source, base, x media.Rung, target float64, out string) (float64, int64, float64) {
	b.Helper()
	x.MaxRate, x.BufSize = base.MaxRate, base.BufSize
	step, lo := 2.0, 10.0
	if x.Codec == media.AV1 {
		step, lo = 4, 10
	}
	type trial struct {
		bytes int64
		ssim  float64
	}
	tried := map[float64]trial{}
	try := func(crf float64) trial {
		if t, ok := tried[crf]; ok {
			return t
		}
		x.CRF = crf
		dir := filepath.Join(out, fmtFloat(crf))
		l := media.Ladder{Video: []media.Rung{base}, Extra: []media.Rung{x}, SegmentSeconds: media.DefaultSegmentSeconds}
		encodeCPU(b, codecJobArgs(input, src, l, dir))
		t := trial{cmafBytes(b, filepath.Join(dir, x.Name)), rungSSIM(b, filepath.Join(dir, x.Name), ref, src, x)}
		tried[crf] = t
		return t
	}
	crf := x.CRF
	pass, fail := math.NaN(), math.NaN()
	for range 6 {
		if try(crf).ssim >= target {
			pass = crf
			if !math.IsNaN(fail) {
				break
			}
			crf += step
		} else {
			fail = crf
			if !math.IsNaN(pass) || crf-step < lo {
				break
			}
			crf -= step
		}
	}
	if math.IsNaN(pass) {
		// Even the best tried misses the target: report it, honestly worse.
		best := slices.Min(slices.Collect(func(yield func(float64) bool) {
			for c := range tried {
				if !yield(c) {
					return
				}
			}
		}))
		return best, tried[best].bytes, tried[best].ssim
	}
	if !math.IsNaN(fail) && fail-pass > 1 {
		if mid := math.Round((pass + fail) / 2); try(mid).ssim >= target {
			pass = mid
		}
	}
	return pass, tried[pass].bytes, tried[pass].ssim
}

// codecJobArgs are the product's arguments for a CMAF encode of l.
func codecJobArgs(input string, src *media.Source, l media.Ladder, dir string) []string {
	a := Args(Job{Input: Input{URL: input, Source: src, Duration: src.Duration}, Ladder: l,
		Output: Output{Kind: VOD, Dir: dir, CMAF: true}, ShareThreads: true})
	if a == nil {
		panic("no arguments for " + dir)
	}
	return a
}

// cmafBytes sums a CMAF rendition folder: its init segment and segments.
func cmafBytes(b *testing.B, dir string) int64 {
	b.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".m4s") || strings.HasSuffix(e.Name(), ".mp4") {
			fi, err := e.Info()
			if err != nil {
				b.Fatal(err)
			}
			n += fi.Size()
		}
	}
	return n
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
