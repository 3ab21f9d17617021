package encoder

import (
	"github.com/hlsflow/hlsflow/internal/media"

	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BenchmarkLadderVsNaive encodes the same real source two ways with the
// same rungs, preset and bitrates: the ladder (one ffmpeg, one decode,
// cascaded scaling) and naive (one ffmpeg per rung, each decoding and
// scaling from the source). It sums CPU seconds (user+sys of the ffmpeg
// processes) per source second and prints
//
//	ladder_cpu_vs_naive: <ratio>        720p source (01), 3 rungs
//	ladder_cpu_vs_naive_1080p: <ratio>  1080p source (01 scaled up), 4 rungs
//	ssim_<rung>_ladder, ssim_<rung>_naive: SSIM of each rung of the 1080p
//	  source against the source (rendition scaled back up)
//
// Targets: <= 0.9 for 720p, <= 0.8 for 1080p. The two ways alternate,
// several rounds, so that load from other processes on a shared machine
// weighs on both alike. media.Video only: audio costs the same both ways. Run:
// make bench-media, or
// go test -run '^$' -bench LadderVsNaive -benchtime 1x ./internal/media/
func BenchmarkLadderVsNaive(b *testing.B) {
	dir := b.TempDir()
	src720 := testMedia(b, "01_bbb_720p_h264_aac51.mp4")
	src1080 := filepath.Join(dir, "src1080.mp4")
	ffmpegGen(b, "-i", src720, "-an", "-vf", "scale=1920:1080:flags=lanczos",
		"-c:v", "libx264", "-preset", "ultrafast", "-crf", "14", src1080)

	for i := 0; i < b.N; i++ {
		r720, _ := compareWays(b, src720, filepath.Join(dir, "720"), 3, false)
		r1080, ssim := compareWays(b, src1080, filepath.Join(dir, "1080"), 2, true)
		fmt.Printf("ladder_cpu_vs_naive: %.3f\n", r720)
		fmt.Printf("ladder_cpu_vs_naive_1080p: %.3f\n", r1080)
		for _, line := range ssim {
			fmt.Println(line)
		}
		b.ReportMetric(r720, "cpu-ratio-720p")
		b.ReportMetric(r1080, "cpu-ratio-1080p")
	}
}

// compareWays encodes input as a ladder and naively, rounds times each,
// and returns the CPU ratio ladder/naive, and SSIM lines when asked.
func compareWays(b *testing.B, input, out string, rounds int, withSSIM bool) (float64, []string) {
	b.Helper()
	src := probe(b, input)
	src.Audio = nil
	l, err := media.PlanLadder(src, media.LadderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	opt := encodeOptions{Input: input, Preset: DefaultPreset}
	var ladderCPU, naiveCPU time.Duration
	for range rounds {
		opt.OutDir = filepath.Join(out, "ladder")
		ladderCPU += encodeCPU(b, ladderArgs(src, l, opt))
		opt.OutDir = filepath.Join(out, "naive")
		for _, r := range l.Video {
			naiveCPU += encodeCPU(b, ladderArgs(src, media.Ladder{Video: []media.Rung{r}, SegmentSeconds: l.SegmentSeconds}, opt))
		}
	}
	perSecond := func(d time.Duration) float64 { return d.Seconds() / (src.Duration * float64(rounds)) }
	fmt.Printf("cpu_per_source_second_ladder_%s: %.3f\n", l.Video[0].Name, perSecond(ladderCPU))
	fmt.Printf("cpu_per_source_second_naive_%s: %.3f\n", l.Video[0].Name, perSecond(naiveCPU))

	var lines []string
	if withSSIM {
		for _, r := range l.Video {
			for _, way := range []string{"ladder", "naive"} {
				s := ssim(b, filepath.Join(out, way, r.Name, "index.m3u8"), input, src.Video.Width, src.Video.Height)
				lines = append(lines, fmt.Sprintf("ssim_%s_%s: %.4f", r.Name, way, s))
			}
		}
	}
	return ladderCPU.Seconds() / naiveCPU.Seconds(), lines
}

// encodeCPU runs ffmpeg and returns its user+sys CPU time.
func encodeCPU(b *testing.B, args []string) time.Duration {
	b.Helper()
	st, err := runState(context.Background(), media.FFmpegPath(), args, Budget{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ru, ok := st.SysUsage().(*syscall.Rusage)
	if !ok {
		b.Fatal("no resource usage for the ffmpeg process")
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var ssimAll = regexp.MustCompile(`All:([0-9.]+)`)

// ssim compares a rendition, scaled to the source size, with the source.
func ssim(b *testing.B, rendition, source string, w, h int) float64 {
	b.Helper()
	cmd := exec.Command(media.FFmpegPath(), "-hide_banner", "-nostdin", "-i", rendition, "-i", source,
		"-lavfi", fmt.Sprintf("[0:v]scale=%d:%d:flags=bicubic,setpts=PTS-STARTPTS[d];[1:v]setpts=PTS-STARTPTS[r];[d][r]ssim", w, h),
		"-an", "-f", "null", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("ssim %s: %v\n%s", rendition, err, stderr.String())
	}
	m := ssimAll.FindSubmatch(stderr.Bytes())
	if m == nil {
		b.Fatalf("ssim %s: no result in\n%s", rendition, stderr.String())
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		b.Fatal(err)
	}
	return v
}
