package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/keys"
	"github.com/hlsflow/hlsflow/internal/live/whip/whiptest"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// BenchmarkWHIP publishes 20 s of a 720p25 H.264 and Opus clip over WHIP
// (pion, in real time, as a browser sends) with the default ladder and
// preset, and prints:
//
//   - whip_publish_lag_p95_ms: as live_publish_lag_p95_ms, from ffmpeg
//     finishing a segment to the playlist naming it being in S3.
func BenchmarkWHIP(b *testing.B) {
	s3 := testenv.S3(b)
	dir := b.TempDir()
	clip := whiptest.MakeClip(b, 1280, 720, 20)
	for range b.N {
		signer, _ := keys.New([]byte("bench-secret-0123456789"))
		svc, err := New(Config{Bucket: testenv.BucketMedia, WHIPAddr: "127.0.0.1:0", WHIPICEAddr: "127.0.0.1:0",
			Grace: 500 * time.Millisecond, WorkDir: dir, DrainTimeout: 2 * time.Minute},
			Deps{Store: s3.Store, Keys: signer, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		if err := svc.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		key, _ := signer.Key("bench-whip")
		p, err := whiptest.Publish(context.Background(), "http://"+svc.WHIPAddr()+"/whip/bench-whip", key, clip,
			whiptest.Options{SendFor: 20 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			<-p.Sent()
			if err := p.Err(); err != nil {
				done <- err
				return
			}
			done <- p.Close(true)
		}()
		lagP95, segments, _ := followUntil(b, svc, done)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = svc.Close(ctx)
		cancel()
		fmt.Printf("whip_publish_lag_p95_ms: %.0f\n", lagP95)
		fmt.Printf("whip_bench_segments_published: %d\n", segments)
		b.ReportMetric(lagP95, "lag-p95-ms")
	}
}
