package vod

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// The benchmark runs the handler in a child process (this test binary
// re-executed, see TestMain) so that the Go process's own memory and CPU
// are measured apart from ffmpeg's and from the S3 server's.
const benchChildEnv = "HLSFLOW_TRANSCODE_BENCH_CHILD"

// benchResult is what the child reports on its last stdout line.
type benchResult struct {
	State        string  `json:"state"`
	Error        string  `json:"error"`
	Duration     float64 `json:"duration"`
	PeakRSSKB    int64   `json:"peak_rss_kb"`    // VmHWM of the Go process
	SelfCPU      float64 `json:"self_cpu_s"`     // user+system of the Go process
	ChildrenCPU  float64 `json:"children_cpu_s"` // user+system of ffmpeg and ffprobe
	WallSeconds  float64 `json:"wall_s"`
	HandlerError string  `json:"handler_error"`
}

// benchChild runs the handler once for the event in spec (JSON) against
// the S3 named by the AWS_* variables, and prints its resource use.
func benchChild(spec string) int {
	var in struct {
		Key, TmpDir, Preset string
	}
	if err := json.Unmarshal([]byte(spec), &in); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	cfgStore, err := store.FromEnv(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	h, err := New(Config{MediaBucket: testenv.BucketMedia, UploadsBucket: testenv.BucketUploads, TmpDir: in.TmpDir, Preset: in.Preset},
		Deps{Store: cfgStore})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var ev events.S3Event
	ev.Records = []events.S3EventRecord{{EventName: "ObjectCreated:Put"}}
	ev.Records[0].S3.Bucket.Name = testenv.BucketUploads
	ev.Records[0].S3.Object.Key = awsEncodeKey(in.Key)

	start := time.Now()
	herr := h.Handle(ctx, ev)
	res := benchResult{WallSeconds: time.Since(start).Seconds(), PeakRSSKB: vmHWM()}
	if herr != nil {
		res.HandlerError = herr.Error()
	}
	var self, children syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	res.SelfCPU = cpuSeconds(self)
	res.ChildrenCPU = cpuSeconds(children)
	if st, err := catalog.Read(ctx, h.store, h.cfg.MediaBucket, catalog.VideoID(in.Key)); err == nil {
		res.State, res.Error, res.Duration = string(st.State), st.Error, st.Duration
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	return 0
}

func cpuSeconds(r syscall.Rusage) float64 {
	return time.Duration(r.Utime.Nano() + r.Stime.Nano()).Seconds()
}

// vmHWM is the process's peak resident set, in KiB.
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

// dirSize is the bytes of regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// BenchmarkTranscode runs the handler on 01 looped to about a minute, with
// the production preset, and prints the Go process's peak RSS, the peak
// size of its working directory, and its CPU as a share of ffmpeg's.
// HLSFLOW_BENCH_LOOPS sets how many times 01 (5.3 s) is played (default 12).
func BenchmarkTranscode(b *testing.B) {
	env := testenv.S3(b)
	loops := 12
	if v, err := strconv.Atoi(os.Getenv("HLSFLOW_BENCH_LOOPS")); err == nil && v > 0 {
		loops = v
	}
	src := filepath.Join(b.TempDir(), "looped.mp4")
	cmd := exec.Command("ffmpeg", "-v", "error", "-stream_loop", strconv.Itoa(loops-1),
		"-i", testenv.Media(b, "01_bbb_720p_h264_aac51.mp4"), "-c", "copy", src)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("loop source: %v %s", err, out)
	}
	srcDur := sourceDuration(b, src)
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}

	var last benchResult
	var peakTmp int64
	for i := 0; i < b.N; i++ {
		key := fmt.Sprintf("bench/run %d/looped.mp4", i)
		data, err := os.ReadFile(src)
		if err != nil {
			b.Fatal(err)
		}
		if err := env.Store.PutBytes(context.Background(), testenv.BucketUploads, key, data, store.Object{}); err != nil {
			b.Fatal(err)
		}
		data = nil
		tmp := b.TempDir()
		spec, _ := json.Marshal(map[string]string{"Key": key, "TmpDir": tmp, "Preset": ""})
		child := exec.Command(exe)
		child.Env = append(append(os.Environ(), env.Environ()...), benchChildEnv+"="+string(spec))
		child.Stderr = os.Stderr
		out, err := child.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := child.Start(); err != nil {
			b.Fatal(err)
		}
		stop := make(chan struct{})
		sampled := make(chan int64)
		go func() {
			var peak int64
			t := time.NewTicker(50 * time.Millisecond)
			defer t.Stop()
			for {
				peak = max(peak, dirSize(tmp))
				select {
				case <-stop:
					sampled <- peak
					return
				case <-t.C:
				}
			}
		}()
		var lastLine string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lastLine = sc.Text()
		}
		werr := child.Wait()
		close(stop)
		peakTmp = max(peakTmp, <-sampled)
		if werr != nil {
			b.Fatalf("child: %v", werr)
		}
		if err := json.Unmarshal([]byte(lastLine), &last); err != nil {
			b.Fatalf("child output %q: %v", lastLine, err)
		}
		if last.State != string(catalog.StateReady) || last.HandlerError != "" {
			b.Fatalf("transcode did not finish: %+v", last)
		}
	}
	fmt.Printf("transcode_source_seconds: %.1f\n", srcDur)
	fmt.Printf("transcode_wall_s: %.1f\n", last.WallSeconds)
	fmt.Printf("transcode_ffmpeg_cpu_per_source_s: %.3f\n", last.ChildrenCPU/srcDur)
	fmt.Printf("transcode_go_cpu_s: %.2f\n", last.SelfCPU)
	fmt.Printf("transcode_ffmpeg_cpu_s: %.2f\n", last.ChildrenCPU)
	fmt.Printf("ladder_overhead_pct: %.2f\n", 100*last.SelfCPU/last.ChildrenCPU)
	fmt.Printf("transcode_peak_rss_mb: %.1f\n", float64(last.PeakRSSKB)/1024)
	fmt.Printf("transcode_peak_tmp_mb: %.1f\n", float64(peakTmp)/(1<<20))
}
