package vod

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/chunk"
	"github.com/hlsflow/hlsflow/internal/cost"
	"github.com/hlsflow/hlsflow/internal/lambdaspec"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/metrics"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// price is what a usage costs at p, computed here from the table so the
// test does not trust Usage.Price.
func price(u *cost.Usage, p cost.Prices) float64 {
	usd := float64(u.S3Puts)*p.S3Put + float64(u.S3Gets)*p.S3Get
	for _, f := range u.Functions {
		usd += f.GBSeconds*p.LambdaGBSecond + float64(f.Invocations)*p.LambdaRequest
	}
	return usd
}

// readyLine is the EMF line of the job that became ready.
func readyLine(t *testing.T, log string) metrics.EMFLine {
	t.Helper()
	lines, err := metrics.ParseEMF(log)
	if err != nil {
		t.Fatal(err)
	}
	var started int
	var ready []metrics.EMFLine
	for _, l := range lines {
		if l.Namespace != "Hlsflow" {
			t.Errorf("namespace %q", l.Namespace)
		}
		started += int(l.Values["JobsStarted"])
		if l.Values["JobsReady"] == 1 {
			ready = append(ready, l)
		}
	}
	if started != 1 || len(ready) != 1 {
		t.Fatalf("%d started and %d ready lines, want one each, in\n%s", started, len(ready), log)
	}
	return ready[0]
}

// TestChunkedJobCost fans an upload out, timing each encode invocation
// from outside, and checks status.json's cost and the metrics against it.
func TestChunkedJobCost(t *testing.T) {
	h := newTranscoder(t)
	var emf bytes.Buffer
	h.m = metrics.New(metrics.Namespace, &emf)
	h.cfg.MemoryMB, h.cfg.EncodeMemoryMB = 3008, 2048
	var (
		mu      sync.Mutex
		calls   int
		seconds float64
	)
	inner := h.chunks
	h.chunks = chunkFunc(func(ctx context.Context, r chunk.Request) (*chunk.Response, error) {
		start := time.Now()
		res, err := inner.EncodeChunk(ctx, r)
		mu.Lock()
		calls++
		seconds += time.Since(start).Seconds()
		mu.Unlock()
		return res, err
	})
	start := time.Now()
	s := transcodeUpload(t, h, "costed.mp4")
	wall := time.Since(start).Seconds()
	if s.State != catalog.StateReady || s.Cost == nil {
		t.Fatalf("state %s, cost %+v: want ready with a cost", s.State, s.Cost)
	}
	c := s.Cost
	enc, tr := c.Functions["encode"], c.Functions["transcode"]
	if enc == nil || tr == nil || len(c.Functions) != 2 {
		t.Fatalf("functions = %+v, want transcode and encode", c.Functions)
	}
	if enc.Invocations != calls || calls < 3 || tr.Invocations != 1 {
		t.Errorf("invocations: encode %d (made %d), transcode %d", enc.Invocations, calls, tr.Invocations)
	}
	// Measured around the same calls, a little further in.
	if want := seconds * 2048 / 1024; math.Abs(enc.GBSeconds-want) > 0.01+want/50 {
		t.Errorf("encode GB-s = %v, want %v (2 GB × %.3f s)", enc.GBSeconds, want, seconds)
	}
	if max := wall * 3008 / 1024; tr.GBSeconds <= 0 || tr.GBSeconds > max+0.001 {
		t.Errorf("transcode GB-s = %v, want in (0, %v]", tr.GBSeconds, max)
	}
	// At the rate of the architecture this test (the function) runs on.
	prices := cost.USEast1For(runtime.GOARCH)
	if want := price(c, prices); math.Abs(c.USD-want) > 1e-6 || c.USD <= 0 {
		t.Errorf("usd = %v, want %v", c.USD, want)
	}
	if c.Prices != "us-east-1 "+prices.Arch+" "+cost.USEast1.Date {
		t.Errorf("prices = %q", c.Prices)
	}
	// Every object of the video was written at least once, and all the
	// bytes it holds.
	objs, err := st.Objects(context.Background(), "media", catalog.Prefix(s.ID))
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, "status.json") {
			size += o.Size
		}
	}
	if c.S3Puts < int64(len(objs)) || c.BytesWritten < size || c.BytesWritten > 2*size {
		t.Errorf("puts %d, bytes %d; the video holds %d objects, %d bytes", c.S3Puts, c.BytesWritten, len(objs), size)
	}

	l := readyLine(t, emf.String())
	for name, want := range map[string]float64{
		"SourceSeconds": s.Duration, "GBSeconds": c.GBSeconds(), "JobCostUSD": c.USD,
	} {
		if got := l.Values[name]; math.Abs(got-want) > 1e-9 {
			t.Errorf("EMF %s = %v, want %v", name, got, want)
		}
	}
	if got := l.Values["EncodeSeconds"]; math.Abs(got-seconds) > 0.05+seconds/50 {
		t.Errorf("EMF EncodeSeconds = %v, want about %v", got, seconds)
	}
	if got := l.Values["TimeToFirstPlayable"]; got <= 0 || got > wall {
		t.Errorf("EMF TimeToFirstPlayable = %v, want in (0, %v]", got, wall)
	}
	if l.Units["SourceSeconds"] != "Seconds" {
		t.Errorf("unit of SourceSeconds = %q", l.Units["SourceSeconds"])
	}

	var prom bytes.Buffer
	if err := h.m.WritePrometheus(&prom); err != nil {
		t.Fatal(err)
	}
	got, err := metrics.ParsePrometheus(prom.String())
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]float64{
		"hlsflow_jobs_started_total": 1, "hlsflow_jobs_ready_total": 1,
		"hlsflow_source_seconds_sum": s.Duration, "hlsflow_gb_seconds_sum": c.GBSeconds(), "hlsflow_job_cost_usd_sum": c.USD,
	} {
		if math.Abs(got[k]-want) > 1e-9 {
			t.Errorf("%s = %v, want %v\n%s", k, got[k], want, prom.String())
		}
	}
}

