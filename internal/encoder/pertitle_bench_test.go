package encoder

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/media"
)

// BenchmarkPerTitle encodes each source with today's fixed ladder and
// with its per-title ladder (the complexity pass, media.PlanPerTitle,
// then the same encode) and prints, per clip and rung, the bytes and the
// SSIM of each against the source (referenceOf) at the rung's size (a dropped rung is
// judged by the kept rung below it, scaled up: what a player at that
// bandwidth shows), then
//
//	pertitle_bytes_vs_fixed_<clip>: per-title bytes / fixed bytes
//	pertitle_bytes_vs_fixed: their average (target <= 0.65, none > 1.0)
//	pertitle_ssim_ok: 1 when every rung's SSIM is at least the fixed
//	  rung's minus 0.002, else 0
//	pertitle_cpu_overhead_pct_<clip>: the pass's CPU over the per-title
//	  encode's (user+sys of the ffmpeg processes)
//	pertitle_cpu_overhead_pct: the same over the sources of longSource
//	  or more together (target <= 10), and _short_clips over the others
//	  (where the sample is a large part of the clip)
//
// The sources: the first benchSeconds of the repository's video clips,
// Tears of Steel whole (70 s: the overhead of a source longer than a
// sample), and a synthetic high-motion source (testsrc2 with noise). Run:
// go test -run '^$' -bench PerTitle -benchtime 1x ./internal/encoder/
// (PERTITLE_CLIPS=flower,09_bbb runs only the clips whose paths contain
// one of those).
func BenchmarkPerTitle(b *testing.B) {
	dir := b.TempDir()
	clips := perTitleClips(b, dir)
	for i := 0; i < b.N; i++ {
		var ratios []float64
		// CPU of the pass and of the encode, for sources longer than
		// longSource and shorter ones: a slice is most of a short clip.
		var passCPU, encodeCPUs, passShort, encodeShort time.Duration
		ok := true
		for _, c := range clips {
			r := perTitleVsFixed(b, c.path, c.seconds, filepath.Join(dir, strconv.Itoa(len(ratios))))
			name := strings.TrimSuffix(filepath.Base(c.path), filepath.Ext(c.path))
			fmt.Printf("pertitle_bytes_vs_fixed_%s: %.3f\n", name, r.ratio)
			fmt.Printf("pertitle_cpu_overhead_pct_%s: %.1f (pass %.2f s, encode %.2f s of CPU)\n", name, 100*r.passCPU.Seconds()/r.encodeCPU.Seconds(), r.passCPU.Seconds(), r.encodeCPU.Seconds())
			ratios = append(ratios, r.ratio)
			if r.seconds >= longSource {
				passCPU += r.passCPU
				encodeCPUs += r.encodeCPU
			} else {
				passShort += r.passCPU
				encodeShort += r.encodeCPU
			}
			ok = ok && r.ssimOK && r.ratio <= 1
		}
		var sum float64
		for _, r := range ratios {
			sum += r
		}
		avg := sum / float64(len(ratios))
		overhead := 100 * passCPU.Seconds() / encodeCPUs.Seconds()
		fmt.Printf("pertitle_bytes_vs_fixed: %.3f\n", avg)
		fmt.Printf("pertitle_ssim_ok: %d\n", map[bool]int{true: 1}[ok])
		fmt.Printf("pertitle_cpu_overhead_pct: %.1f\n", overhead)
		fmt.Printf("pertitle_cpu_overhead_pct_short_clips: %.1f\n", 100*passShort.Seconds()/encodeShort.Seconds())
		b.ReportMetric(avg, "bytes-ratio")
		b.ReportMetric(overhead, "pass-cpu-%")
	}
}

// benchSeconds is how much of the longer clips the benchmark encodes;
// sources of longSource or more count in the headline CPU overhead.
const benchSeconds, longSource = 12, 60

// perTitleClip is a source of the per-title benchmarks and how much of
// it they encode.
type perTitleClip struct {
	path    string
	seconds float64 // 0: whole
}

