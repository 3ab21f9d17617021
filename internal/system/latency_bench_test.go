package system_test

import (
	"fmt"
	"os/exec"
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
	const sample = 60 * time.Second
	t := b
	cfg := config(t)
	cfg.Live = ingest.Config{Preset: "ultrafast", MaxRungs: 2}
	sys := start(t, cfg)
	defer func() { _ = sys.Close(t.Context()) }()
	key, err := cfg.Keys.Key("g2g")
	if err != nil {
		t.Fatal(err)
	}
	// Long enough for both players; the publisher stops with the bench.
	pub := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p",
		"-b:v", "800k", "-c:a", "aac", "-b:a", "64k", "-t", "400",
		"-f", "flv", "rtmp://"+cfg.RTMPAddr+"/live/"+key)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Process.Kill(); _ = pub.Wait() }()
	master := "http://" + cfg.EdgeAddr + "/live/g2g/master.m3u8"
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code, _ := get(t, master); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the live master playlist never appeared")
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, mode := range []struct {
		name string
		ll   bool
	}{{"live_glass_to_glass", true}, {"live_glass_to_glass_regular", false}} {
		res, err := browsertest.Play(t, master, browsertest.Options{MinTime: 1, Timeout: 90 * time.Second, Sample: sample,
			HlsConfig: map[string]any{"lowLatencyMode": mode.ll}})
		if err != nil {
			t.Fatalf("%s: %v", mode.name, err)
		}
		if len(res.Latencies) < int(sample/time.Second)*9/10 {
			t.Fatalf("%s: %d latency samples in %v (no program date time?)", mode.name, len(res.Latencies), sample)
		}
		fmt.Printf("%s_p50_s: %.2f\n", mode.name, quantile(res.Latencies, 0.5))
		fmt.Printf("%s_p95_s: %.2f\n", mode.name, quantile(res.Latencies, 0.95))
		fmt.Printf("%s_stalls: %d\n", mode.name, res.Stalls)
	}
}

// quantile is the q-quantile (0..1) of xs, nearest rank.
func quantile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(float64(len(s))*q+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}
