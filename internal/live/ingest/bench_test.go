package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/keys"
	"github.com/hlsflow/hlsflow/internal/live/transcode"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// BenchmarkLive measures, in one run, on benchInput with the default
// ladder and preset:
//
//   - live_publish_lag_p95_ms: from ffmpeg finishing a segment to the
//     playlist naming it being in S3 (the embedded S3), 95th percentile;
//   - live_cpu_overhead_pct: the ingest's CPU for the stream (Go process +
//     its ffmpeg) over the same ffmpeg command run alone on the same input
//     at the same time, minus one, in percent (live_cpu_go_share_pct is
//     the Go process's part alone, less exposed to machine noise);
//   - live_streams_realtime_720p: streams this machine sustains in real
//     time, estimated as NumCPU / (CPU seconds the ingest spends per second
//     of stream), rounded down; the method is printed with it.
//
// CPU is compared per second of media encoded (ffmpeg's out_time), so the
// figures stay comparable when a loaded machine cannot keep either run in
// real time.
func BenchmarkLive(b *testing.B) {
	s3 := testenv.S3(b)
	dir := b.TempDir()
	input := benchInput(b, dir)
	src := &media.Source{Video: &media.Video{Width: 1280, Height: 720, FPS: 25}, Audio: &media.Audio{Codec: "aac"}}
	ladder, err := media.PlanLadder(src, media.LadderOptions{SegmentSeconds: 2})
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		signer, _ := keys.New([]byte("bench-secret-0123456789"))
		svc, err := New(Config{Bucket: testenv.BucketMedia, RTMPAddr: "127.0.0.1:0",
			Grace: 500 * time.Millisecond, WorkDir: dir, DrainTimeout: 2 * time.Minute},
			Deps{Store: s3.Store, Keys: signer, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		if err := svc.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		key, _ := signer.Key("bench")
		self0, kids0 := rusage(syscall.RUSAGE_SELF), rusage(syscall.RUSAGE_CHILDREN)
		// The same ffmpeg command alone runs at the same time as the ingest,
		// so both see the same machine load.
		alone := exec.Command(media.FFmpegPath(), transcode.Args(ladder, transcode.ArgsOptions{
			Dir: filepath.Join(dir, "alone"), Input: input, Realtime: true})...)
		var progress, stderr bytes.Buffer
		alone.Stdout, alone.Stderr = &progress, &stderr
		if err := alone.Start(); err != nil {
			b.Fatal(err)
		}
		pub := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", input, "-c", "copy",
			"-f", "flv", "rtmp://"+svc.RTMPAddr()+"/live/"+key)
		if err := pub.Start(); err != nil {
			b.Fatal(err)
		}
		lagP95, segments, ingestMedia := follow(b, svc, pub)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = svc.Close(ctx)
		cancel()
		if err := alone.Wait(); err != nil {
			b.Fatalf("ffmpeg alone: %v %s", err, stderr.String())
		}
		aloneCPU, aloneMedia := cpuOf(alone.ProcessState), lastOutTime(progress.String())
		self1, kids1 := rusage(syscall.RUSAGE_SELF), rusage(syscall.RUSAGE_CHILDREN)
		goCPU := self1 - self0
		ingestFFmpeg := (kids1 - kids0) - cpuOf(pub.ProcessState) - aloneCPU
		ingestCPU := goCPU + ingestFFmpeg

		// Per second of media encoded, so a loaded machine on which either
		// run falls behind real time still compares like with like.
		if aloneMedia <= 0 || ingestMedia <= 0 {
			b.Fatalf("no media encoded: alone %.1f s, ingest %.1f s", aloneMedia, ingestMedia)
		}
		overhead := ((ingestCPU/ingestMedia)/(aloneCPU/aloneMedia) - 1) * 100
		perStream := ingestCPU / ingestMedia
		streams := math.Floor(float64(runtime.NumCPU()) / perStream)
		fmt.Printf("live_publish_lag_p95_ms: %.0f\n", lagP95)
		fmt.Printf("live_cpu_overhead_pct: %.1f\n", overhead)
		fmt.Printf("live_streams_realtime_720p: %.0f\n", streams)
		fmt.Printf("live_bench_segments_published: %d\n", segments)
		fmt.Printf("live_bench_cpu_s_alone: %.2f\n", aloneCPU)
		fmt.Printf("live_bench_media_s_alone: %.2f\n", aloneMedia)
		fmt.Printf("live_bench_cpu_s_ingest: %.2f\n", ingestCPU)
		fmt.Printf("live_bench_media_s_ingest: %.2f\n", ingestMedia)
		fmt.Printf("live_bench_cpu_s_ingest_go: %.2f\n", goCPU)
		fmt.Printf("live_bench_cpu_s_ingest_ffmpeg: %.2f\n", ingestFFmpeg)
		fmt.Printf("live_cpu_go_share_pct: %.1f\n", goCPU/ingestFFmpeg*100)
		fmt.Printf("live_streams_realtime_method: floor(%d cpus / %.3f cpu-s per stream-s), %d rungs %s, preset %s\n",
			runtime.NumCPU(), perStream, len(ladder.Video), rungNames(ladder), transcode.DefaultPreset)
		b.ReportMetric(lagP95, "lag-p95-ms")
		b.ReportMetric(overhead, "cpu-overhead-%")
		b.ReportMetric(streams, "streams-720p")
	}
}