// perTitleClips are the per-title benchmarks' sources (see
// BenchmarkPerTitle), the synthetic one made in dir, kept to those whose
// paths contain one of PERTITLE_CLIPS' comma-separated names when it is
// set.
func perTitleClips(b *testing.B, dir string) []perTitleClip {
	b.Helper()
	clips := []perTitleClip{
		{testMedia(b, "01_bbb_720p_h264_aac51.mp4"), 0},
		{testMedia(b, "02_flower_960x540_h264_aac.mp4"), 0},
		{testMedia(b, "08_tears_of_steel_vp8_vorbis.webm"), 0},
		{testMedia(b, "09_bbb_720p60_h264_aac.ts"), 0},
		{testMedia(b, "10_bbb_trailer_h264_aac.flv"), benchSeconds},
		{testMedia(b, "11_bottles_640x360_noaudio.mp4"), benchSeconds},
		{testMedia(b, "12_his_girl_friday_audio_first.mp4"), 0},
		{syntheticMotion(b, dir, 10), 0},
	}
	only := os.Getenv("PERTITLE_CLIPS")
	if only == "" {
		return clips
	}
	var kept []perTitleClip
	for _, c := range clips {
		for _, o := range strings.Split(only, ",") {
			if strings.Contains(c.path, o) {
				kept = append(kept, c)
				break
			}
		}
	}
	return kept
}

type perTitleResult struct {
	ratio, seconds     float64
	ssimOK             bool
	passCPU, encodeCPU time.Duration
}

// perTitleVsFixed encodes the first seconds (0: all) of input both ways.
func perTitleVsFixed(b *testing.B, input string, seconds float64, out string) perTitleResult {
	b.Helper()
	src, fixed := benchClip(b, input, seconds)
	spans := media.SampleSpans(src.Duration)
	var measured []media.Complexity
	var err error
	passCPU := childCPU(func() {
		measured, spans, err = MeasureComplexity(context.Background(), Complexity{FFmpeg: media.FFmpegPath(), Input: Input{URL: input, Source: src}, Ladder: fixed, Spans: spans})
	})
	if err != nil {
		b.Fatal(err)
	}
	pt, plan := media.PlanPerTitle(fixed, spans, measured)
	dur := time.Duration(src.Duration * float64(time.Second))
	fixedDir, ptDir := filepath.Join(out, "fixed"), filepath.Join(out, "pertitle")
	fixedCPU := encodeCPU(b, ladderArgs(src, fixed, encodeOptions{Input: input, OutDir: fixedDir, Duration: dur}))
	ptCPU := fixedCPU
	if reflect.DeepEqual(pt, fixed) {
		// The same arguments: the same encode (a second run would differ
		// only by x264's threading, a few hundred bytes either way).
		ptDir = fixedDir
	} else {
		ptCPU = encodeCPU(b, ladderArgs(src, pt, encodeOptions{Input: input, OutDir: ptDir, Duration: dur}))
	}

	ref := referenceOf(b, input, seconds, filepath.Join(out, "reference.mkv"))
	var fixedBytes, ptBytes int64
	res := perTitleResult{ssimOK: true, passCPU: passCPU, encodeCPU: ptCPU, seconds: src.Duration}
	name := strings.TrimSuffix(filepath.Base(input), filepath.Ext(input))
	for i, r := range fixed.Video {
		fb := dirBytes(b, filepath.Join(fixedDir, r.Name))
		fs := rungSSIM(b, filepath.Join(fixedDir, r.Name), ref, src, r)
		p := plan.Rungs[i]
		judged := r.Name
		if p.Mode == media.ModeDropped {
			// The kept rung below, as a player would show it at this size.
			for _, k := range pt.Video {
				if k.Width*k.Height < r.Width*r.Height {
					judged = k.Name
					break
				}
			}
		}
		pb := int64(0)
		if p.Mode != media.ModeDropped {
			pb = dirBytes(b, filepath.Join(ptDir, r.Name))
		}
		ps := rungSSIM(b, filepath.Join(ptDir, judged), ref, src, r)
		// The fixed rung below shown at this size: what dropping this
		// rung would give with today's bits below.
		below := "-"
		if i+1 < len(fixed.Video) && fixed.Video[i+1].FPS == r.FPS {
			below = fmt.Sprintf("%.4f", rungSSIM(b, filepath.Join(fixedDir, fixed.Video[i+1].Name), ref, src, r))
		}
		// The bitrate the plan expected next to what the encode took: the
		// pass's prediction error, which decides what the tolerances must
		// cover.
		fmt.Printf("pertitle_%s_%s: fixed %d B ssim %.4f (rung below at this size %s) | per-title %s crf %g %d B ssim %.4f (%s) | predicted %.0f kb/s, took %.0f | trials %v\n",
			name, r.Name, fb, fs, below, p.Mode, p.CRF, pb, ps, judged, p.PredictedKbps, float64(pb)*8/src.Duration/1000, p.Complexity.Trials)
		fixedBytes += fb
		ptBytes += pb
		if ps < fs-0.002 {
			res.ssimOK = false
			fmt.Printf("pertitle_%s_%s: SSIM %.4f below the fixed rung's %.4f - 0.002\n", name, r.Name, ps, fs)
		}
	}
	res.ratio = float64(ptBytes) / float64(fixedBytes)
	return res
}

