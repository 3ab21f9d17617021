package vod

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/cost"
	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// BenchmarkChunked encodes one real source (01 looped to about a minute,
// 720p, the production preset and ladder) with 1 worker and then with N =
// cores workers, and prints wall time to ready and to first playable and
// the CPU seconds of ffmpeg in both runs.
func BenchmarkChunked(b *testing.B) {
	setup(b)
	dir := b.TempDir()
	src := filepath.Join(dir, "long.mp4")
	in := testenv.Media(b, "01_bbb_720p_h264_aac51.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-stream_loop", "11", "-i", in, "-c", "copy", src).CombinedOutput(); err != nil {
		b.Fatalf("loop source: %v: %s", err, out)
	}
	ctx := context.Background()
	n := runtime.NumCPU()
	type run struct {
		wall, first, cpu float64
	}
	measure := func(workers int, key string) run {
		if err := st.PutFile(ctx, "uploads", key, src, store.Object{ContentType: "video/mp4"}); err != nil {
			b.Fatal(err)
		}
		h := newTranscoder(b)
		h.cfg.Preset, h.cfg.Parallelism = encoder.DefaultPreset, workers
		// Each worker stands for one Lambda invocation with a fixed share
		// of CPU: one encoder thread, one core. Unbounded, a single ffmpeg
		// already fills both cores of this machine and "N workers" could
		// not be told apart from "1 worker", which says nothing about
		// fanning out to N invocations that each bring their own vCPUs.
		h.cfg.Threads = 1
		h.cfg.ChunkSeconds = 16
		id := catalog.VideoID(key)
		start := time.Now()
		cpu0 := childCPU()
		first := make(chan float64, 1)
		stop := make(chan struct{})
		go func() {
			// First playable: the master is there (it is written only once
			// every playlist it names has segments).
			for {
				select {
				case <-stop:
					first <- 0
					return
				case <-time.After(100 * time.Millisecond):
				}
				if _, err := st.Head(ctx, "media", catalog.MasterKey(id)); err == nil {
					first <- time.Since(start).Seconds()
					return
				}
			}
		}()
		ev := events.S3Event{Records: []events.S3EventRecord{{EventName: "ObjectCreated:Put",
			S3: events.S3Entity{Bucket: events.S3Bucket{Name: "uploads"}, Object: events.S3Object{Key: key}}}}}
		if err := h.Handle(ctx, ev); err != nil {
			b.Fatal(err)
		}
		wall := time.Since(start).Seconds()
		close(stop)
		s, err := catalog.Read(ctx, st, "media", id)
		if err != nil || s.State != catalog.StateReady {
			b.Fatalf("not ready: %v %+v", err, s)
		}
		return run{wall: wall, first: <-first, cpu: childCPU() - cpu0}
	}
	var one, par run
	for b.Loop() {
		one = measure(1, fmt.Sprintf("bench-1-%d.mp4", time.Now().UnixNano()))
		par = measure(n, fmt.Sprintf("bench-n-%d.mp4", time.Now().UnixNano()))
	}
	dur := probeDuration(b, src)
	minutes := dur / 60
	invocations := 2 * (int(dur/16) + 1) // per chunk, its video and its audio
	usd := (par.cpu*cost.USEast1.VCPUSecond() + float64(invocations)*cost.USEast1.LambdaRequest) / minutes
	fmt.Printf("source_s: %.1f\n", dur)
	fmt.Printf("workers: %d\n", n)
	fmt.Println("worker_model: one encoder thread per worker, as one 1-vCPU Lambda invocation")
	fmt.Printf("wall_1_worker_s: %.1f\n", one.wall)
	fmt.Printf("wall_n_workers_s: %.1f\n", par.wall)
	fmt.Printf("cpu_1_worker_s: %.1f\n", one.cpu)
	fmt.Printf("cpu_n_workers_s: %.1f\n", par.cpu)
	fmt.Printf("first_playable_1_worker_s: %.1f\n", one.first)
	fmt.Printf("parallel_wall_vs_ideal: %.2f\n", par.wall/(one.wall/float64(n)))
	fmt.Printf("parallel_cpu_vs_single: %.2f\n", par.cpu/one.cpu)
	fmt.Printf("first_playable_s: %.1f\n", par.first)
	fmt.Printf("cost_per_source_minute_usd: %.5f\n", usd)
	// 720p, 480p and 360p outputs: one HD and two SD minutes per source
	// minute (audio is not billed separately when muxed; here it is its
	// own output, which MediaConvert bills as SD audio-only minutes: not
	// counted, in its favour).
	mc := cost.MediaConvertBasicUSEast1
	fmt.Printf("mediaconvert_basic_per_source_minute_usd: %.5f\n", mc.OutputMinute(1280, 720, 30)+2*mc.OutputMinute(854, 480, 30))
}

// childCPU is the user+system CPU seconds of this process's finished
// children: every ffmpeg the encode function ran.
func childCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func probeDuration(b *testing.B, path string) float64 {
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path).Output()
	if err != nil {
		b.Fatal(err)
	}
	var d float64
	fmt.Sscanf(string(out), "%f", &d)
	if d <= 0 {
		b.Fatalf("no duration for %s", path)
	}
	return d
}
