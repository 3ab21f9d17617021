package encoder

import (
	"github.com/hlsflow/hlsflow/internal/media"

	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestRunWithinBudget: the kernel stops an ffmpeg that goes over its
// memory or CPU time, and the error names the limit; a real encode fits in
// the budget EncodeBudget gives it.
func TestRunWithinBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffmpeg")
	}
	in := testMedia(t, "03_bbb_1080p_h264_aac51_rot90.mp4")
	src := probe(t, in)
	l, err := media.PlanLadder(src, media.LadderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ladder := ladderArgs(src, l, encodeOptions{Input: in, OutDir: t.TempDir(), Preset: "veryfast", Duration: time.Second})
	// Keeps x264 busy far longer than the CPU limit below.
	endless := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30",
		"-t", "600", "-c:v", "libx264", "-preset", "medium", "-f", "null", "-"}
	tests := []struct {
		name   string
		args   []string
		budget Budget
		limit  string // "" = must succeed
		within time.Duration
	}{
		{"1080p ladder within its budget", ladder, EncodeBudget(src, l, 1, "veryfast"), "", 0},
		{"1080p ladder with too little memory", ladder, Budget{Memory: 150 << 20}, "memory", 0},
		{"endless encode with 2 s of CPU", endless, Budget{CPU: 2 * time.Second}, "CPU time", 20 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := runWithin(context.Background(), media.FFmpegPath(), tc.args, tc.budget, nil)
			took := time.Since(start)
			t.Logf("%s: %v after %v", tc.budget, err, took.Round(time.Millisecond))
			if tc.limit == "" {
				if err != nil {
					t.Fatalf("a real encode failed within its budget (%s): %v", tc.budget, err)
				}
				return
			}
			var le *LimitError
			if !errors.As(err, &le) || le.Limit != tc.limit {
				t.Fatalf("error %v, want a *LimitError for %s", err, tc.limit)
			}
			rl := map[string]string{"memory": "RLIMIT_DATA", "CPU time": "RLIMIT_CPU"}[tc.limit]
			if !errors.Is(err, media.ErrUnsupported) || !strings.Contains(err.Error(), tc.limit+" limit ("+rl) {
				t.Errorf("error %q does not name the %s limit", err, rl)
			}
			if tc.within > 0 && took > tc.within {
				t.Errorf("stopped after %v, want within %v", took, tc.within)
			}
		})
	}
}

func TestEncodeBudgetGrowsWithTheEncode(t *testing.T) {
	defer func(f func() int) { numCPU = f }(numCPU)
	numCPU = func() int { return 6 }
	small := &media.Source{Video: &media.Video{CodedWidth: 640, CodedHeight: 360, Width: 640, Height: 360, FPS: 30}}
	big := &media.Source{Video: &media.Video{CodedWidth: 3840, CodedHeight: 2160, Width: 3840, Height: 2160, FPS: 30}}
	ls, _ := media.PlanLadder(small, media.LadderOptions{})
	lb, _ := media.PlanLadder(big, media.LadderOptions{})
	a, b := EncodeBudget(small, ls, 60, ""), EncodeBudget(big, lb, 60, "")
	if a.Memory >= b.Memory || a.CPU >= b.CPU {
		t.Errorf("360p %s, 2160p %s: want the larger encode to get more", a, b)
	}
	if long := EncodeBudget(small, ls, 3600, ""); long.CPU <= a.CPU || long.Memory != a.Memory {
		t.Errorf("1 h %s vs 1 min %s: want more CPU time, the same memory", long, a)
	}
	if slow := EncodeBudget(small, ls, 60, "slow"); slow.CPU <= a.CPU {
		t.Errorf("preset slow %s vs veryfast %s: want more CPU time", slow, a)
	}
	// A 1080p ladder measured 905 MB of data with 6 encoder threads.
	hd := &media.Source{Video: &media.Video{CodedWidth: 1920, CodedHeight: 1080, Width: 1920, Height: 1080, FPS: 30}}
	lh, _ := media.PlanLadder(hd, media.LadderOptions{})
	if m := EncodeBudget(hd, lh, 60, "").Memory; m < 1800<<20 {
		t.Errorf("1080p memory budget %d MB, want twice the 905 MB measured", m>>20)
	}
}