// childCPU runs f and returns the CPU time (user+sys) of the child
// processes that ended meanwhile.
func childCPU(f func()) time.Duration {
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &before)
	f()
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &after)
	cpu := func(r syscall.Rusage) int64 { return r.Utime.Nano() + r.Stime.Nano() }
	return time.Duration(cpu(after) - cpu(before))
}

// dirBytes sums the segments of a rendition folder.
func dirBytes(b *testing.B, dir string) int64 {
	b.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".ts") {
			fi, err := e.Info()
			if err != nil {
				b.Fatal(err)
			}
			n += fi.Size()
		}
	}
	return n
}

// referenceOf writes the first seconds (0: all) of input's first video
// stream to out, losslessly (FFV1) and made constant-rate as the encode's
// output is: ffmpeg's output starts at the source's time 0, repeating the
// first frame when the video starts later (the trailer's starts 0.5 s
// after its audio), and picks the same frames. Then frame n of a
// rendition is frame n of the reference (rungSSIM pairs them by number).
// Read directly, the source paired the trailer's frames 15 apart (a CRF 8
// encode scored 0.81).
func referenceOf(b *testing.B, input string, seconds float64, out string) string {
	b.Helper()
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error"}
	if seconds > 0 {
		args = append(args, "-t", fmtFloat(seconds))
	}
	args = append(args, "-i", input, "-map", "0:v:0", "-an", "-sn", "-dn", "-c:v", "ffv1", "-fps_mode", "cfr", out)
	if msg, err := exec.Command(media.FFmpegPath(), args...).CombinedOutput(); err != nil {
		b.Fatalf("reference of %s: %v\n%s", input, err, msg)
	}
	return out
}

// rungSSIM is ffmpeg's SSIM (All) of the rendition in dir, scaled to rung
// r's size, against the reference (referenceOf) at r's size and frame
// rate, frame n with frame n. Pairing by time did not: a source in
// milliseconds (WebM, FLV) has every third frame of 24 or 30 fps a
// fraction of a millisecond after the rendition's (90 kHz) one, and
// ffmpeg's ssim then compares it with the frame before (a CRF 8 encode of
// Tears of Steel scored 0.954, every third frame 0.85).
func rungSSIM(b *testing.B, dir, ref string, src *media.Source, r media.Rung) float64 {
	b.Helper()
	scale := fmt.Sprintf("scale=w=%d:h=%d,setsar=1,format=yuv420p", r.Width, r.Height)
	if r.FPS < src.Video.FPS-0.001 {
		scale = "fps=" + fmtFloat(r.FPS) + "," + scale
	}
	args := []string{"-hide_banner", "-nostdin", "-i", filepath.Join(dir, "index.m3u8"), "-i", ref, "-lavfi",
		fmt.Sprintf("[0:v]scale=w=%d:h=%d:flags=bicubic,setsar=1,format=yuv420p,settb=AVTB,setpts=N[d];[1:v:0]%s,settb=AVTB,setpts=N[r];[d][r]ssim=shortest=1", r.Width, r.Height, scale),
		"-an", "-f", "null", "-"}
	cmd := exec.Command(media.FFmpegPath(), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("ssim %s: %v\n%s", dir, err, stderr.String())
	}
	m := ssimAll.FindSubmatch(stderr.Bytes())
	if m == nil {
		b.Fatalf("ssim %s: no result in\n%s", dir, stderr.String())
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || math.IsNaN(v) {
		b.Fatalf("ssim %s: %q", dir, m[1])
	}
	return v
}
