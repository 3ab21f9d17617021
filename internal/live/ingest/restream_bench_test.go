package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/keys"
	"github.com/hlsflow/hlsflow/internal/live/restream"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// BenchmarkRestream publishes BenchmarkSRT's input twice over SRT, once
// to a stream without restream destinations and once to one with two
// (nginx-rtmp, as in the tests), and prints restream_cpu_overhead_pct: the
// ingest's CPU (Go process + its ffmpegs) per second of media encoded with
// the two destinations over the same without, minus one, in percent
// (target ≤ 5). nginx's own CPU is not counted: it is another machine's.
func BenchmarkRestream(b *testing.B) {
	s3 := testenv.S3(b)
	dir := b.TempDir()
	input := benchInput(b, dir)
	ng := testenv.StartNginx(b, "")
	allow := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	for range b.N {
		run := func(name string, dests []restream.Destination) (cpu, media float64) {
			signer, _ := keys.New([]byte("bench-secret-0123456789"))
			if err := restream.Save(context.Background(), s3.Store, testenv.BucketMedia, name, dests); err != nil {
				b.Fatal(err)
			}
			svc, err := New(Config{Bucket: testenv.BucketMedia, SRTAddr: "127.0.0.1:0", RestreamAllow: allow,
				Grace: 500 * time.Millisecond, WorkDir: dir, DrainTimeout: 2 * time.Minute},
				Deps{Store: s3.Store, Keys: signer, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			if err := svc.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			key, _ := signer.Key(name)
			self0, kids0 := rusage(syscall.RUSAGE_SELF), rusage(syscall.RUSAGE_CHILDREN)
			pub := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", input, "-c", "copy",
				"-f", "mpegts", "srt://"+svc.SRTAddr()+"?streamid="+key)
			if err := pub.Start(); err != nil {
				b.Fatal(err)
			}
			live, stop, stopped := 0, make(chan struct{}), make(chan struct{})
			go func() { // how many destinations received the stream
				defer close(stopped)
				for {
					for _, st := range svc.Streams() {
						n := 0
						for _, r := range st.Restream {
							if r.BytesSent > 0 {
								n++
							}
						}
						live = max(live, n)
					}
					select {
					case <-stop:
						return
					case <-time.After(500 * time.Millisecond):
					}
				}
			}()
			_, _, media = follow(b, svc, pub)
			close(stop)
			<-stopped
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_ = svc.Close(ctx)
			cancel()
			self1, kids1 := rusage(syscall.RUSAGE_SELF), rusage(syscall.RUSAGE_CHILDREN)
			if media <= 0 {
				b.Fatal("no media encoded")
			}
			if len(dests) > 0 && live != len(dests) {
				b.Fatalf("%d of %d destinations received the stream", live, len(dests))
			}
			return (self1 - self0) + (kids1 - kids0) - cpuOf(pub.ProcessState), media
		}
		cpu0, media0 := run("bench-plain", nil)
		cpu2, media2 := run("bench-restream", []restream.Destination{
			{URL: ng.URL(), Key: "bench-dest-one"}, {URL: ng.URL(), Key: "bench-dest-two"}})
		overhead := ((cpu2/media2)/(cpu0/media0) - 1) * 100
		fmt.Printf("restream_cpu_overhead_pct: %.1f\n", overhead)
		fmt.Printf("restream_bench_cpu_s_without: %.2f\n", cpu0)
		fmt.Printf("restream_bench_media_s_without: %.2f\n", media0)
		fmt.Printf("restream_bench_cpu_s_with_two: %.2f\n", cpu2)
		fmt.Printf("restream_bench_media_s_with_two: %.2f\n", media2)
		b.ReportMetric(overhead, "cpu-overhead-%")
	}
}
