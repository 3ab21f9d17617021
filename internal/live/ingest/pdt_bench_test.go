package ingest

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/feed"
)

// BenchmarkPDTDrift publishes a long synthetic feed faster than real time
// and compares each segment's PROGRAM-DATE-TIME with the feed's clock (the
// model: frame t was received at the run's anchor + t). The drift is the
// slope of the error over media time, per hour, so the feed need not
// last an hour. Prints live_pdt_drift_ms_per_hour (target <= 50) and the
// largest error.
func BenchmarkPDTDrift(b *testing.B) {
	const minutes = 10
	ts := synthFeed(b, minutes*60)
	for range b.N {
		e := newBenchEnv(b)
		anchor := time.Now().Truncate(time.Millisecond)
		paceFeed(b, e.svc, "drift", ts, minutes*60, anchor)
		if err := e.svc.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		rec := e.waitRecording("drift")
		pl := e.media("vod/" + rec + "/240p/index.m3u8")
		if pl == nil {
			b.Fatal("no recording playlist")
		}
		errs, at := pdtErrors(b, pl, []time.Time{anchor}, 2*time.Second)
		slope, worst := driftPerHour(errs, at)
		fmt.Printf("live_pdt_drift_ms_per_hour: %.1f\n", slope)
		fmt.Printf("live_pdt_max_error_ms: %.1f\n", worst)
		fmt.Printf("live_pdt_bench_media_minutes: %.1f\n", pl.Duration().Minutes())
	}
}

// newBenchEnv is newEnv for a benchmark: no listeners, a one-rung ladder.
func newBenchEnv(b *testing.B) *env {
	return newEnvWith(b, func(c *Config) { c.MaxRungs, c.RTMPAddr, c.UDPAddr = 1, "", "" }, nil)
}

// paceFeed is runFeed for a feed of seconds larger than the transcoder's
// input queue: it hands over a megabyte at a time, keeping at most 40 s
// of it ahead of the encoder, so nothing is dropped.
func paceFeed(b testing.TB, svc *Service, name string, ts []byte, seconds float64, received time.Time) {
	b.Helper()
	info, err := feed.ProbeTS(ts)
	if err != nil {
		b.Fatal(err)
	}
	info.Received = received
	f, err := svc.Claim(name, "bench")
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Start(info); err != nil {
		b.Fatal(err)
	}
	const chunk = 188 * 5577 // about 1 MiB of whole packets
	for off := 0; off < len(ts); off += chunk {
		for {
			st := svc.Streams()
			if len(st) == 1 && float64(off)/float64(len(ts))*seconds-st[0].EncodedSeconds < 40 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		_, _ = f.Write(ts[off:min(off+chunk, len(ts))])
	}
	f.End(nil)
	if st := svc.Streams(); len(st) == 1 && st[0].InputDroppedBytes > 0 {
		b.Fatalf("the transcoder dropped %d bytes of the feed", st[0].InputDroppedBytes)
	}
}

// driftPerHour fits errs against media time (least squares) and returns
// the slope in milliseconds per hour and the largest error in
// milliseconds.
func driftPerHour(errs, at []time.Duration) (slope, worst float64) {
	var n, sx, sy, sxx, sxy float64
	for i := range errs {
		x, y := at[i].Hours(), float64(errs[i])/float64(time.Millisecond)
		n, sx, sy, sxx, sxy = n+1, sx+x, sy+y, sxx+x*x, sxy+x*y
		worst = max(worst, math.Abs(y))
	}
	if d := n*sxx - sx*sx; d > 0 {
		slope = (n*sxy - sx*sy) / d
	}
	return slope, worst
}
