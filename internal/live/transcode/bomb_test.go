package transcode

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/feed"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestFeedThatGrowsIsNotDecoded: a publisher switching to 8K mid-stream
// does not make the live ffmpeg decode 8K pictures (-max_pixels from the
// probed feed); the same run without the bound, as a control, does.
func TestFeedThatGrowsIsNotDecoded(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffmpeg")
	}
	// It starts at 64x48 (what the listener probes) and switches, on the
	// same stream, to 8192x8192 frames.
	ts := testenv.Bomb(t, 2)
	info, err := feed.ProbeTS(ts)
	if err != nil || info.Width != 64 || info.Height != 48 {
		t.Fatalf("probe: %+v, %v; want 64x48", info, err)
	}
	l, err := media.PlanLadder(feed.Source(info), media.LadderOptions{SegmentSeconds: 2})
	if err != nil {
		t.Fatal(err)
	}
	peak := func(args []string) int64 {
		dir := t.TempDir()
		p, err := Start(Options{Args: args, Dir: dir, Rungs: []string{l.Video[0].Name},
			Budget: Budget(l, info, time.Hour, "ultrafast")})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(ts); i += 1316 {
			_, _ = p.Write(ts[i:min(i+1316, len(ts))])
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			t.Logf("ffmpeg: %v", err)
		}
		ru, ok := p.State().SysUsage().(*syscall.Rusage)
		if !ok {
			t.Fatal("no resource usage")
		}
		return ru.Maxrss << 10
	}
	args := Args(l, ArgsOptions{Dir: "DIR", Preset: "ultrafast", Feed: info})
	i := slices.Index(args, "-max_pixels")
	if i < 0 || i > slices.Index(args, "-i") {
		t.Fatalf("no -max_pixels before -i: %q", args)
	}
	withDir := func(a []string, dir string) []string {
		out := slices.Clone(a)
		for j, s := range out {
			if len(s) >= 3 && s[:3] == "DIR" {
				out[j] = dir + s[3:]
			}
		}
		return out
	}
	dir := t.TempDir()
	before := peak(withDir(slices.Delete(slices.Clone(args), i, i+2), dir))
	after := peak(withDir(args, t.TempDir()))
	t.Logf("live ffmpeg peak RSS: %d MB without -max_pixels, %d MB with -max_pixels %s", before>>20, after>>20, args[i+1])
	if after > 200<<20 {
		t.Errorf("the live ffmpeg peaked at %d MB, want at most 200 MB", after>>20)
	}
	if before < 2*after {
		t.Errorf("the feed does not grow: %d MB without the bound, %d MB with it", before>>20, after>>20)
	}
}
