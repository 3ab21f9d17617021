package ingest

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLowLatencyOrigin: a low-latency stream's playlists and parts are
// served on the ingest's HTTP listener while it runs (hostile requests
// refused at once, streams it does not hold not found), and Close (the
// task's SIGTERM) still ends it with a recording, in fMP4, that decodes.
func TestLowLatencyOrigin(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.LowLatency, c.MaxRungs, c.Grace, c.LiveAddr = true, 1, 20*time.Second, "127.0.0.1:0"
	})
	ts := synthFeed(t, 8)
	runFeed(t, e.svc, "quick", ts, time.Now())
	base := "http://" + e.svc.HTTPAddr() + "/live/quick/240p/"
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, pl := get(base + "index.m3u8")
	if code != 200 || !strings.Contains(pl, "#EXT-X-PART:") || !strings.Contains(pl, "#EXT-X-MAP:URI=\"init_1.mp4\"") ||
		!strings.Contains(pl, "../../../vod/quick-") {
		t.Fatalf("%d\n%s", code, pl)
	}
	line := pl[strings.LastIndex(pl, "#EXT-X-PART:"):]
	i := strings.Index(line, "URI=\"") + 5
	part := line[i : i+strings.Index(line[i:], "\"")]
	if code, b := get(base + part); code != 200 || !strings.Contains(b[:min(len(b), 64)], "moof") {
		t.Errorf("newest part %s: %d", part, code)
	}
	// LiveAddr serves the same, and nothing else: not /streams, which
	// names publishers' addresses, nor /healthz.
	live := "http://" + e.svc.LiveAddr()
	if code, b := get(live + "/live/quick/240p/index.m3u8"); code != 200 || !strings.Contains(b, "#EXT-X-PART:") {
		t.Errorf("playlist on LiveAddr: %d\n%s", code, b)
	}
	if code, _ := get("http://" + e.svc.HTTPAddr() + "/streams"); code != 200 {
		t.Errorf("/streams on HTTPAddr: %d", code)
	}
	for _, p := range []string{"/streams", "/healthz", "/live/", "/live/quick", "/whip/quick"} {
		if code, b := get(live + p); code != 404 || strings.Contains(b, "quick") {
			t.Errorf("%s on LiveAddr: %d %q, want 404", p, code, b)
		}
	}
	for path, want := range map[string]int{
		base + "index.m3u8?_HLS_msn=1000":                            400,
		base + "index.m3u8?_HLS_part=1":                              400,
		"http://" + e.svc.HTTPAddr() + "/live/other/240p/index.m3u8": 404,
		base + "part_999_0.m4s":                                      404,
	} {
		start := time.Now()
		if code, _ := get(path); code != want || time.Since(start) > time.Second {
			t.Errorf("%s: %d after %v, want %d at once", path, code, time.Since(start), want)
		}
	}
	if err := e.svc.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec := e.waitRecording("quick")
	pl2 := e.media("vod/" + rec + "/240p/index.m3u8")
	if pl2 == nil || len(pl2.Segments) < 3 || pl2.Segments[0].Map == nil || !strings.HasSuffix(pl2.Segments[0].URI, ".m4s") {
		t.Fatalf("recording playlist %+v", pl2)
	}
	dir := t.TempDir()
	e.download("vod/"+rec+"/", dir)
	if d := decode(t, filepath.Join(dir, "vod", rec, "master.m3u8")); d < 7 {
		t.Errorf("recording lasts %.1f s, want about 8", d)
	}
}

func TestConfigFromEnvLowLatency(t *testing.T) {
	for v, want := range map[string]bool{"": false, "off": false, "on": true} {
		c, err := ConfigFromEnv(func(k string) string {
			return map[string]string{"MEDIA_BUCKET": "media", "STREAM_KEY_SECRET": "x", "LOW_LATENCY": v}[k]
		})
		if err != nil || c.LowLatency != want {
			t.Errorf("LOW_LATENCY=%q: %v, %v; want %v", v, c.LowLatency, err, want)
		}
	}
}
