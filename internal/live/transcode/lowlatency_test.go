package transcode

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestLowLatencyParts runs the low-latency output on a 5 s feed: each
// rung gets its initialization section, half-second parts, the first of
// each segment independent, and 2 s segments that are their parts joined
// and decode after the initialization section; the rungs' parts line up.
func TestLowLatencyParts(t *testing.T) {
	ts := makeTS(t, "5", true)
	dir := t.TempDir()
	var (
		mu    sync.Mutex
		inits = map[int][]byte{}
		parts = map[int][]Part{}
		segs  = map[int][]Segment{}
	)
	rungs := []string{"240p", "120p"}
	p, err := Start(Options{
		Args: Args(testLadder(true), ArgsOptions{Dir: dir, Preset: "ultrafast", Threads: 1, LowLatency: true, PartSeconds: 0.5}),
		Dir:  dir, Rungs: rungs,
		OnSegment: func(s Segment) { mu.Lock(); segs[s.Rung] = append(segs[s.Rung], s); mu.Unlock() },
		LowLatency: &LowLatency{
			OnInit: func(r int, b []byte) { mu.Lock(); inits[r] = b; mu.Unlock() },
			OnPart: func(pt Part) { mu.Lock(); parts[pt.Rung] = append(parts[pt.Rung], pt); mu.Unlock() },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write(ts); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for r, name := range rungs {
		if len(inits[r]) == 0 {
			t.Fatalf("%s: no initialization section", name)
		}
		if len(segs[r]) < 2 {
			t.Fatalf("%s: %d segments", name, len(segs[r]))
		}
		var joined []byte
		for _, pt := range parts[r] {
			joined = append(joined, pt.Data...)
			if pt.Duration > 600*time.Millisecond {
				t.Errorf("%s: a part of %v", name, pt.Duration)
			}
		}
		var all []byte
		for i, s := range segs[r] {
			b, err := os.ReadFile(s.Path)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
			if i < len(segs[r])-1 && (s.Duration < 1900*time.Millisecond || s.Duration > 2100*time.Millisecond) {
				t.Errorf("%s: segment %d lasts %v, want 2 s", name, i, s.Duration)
			}
			// Within a frame: ffmpeg gives the first fragment the
			// encoder's start-up delay.
			if want := time.Duration(i) * 2 * time.Second; (s.PTS - segs[r][0].PTS - want).Abs() > 40*time.Millisecond {
				t.Errorf("%s: segment %d at %v, want %v after the first", name, i, s.PTS-segs[r][0].PTS, want)
			}
		}
		if !bytes.Equal(joined, all) {
			t.Errorf("%s: the segments are not their parts joined", name)
		}
		path := filepath.Join(t.TempDir(), name+".mp4")
		if err := os.WriteFile(path, append(append([]byte(nil), inits[r]...), all...), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("%s does not decode: %v %s", name, err, out)
		}
	}
	if len(parts[0]) != len(parts[1]) {
		t.Fatalf("%d parts in one rung, %d in the other", len(parts[0]), len(parts[1]))
	}
	for i := range parts[0] {
		a, b := parts[0][i], parts[1][i]
		if a.Independent != b.Independent || (a.Duration-b.Duration).Abs() > 100*time.Millisecond {
			t.Errorf("part %d: %v/%v in one rung, %v/%v in the other", i, a.Duration, a.Independent, b.Duration, b.Independent)
		}
	}
}
