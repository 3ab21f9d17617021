package system_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/browsertest"
	"github.com/hlsflow/hlsflow/internal/live/ingest"
)

// BenchmarkLiveGlassToGlass publishes a live RTMP feed in real time to
// the local system and plays it through the edge in headless Chromium's
// hls.js, reading the latency each second for a minute: now less the
// program date time of the frame on screen (hls.playingDate), which is
// when the ingest received it. It plays with lowLatencyMode on
// (live_glass_to_glass_p50_s, _p95_s) and off, the regular-HLS baseline
// (live_glass_to_glass_regular_p50_s, _p95_s), and counts stalls after
// playback began.
func BenchmarkLiveGlassToGlass(b *testing.B) {
	if _, err := browsertest.ChromiumPath(); err != nil {
		b.Skip(err)
	}
	for _, mode := range []struct {
		name string
		ll   bool
		hls  map[string]any
	}{
		// As the page plays live streams.
		{"live_glass_to_glass", true, map[string]any{"lowLatencyMode": true, "maxLiveSyncPlaybackRate": 1.5}},
		// Today's regular HLS: MPEG-TS segments from S3, hls.js defaults.
		{"live_glass_to_glass_regular", false, map[string]any{"lowLatencyMode": false}},
	} {
		lats, stalls := glassToGlass(b, mode.ll, mode.hls)
		fmt.Printf("%s_p50_s: %.2f\n", mode.name, quantile(lats, 0.5))
		fmt.Printf("%s_p95_s: %.2f\n", mode.name, quantile(lats, 0.95))
		fmt.Printf("%s_stalls: %d\n", mode.name, stalls)
	}
}

// glassToGlass runs a system (low latency or not), publishes to it and
// plays it for a minute, returning the latency samples and the stalls.
func glassToGlass(b *testing.B, lowLatency bool, hlsConfig map[string]any) ([]float64, int) {
	const sample = 60 * time.Second
	cfg := config(b)
	cfg.Live = ingest.Config{Preset: "ultrafast", MaxRungs: 2, LowLatency: lowLatency}
	sys := start(b, cfg)
	defer func() { _ = sys.Close(context.Background()) }()
	key, err := cfg.Keys.Key("g2g")
	if err != nil {
		b.Fatal(err)
	}
	pub := publisher(b, "flv", "rtmp://"+cfg.RTMPAddr+"/live/"+key, "200")
	defer func() { _ = pub.Process.Kill() }()
	master := "http://" + cfg.EdgeAddr + "/live/g2g/master.m3u8"
	waitPlaylist(b, master)
	res, err := browsertest.Play(b, master, browsertest.Options{MinTime: 1, Timeout: 90 * time.Second, Sample: sample,
		HlsConfig: hlsConfig})
	if err != nil {
		b.Fatalf("play: %v", err)
	}
	if len(res.Latencies) < int(sample/time.Second)*9/10 {
		b.Fatalf("%d latency samples in %v (no program date time?)", len(res.Latencies), sample)
	}
	return res.Latencies, res.Stalls
}

// quantile is the q-quantile (0..1) of xs, nearest rank.
func quantile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(float64(len(s))*q+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}
