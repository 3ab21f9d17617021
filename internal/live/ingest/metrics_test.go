package ingest

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/metrics"
)

// TestStreamMetrics publishes over RTMP and reads the EMF lines and the
// Prometheus text back: one live stream, its bitrate as GET /streams
// tells it, a publish lag once segments are out, and no stream at the end.
func TestStreamMetrics(t *testing.T) {
	emf := &syncBuffer{}
	m := metrics.New(metrics.Namespace, emf)
	e := newEnvWith(t, func(c *Config) { c.StatsLog = 200 * time.Millisecond }, m)
	pub := e.publishRTMP(e.key("metered"), 12)
	e.waitFor("published segments", 30*time.Second, func() bool {
		s := e.svc.Streams()
		return len(s) == 1 && s[0].Publish.SegmentsPublished >= 2
	})
	// A period later, the metrics have seen what the stats show now.
	time.Sleep(500 * time.Millisecond)
	stats := e.svc.Streams()
	lines, err := metrics.ParseEMF(emf.String())
	if err != nil {
		t.Fatal(err)
	}
	var bitrate, lag []float64
	streams := -1.0
	for _, l := range lines {
		if v, ok := l.Values["LiveStreams"]; ok {
			streams = v
		}
		if v, ok := l.Values["IngestBitrate"]; ok {
			bitrate = append(bitrate, v)
		}
		if v, ok := l.Values["PublishLag"]; ok {
			lag = append(lag, v)
		}
		if l.Namespace != metrics.Namespace || len(l.Dims) != 0 {
			t.Errorf("line %+v: want namespace %s, no dimensions", l, metrics.Namespace)
		}
	}
	if streams != 1 || len(bitrate) == 0 || len(lag) == 0 {
		t.Fatalf("streams %v, %d bitrate and %d lag samples; want 1 stream and samples of both", streams, len(bitrate), len(lag))
	}
	// The bitrate is an average since the run started: the last sample
	// and the stats read just after are close.
	if got, want := bitrate[len(bitrate)-1], stats[0].BitrateInKbps; want <= 0 || math.Abs(got-want) > want/4 {
		t.Errorf("IngestBitrate %v kbps, GET /streams says %v", got, want)
	}
	for _, v := range lag {
		if v <= 0 || v > 30000 {
			t.Errorf("PublishLag %v ms, want a positive lag under the test's timeouts", v)
		}
	}

	if err := pub.Wait(); err != nil {
		t.Fatalf("publisher: %v", err)
	}
	e.waitFor("the stream to end", 60*time.Second, func() bool { return len(e.svc.Streams()) == 0 })
	time.Sleep(500 * time.Millisecond)
	var prom bytes.Buffer
	if err := m.WritePrometheus(&prom); err != nil {
		t.Fatal(err)
	}
	got, err := metrics.ParsePrometheus(prom.String())
	if err != nil {
		t.Fatal(err)
	}
	if got["hlsflow_live_streams"] != 0 || got["hlsflow_ingest_bitrate_count"] < float64(len(bitrate)) || got["hlsflow_publish_lag_sum"] <= 0 {
		t.Errorf("prometheus text after the stream:\n%s", prom.String())
	}
	if _, ok := got["hlsflow_dropped_bytes_total"]; !ok {
		t.Errorf("no dropped bytes counter in\n%s", prom.String())
	}
}
