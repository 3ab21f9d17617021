package vod

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestDecompressionBombUpload: the bomb of issue 15 (probes as 64x48,
// 2 s, then carries 8192x8192 frames) uploaded like any file ends failed
// with a reason a person understands, and no ffmpeg the handler starts
// ever holds more than a few hundred MB (its VmHWM, sampled while it runs).
func TestDecompressionBombUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffmpeg")
	}
	h, env := newHandler(t)
	key := "bomb/innocent.ts"
	upload(t, env.Store, key, testenv.Bomb(t, 2))

	w := watchChildren("ffmpeg")
	if err := h.Handle(context.Background(), putEvent(t, key)); err != nil {
		t.Fatalf("Handle returned %v, want nil (a bad file is final)", err)
	}
	peak, seen := w.stop()
	checkFailed(t, h, env.Store, catalog.VideoID(key), "the picture grows mid-stream to 8192x8192")
	t.Logf("ffmpeg processes seen: %d, peak VmHWM %d MB", seen, peak>>20)
	if seen == 0 {
		t.Fatal("no ffmpeg was seen running: the peak says nothing")
	}
	if peak > 300<<20 {
		t.Errorf("an ffmpeg peaked at %d MB resident, want at most 300 MB", peak>>20)
	}
	noChildren(t)
}

// childWatch samples the peak resident size (VmHWM) of this process's
// children named comm until stopped.
type childWatch struct {
	done chan struct{}
	wg   sync.WaitGroup
	peak int64
	pids map[string]bool
}

func watchChildren(comm string) *childWatch {
	w := &childWatch{done: make(chan struct{}), pids: map[string]bool{}}
	self := strconv.Itoa(os.Getpid())
	w.wg.Go(func() {
		for {
			dirs, _ := filepath.Glob("/proc/[0-9]*")
			for _, d := range dirs {
				status, err := os.ReadFile(filepath.Join(d, "status"))
				if err != nil {
					continue
				}
				var name, ppid string
				var hwm int64
				for line := range strings.SplitSeq(string(status), "\n") {
					k, v, _ := strings.Cut(line, ":")
					v = strings.TrimSpace(v)
					switch k {
					case "Name":
						name = v
					case "PPid":
						ppid = v
					case "VmHWM":
						kb, _ := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
						hwm = kb << 10
					}
				}
				if name == comm && ppid == self {
					w.pids[d] = true
					w.peak = max(w.peak, hwm)
				}
			}
			select {
			case <-w.done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	return w
}

func (w *childWatch) stop() (peak int64, seen int) {
	close(w.done)
	w.wg.Wait()
	return w.peak, len(w.pids)
}
