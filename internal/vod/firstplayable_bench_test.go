package vod

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/chunk"
	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/store"
)

// BenchmarkFirstPlayable60min measures first_playable_60min_s: from the
// upload's event to a playable master for a synthetic 60-minute 720p
// source (testsrc and a tone, made by looping 8 s without re-encoding),
// with the fan-out modelled as BenchmarkChunked's first_playable_s does
// (Invoke API, N = cores workers of one encoder thread each, the
// production chunk sizes). It stops once the first chunks are published:
// every chunk after the first is held back, as if encoding on other
// invocations, and the job is then cancelled.
//
// Next to it, in the same run, the figure of the old path, where the
// audio was one encode of the whole track started beside the first video
// chunk: the whole-track encode (chunk.AudioJob of one chunk spanning the
// source, which is that encode) is timed beside the first video chunk,
// by the same Worker (called directly: the test Invoke API's 5-minute
// timeout is shorter than the whole track takes here; the API adds
// milliseconds), and replaces the first audio chunk's time in the
// critical path; the rest (probe, plan, playlists, master) is the new
// run's.
func BenchmarkFirstPlayable60min(b *testing.B) {
	setup(b)
	src := longSource(b, 3600)
	ctx := context.Background()
	type run struct {
		first, audio0, video0, whole, video0again float64
	}
	measure := func(key string) run {
		if err := st.PutFile(ctx, "uploads", key, src, store.Object{ContentType: "video/mp4"}); err != nil {
			b.Fatal(err)
		}
		rec := &heldEncoder{next: chunks, took: map[string]float64{}, reqs: map[string]chunk.Request{}}
		h, err := New(Config{MediaBucket: "media", UploadsBucket: "uploads", Preset: encoder.DefaultPreset,
			Parallelism: max(2, runtime.NumCPU()), Threads: 1, RetryWait: 10 * time.Millisecond},
			Deps{Store: st, Chunks: rec, Log: quiet})
		if err != nil {
			b.Fatal(err)
		}
		id := catalog.VideoID(key)
		jctx, cancel := context.WithCancel(ctx)
		defer cancel()
		done := make(chan struct{})
		start := time.Now()
		go func() {
			defer close(done)
			ev := events.S3Event{Records: []events.S3EventRecord{{EventName: "ObjectCreated:Put",
				S3: events.S3Entity{Bucket: events.S3Bucket{Name: "uploads"}, Object: events.S3Object{Key: key}}}}}
			_ = h.Handle(jctx, ev) // cancelled below: the job fails, as meant
		}()
		var r run
		for deadline := start.Add(10 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
			if _, err := st.Head(ctx, "media", catalog.MasterKey(id)); err == nil {
				r.first = time.Since(start).Seconds()
				break
			}
			if time.Now().After(deadline) {
				b.Fatal("no master after 10 minutes")
			}
		}
		cancel()
		<-done
		rec.mu.Lock()
		r.audio0, r.video0 = rec.took["audio 0"], rec.took["video 0"]
		a0, v0 := rec.reqs["audio 0"], rec.reqs["video 0"]
		rec.mu.Unlock()
		if a0.Kind == "" || v0.Kind == "" {
			b.Fatal("the first chunks were not both encoded")
		}
		// The old path: the whole track beside the first video chunk.
		whole := a0
		whole.Chunk = chunk.Chunk{}
		var wg sync.WaitGroup
		var werr, verr error
		wg.Go(func() {
			t0 := time.Now()
			_, werr = worker.EncodeChunk(ctx, whole)
			r.whole = time.Since(t0).Seconds()
		})
		wg.Go(func() {
			t0 := time.Now()
			_, verr = worker.EncodeChunk(ctx, v0)
			r.video0again = time.Since(t0).Seconds()
		})
		wg.Wait()
		if werr != nil || verr != nil {
			b.Fatalf("old path: audio %v, video %v", werr, verr)
		}
		return r
	}
	var r run
	for b.Loop() {
		r = measure(fmt.Sprintf("first-60-%d.mp4", time.Now().UnixNano()))
	}
	overhead := r.first - max(r.audio0, r.video0)
	old := overhead + max(r.whole, r.video0again)
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("source_s: %.0f\n", sourceDuration(b, src))
	fmt.Printf("workers: %d (one encoder thread each)\n", max(2, runtime.NumCPU()))
	fmt.Printf("audio_chunk0_s: %.2f\n", r.audio0)
	fmt.Printf("video_chunk0_s: %.2f\n", r.video0)
	fmt.Printf("whole_audio_encode_s: %.2f\n", r.whole)
	fmt.Printf("first_playable_60min_whole_audio_s: %.1f   (the old path, same run)\n", old)
	fmt.Printf("first_playable_60min_s: %.1f   (target <= 10)\n", r.first)
	fmt.Printf("loadavg: %s\n", strings.TrimSpace(string(load)))
}

// heldEncoder passes the first chunk's encodes (audio and video) to next,
// timing them, and holds every later one until its context ends.
type heldEncoder struct {
	next ChunkEncoder
	mu   sync.Mutex
	took map[string]float64       // wall seconds, by "audio 0", "video 0"
	reqs map[string]chunk.Request // likewise
}

func (e *heldEncoder) EncodeChunk(ctx context.Context, r chunk.Request) (*chunk.Response, error) {
	if r.Chunk.Index > 0 {
		<-ctx.Done()
		return nil, context.Cause(ctx)
	}
	t0 := time.Now()
	res, err := e.next.EncodeChunk(ctx, r)
	if err == nil {
		name := fmt.Sprintf("%s %d", r.Kind, r.Chunk.Index)
		e.mu.Lock()
		e.took[name], e.reqs[name] = time.Since(t0).Seconds(), r
		e.mu.Unlock()
	}
	return res, err
}

// longSource makes a 720p source of seconds (testsrc and a 440 Hz tone)
// by looping 8 s of it without re-encoding, which takes seconds, not the
// hour an encode would.
func longSource(b *testing.B, seconds int) string {
	dir := b.TempDir()
	piece, long := filepath.Join(dir, "piece.mp4"), filepath.Join(dir, "long.mp4")
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "testsrc=size=1280x720:rate=25:duration=8", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=8",
			"-c:v", "libx264", "-preset", "ultrafast", "-crf", "35", "-g", "50", "-c:a", "aac", "-ac", "2", "-b:a", "96k", piece},
		{"-stream_loop", "-1", "-i", piece, "-t", fmt.Sprint(seconds), "-c", "copy", "-movflags", "+faststart", long},
	} {
		if out, err := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
			b.Fatalf("make source: %v: %s", err, out)
		}
	}
	return long
}