// BenchmarkSRT publishes BenchmarkLive's input over SRT (Debian's ffmpeg,
// encrypted with a passphrase) instead of RTMP, and prints:
//
//   - srt_publish_lag_p95_ms: as live_publish_lag_p95_ms;
//   - srt_streams_realtime_720p: as live_streams_realtime_720p, from the
//     ingest's CPU (Go process + its ffmpeg) per second of stream over SRT.
func BenchmarkSRT(b *testing.B) {
	s3 := testenv.S3(b)
	dir := b.TempDir()
	input := benchInput(b, dir)
	const passphrase = "bench-passphrase"
	for range b.N {
		signer, _ := keys.New([]byte("bench-secret-0123456789"))
		svc, err := New(Config{Bucket: testenv.BucketMedia, SRTAddr: "127.0.0.1:0", SRTPassphrase: passphrase,
			Grace: 500 * time.Millisecond, WorkDir: dir, DrainTimeout: 2 * time.Minute},
			Deps{Store: s3.Store, Keys: signer, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		if err := svc.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		key, _ := signer.Key("bench-srt")
		self0, kids0 := rusage(syscall.RUSAGE_SELF), rusage(syscall.RUSAGE_CHILDREN)
		pub := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", input, "-c", "copy",
			"-f", "mpegts", "srt://"+svc.SRTAddr()+"?streamid="+key+"&passphrase="+passphrase)
		if err := pub.Start(); err != nil {
			b.Fatal(err)
		}
		lagP95, segments, ingestMedia := follow(b, svc, pub)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = svc.Close(ctx)
		cancel()
		self1, kids1 := rusage(syscall.RUSAGE_SELF), rusage(syscall.RUSAGE_CHILDREN)
		ingestCPU := (self1 - self0) + (kids1 - kids0) - cpuOf(pub.ProcessState)
		if ingestMedia <= 0 {
			b.Fatal("no media encoded")
		}
		perStream := ingestCPU / ingestMedia
		streams := math.Floor(float64(runtime.NumCPU()) / perStream)
		fmt.Printf("srt_publish_lag_p95_ms: %.0f\n", lagP95)
		fmt.Printf("srt_streams_realtime_720p: %.0f\n", streams)
		fmt.Printf("srt_bench_segments_published: %d\n", segments)
		fmt.Printf("srt_streams_realtime_method: floor(%d cpus / %.3f cpu-s per stream-s), default ladder, preset %s\n",
			runtime.NumCPU(), perStream, transcode.DefaultPreset)
		b.ReportMetric(lagP95, "lag-p95-ms")
		b.ReportMetric(streams, "streams-720p")
	}
}

// benchInput is 01 (720p25, AAC 5.1) looped to about 21 s as MPEG-TS in
// dir.
func benchInput(b *testing.B, dir string) string {
	b.Helper()
	input := filepath.Join(dir, "in.ts")
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-stream_loop", "3",
		"-i", testenv.Media(b, "01_bbb_720p_h264_aac51.mp4"), "-c", "copy", "-f", "mpegts", input).CombinedOutput(); err != nil {
		b.Fatalf("make input: %v %s", err, out)
	}
	return input
}

// follow waits for the publisher pub to finish and for its one stream to
// end and be recorded (on a loaded machine the transcoder may still be
// catching up, for up to DrainTimeout), and returns the stream's last
// publish lag p95, segments published and seconds of media encoded.
func follow(b *testing.B, svc *Service, pub *exec.Cmd) (lagP95 float64, segments int64, media float64) {
	b.Helper()
	done := make(chan error, 1)
	go func() { done <- pub.Wait() }()
	return followUntil(b, svc, done)
}

// followUntil is follow of a publisher that ends when done yields.
func followUntil(b *testing.B, svc *Service, done <-chan error) (lagP95 float64, segments int64, media float64) {
	b.Helper()
poll:
	for {
		select {
		case err := <-done:
			if err != nil {
				b.Fatalf("publisher: %v", err)
			}
			break poll
		case <-time.After(500 * time.Millisecond):
			for _, st := range svc.Streams() {
				lagP95, segments, media = st.Publish.LagP95Ms, st.Publish.SegmentsPublished, st.EncodedSeconds
			}
		}
	}
	for deadline := time.Now().Add(3 * time.Minute); ; {
		st := svc.Streams()
		if len(st) == 0 {
			return lagP95, segments, media
		}
		lagP95, segments, media = st[0].Publish.LagP95Ms, st[0].Publish.SegmentsPublished, st[0].EncodedSeconds
		if time.Now().After(deadline) {
			b.Fatal("stream did not end")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// lastOutTime is the last out_time_us of ffmpeg's -progress output, in
// seconds.
func lastOutTime(progress string) float64 {
	var us int64
	for _, l := range strings.Split(progress, "\n") {
		if v, ok := strings.CutPrefix(l, "out_time_us="); ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				us = n
			}
		}
	}
	return float64(us) / 1e6
}

func rungNames(l media.Ladder) string {
	s := ""
	for i, r := range l.Video {
		if i > 0 {
			s += "+"
		}
		s += r.Name
	}
	return s
}

func cpuOf(ps interface {
	UserTime() time.Duration
	SystemTime() time.Duration
}) float64 {
	return (ps.UserTime() + ps.SystemTime()).Seconds()
}

func rusage(who int) float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(who, &ru)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
