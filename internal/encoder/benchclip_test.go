package encoder

import (
	"path/filepath"
	"testing"

	"github.com/hlsflow/hlsflow/internal/media"
)

// The set-up BenchmarkPerTitle and BenchmarkCodecs share: the same
// synthetic source, and each clip cut and planned the same way.

// syntheticMotion makes the benchmarks' high-motion source in dir:
// seconds of testsrc2 at 720p30 with temporal noise and a turning hue,
// nearly lossless.
func syntheticMotion(b *testing.B, dir string, seconds float64) string {
	b.Helper()
	synth := filepath.Join(dir, "synthetic_motion.mp4")
	ffmpegGen(b, "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration="+fmtFloat(seconds),
		"-vf", "noise=alls=25:allf=t+u,hue=H=2*PI*t/3", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "12", synth)
	return synth
}

// benchClip probes input and returns its first seconds (0: all), video
// only, with today's fixed ladder for them.
func benchClip(b *testing.B, input string, seconds float64) (*media.Source, media.Ladder) {
	b.Helper()
	src := probe(b, input)
	src.Audio = nil
	if seconds > 0 && src.Duration > seconds {
		src.Duration = seconds
	}
	fixed, err := media.PlanLadder(src, media.LadderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return src, fixed
}
