package system_test

import (
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/browsertest"
	"github.com/hlsflow/hlsflow/internal/live/ingest"
)

// publisher starts ffmpeg sending a live test pattern in real time to
// url in format (flv for RTMP, mpegts for UDP).
func publisher(t testing.TB, format, url string, seconds string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p",
		"-b:v", "800k", "-c:a", "aac", "-b:a", "64k", "-t", seconds, "-f", format, url)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// waitPlaylist waits for url to answer 200.
func waitPlaylist(t testing.TB, url string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code, body := get(t, url); code == 200 {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", url)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestLowLatencyLive: with low latency on, a live RTMP feed and a live UDP
// feed play through the edge in hls.js's low-latency mode, near the live
// edge; the rendition playlists come from the ingest with parts and
// blocking reloads; hls.js without low-latency mode and ffmpeg still play
// the full segments.
func TestLowLatencyLive(t *testing.T) {
	if _, err := browsertest.ChromiumPath(); err != nil {
		t.Skip(err)
	}
	cfg := config(t)
	udp := freeUDP(t)
	cfg.UDPAddr = udp
	cfg.Live = ingest.Config{Preset: "ultrafast", MaxRungs: 2, LowLatency: true}
	sys := start(t, cfg)
	defer func() { _ = sys.Close(t.Context()) }()
	key, err := cfg.Keys.Key("ll")
	if err != nil {
		t.Fatal(err)
	}
	publisher(t, "flv", "rtmp://"+cfg.RTMPAddr+"/live/"+key, "120")
	publisher(t, "mpegts", "udp://"+udp+"?pkt_size=1316", "120")
	edge := "http://" + cfg.EdgeAddr
	for _, name := range []string{"ll", "udp"} {
		t.Run(name, func(t *testing.T) {
			master := waitPlaylist(t, edge+"/live/"+name+"/master.m3u8")
			rung := ""
			for _, l := range strings.Split(master, "\n") {
				if strings.HasSuffix(l, "/index.m3u8") && rung == "" {
					rung = strings.TrimSuffix(l, "/index.m3u8")
				}
			}
			pl := waitPlaylist(t, edge+"/live/"+name+"/"+rung+"/index.m3u8")
			for _, want := range []string{"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES", "#EXT-X-PART:", "#EXT-X-PRELOAD-HINT:", "#EXT-X-MAP:"} {
				if !strings.Contains(pl, want) {
					t.Errorf("rendition playlist lacks %s:\n%s", want, pl)
				}
			}
			url := edge + "/live/" + name + "/master.m3u8"
			res, err := browsertest.Play(t, url, browsertest.Options{MinTime: 6, Sample: 5 * time.Second, Timeout: 60 * time.Second,
				HlsConfig: map[string]any{"lowLatencyMode": true, "maxLiveSyncPlaybackRate": 1.5}})
			if err != nil {
				t.Fatalf("low-latency hls.js: %v", err)
			}
			t.Logf("low-latency latencies %v, stalls %d", res.Latencies, res.Stalls)
			for _, l := range res.Latencies {
				if l <= 0 || l > 4 {
					t.Errorf("low-latency playback %.2f s behind live; want under 4", l)
				}
			}
			if _, err := browsertest.Play(t, url, browsertest.Options{MinTime: 6, Timeout: 60 * time.Second,
				HlsConfig: map[string]any{"lowLatencyMode": false}}); err != nil {
				t.Errorf("hls.js without low-latency mode: %v", err)
			}
			out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", url, "-t", "4", "-f", "null", "-").CombinedOutput()
			if err != nil {
				t.Errorf("ffmpeg reading the live playlist: %v\n%s", err, out)
			}
		})
	}
}

// freeUDP is a free loopback UDP address.
func freeUDP(t testing.TB) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}