// TestLocalJobCostAndFailures encodes a short source here (no fan-out),
// then refuses an empty upload: the failure is counted by reason.
func TestLocalJobCostAndFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes real media")
	}
	h, env := newHandler(t)
	var emf bytes.Buffer
	h.m = metrics.New(metrics.Namespace, &emf)
	key := "cost/roar.mp3"
	uploadFile(t, env.Store, key, testenv.Media(t, "14_t_rex_roar_audio_only.mp3"))
	start := time.Now()
	if err := h.Handle(context.Background(), putEvent(t, key)); err != nil {
		t.Fatal(err)
	}
	wall := time.Since(start).Seconds()
	s, err := catalog.Read(context.Background(), env.Store, testenv.BucketMedia, catalog.VideoID(key))
	if err != nil {
		t.Fatal(err)
	}
	if s.State != catalog.StateReady || s.Cost == nil || len(s.Cost.Functions) != 1 {
		t.Fatalf("state %s, cost %+v: want ready, one function", s.State, s.Cost)
	}
	tr := s.Cost.Functions["transcode"]
	if max := wall * float64(lambdaspec.Transcode.MemoryMB) / 1024; tr == nil || tr.Invocations != 1 || tr.GBSeconds <= 0 || tr.GBSeconds > max+0.001 {
		t.Errorf("transcode = %+v, want 1 invocation, GB-s in (0, %v]", tr, max)
	}
	if want := price(s.Cost, cost.USEast1For(runtime.GOARCH)); math.Abs(s.Cost.USD-want) > 1e-6 {
		t.Errorf("usd = %v, want %v", s.Cost.USD, want)
	}
	l := readyLine(t, emf.String())
	if got := l.Values["EncodeSeconds"]; got <= 0 || got > wall {
		t.Errorf("EncodeSeconds = %v, want in (0, %v]", got, wall)
	}

	emf.Reset()
	upload(t, env.Store, "cost/empty.mp4", nil)
	if err := h.Handle(context.Background(), putEvent(t, "cost/empty.mp4")); err != nil {
		t.Fatal(err)
	}
	lines, err := metrics.ParseEMF(emf.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[1].Values["JobsFailed"] != 1 || lines[1].Dims["Reason"] != "refused" {
		t.Errorf("EMF lines %+v, want started then failed (refused)", lines)
	}
	var prom bytes.Buffer
	_ = h.m.WritePrometheus(&prom)
	if !strings.Contains(prom.String(), `hlsflow_jobs_failed_total{reason="refused"} 1`) || !strings.Contains(prom.String(), "hlsflow_jobs_started_total 2") {
		t.Errorf("prometheus text:\n%s", prom.String())
	}
}

func TestFailReason(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	expired, stop := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer stop()
	for name, tc := range map[string]struct {
		err  error
		want string
	}{
		"refused":     {refuse("the file is empty", nil), "refused"},
		"timeout":     {interrupted(context.Background(), expired, time.Now(), errors.New("killed")), "timeout"},
		"interrupted": {interrupted(ctx, ctx, time.Now(), errors.New("killed")), "interrupted"},
		"unsupported": {fmt.Errorf("probe: %w", media.ErrUnsupported), "unsupported"},
		"transient":   {errors.New("connection reset"), "transient"},
	} {
		if got := failReason(tc.err); got != tc.want {
			t.Errorf("%s: failReason(%v) = %q, want %q", name, tc.err, got, tc.want)
		}
	}
}
