package encoder

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/media"
)

// BenchmarkStoryboard measures what the storyboard adds to an encode: the
// same real source (33 s, the whole ladder, audio included, the default
// preset) encoded with and without the storyboard branch, alternating,
// several rounds, summing the ffmpeg processes' CPU time (user+sys). It
// prints
//
//	storyboard_cpu_overhead_pct: <percent>   target <= 3
//
// Run: make bench-media, or
// go test -run '^$' -bench Storyboard -benchtime 1x ./internal/encoder/
func BenchmarkStoryboard(b *testing.B) {
	input := testMedia(b, "10_bbb_trailer_h264_aac.flv")
	src := probe(b, input)
	l, err := media.PlanLadder(src, media.LadderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	const rounds = 3
	for i := 0; i < b.N; i++ {
		var with, without time.Duration
		for r := range rounds {
			for _, board := range []bool{r%2 == 0, r%2 != 0} {
				dir := b.TempDir()
				j := Job{Input: Input{URL: input, Source: src}, Ladder: l, Output: Output{Kind: VOD, Dir: dir},
					Preset: DefaultPreset, ShareThreads: true}
				if board {
					j.Storyboard = PlanStoryboard(src.Duration, l)
					if err := os.MkdirAll(filepath.Join(dir, StoryboardDir), 0o755); err != nil {
						b.Fatal(err)
					}
				}
				cpu := encodeCPU(b, Args(j))
				if board {
					with += cpu
				} else {
					without += cpu
				}
			}
		}
		pct := 100 * (with.Seconds() - without.Seconds()) / without.Seconds()
		fmt.Printf("storyboard_cpu_overhead_pct: %.2f\n", pct)
		fmt.Printf("cpu_seconds_with_storyboard: %.2f\ncpu_seconds_without_storyboard: %.2f\n", with.Seconds()/rounds, without.Seconds()/rounds)
		b.ReportMetric(pct, "overhead-%")
	}
}
