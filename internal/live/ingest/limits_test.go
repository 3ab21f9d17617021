package ingest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestStreamEndsAtMaxDuration: a publisher that keeps sending past the
// stream's MaxDuration has its stream ended cleanly at that time: the
// live playlists end, the recording is ready and lasts about MaxDuration,
// and the publisher is disconnected.
func TestStreamEndsAtMaxDuration(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxDuration = 6 * time.Second; c.MaxRungs = 1 })
	start := time.Now()
	pub := e.publishRTMP(e.key("marathon"), 60)
	rec := e.waitRecording("marathon")
	took := time.Since(start)
	if took > 40*time.Second {
		t.Errorf("recording ready after %v, want soon after the 6 s limit", took)
	}
	pl := e.media("vod/" + rec + "/480p/index.m3u8")
	if pl == nil || pl.Duration() < 3*time.Second || pl.Duration() > 9*time.Second {
		t.Fatalf("recording playlist %+v, want about 6 s", pl)
	}
	live := e.media("live/marathon/480p/index.m3u8")
	if live == nil || !live.EndList {
		t.Errorf("live playlist not ended: %+v", live)
	}
	done := make(chan error, 1)
	go func() { done <- pub.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Error("the publisher is still connected")
	}
	if !strings.Contains(e.log.String(), "maximum duration of 6s") {
		t.Error("no log line names the limit")
	}
	e.checkClean()
}

// TestFeedOverTheLimitsIsRefused: a feed beyond the limits of uploads
// (here 8192 pixels wide) is refused before any transcoder starts.
func TestFeedOverTheLimitsIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	_ = e.ffmpeg("-re", "-f", "lavfi", "-i", "color=c=black:s=8192x16:r=25:d=3",
		"-c:v", "libx264", "-preset", "ultrafast", "-f", "flv", "rtmp://"+e.svc.RTMPAddr()+"/live/"+e.key("wide")).Wait()
	e.waitFor("refusal logged", 10*time.Second, func() bool {
		return strings.Contains(e.log.String(), "larger than the 7680x4320 we accept")
	})
	if strings.Contains(e.log.String(), "live: transcoding") {
		t.Error("a transcoder started for the refused feed")
	}
	if keys, _ := e.s3.List(context.Background(), testenv.BucketMedia, "live/wide/"); len(keys) != 0 {
		t.Errorf("refused feed published %v", keys)
	}
	if keys, _ := e.s3.List(context.Background(), testenv.BucketMedia, "vod/wide-"); len(keys) != 0 {
		t.Errorf("refused feed recorded %v", keys)
	}
	e.checkClean()
}

func TestConfigFromEnvMaxDuration(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want time.Duration
		bad  bool
	}{{"", DefaultMaxDuration, false}, {"90m", 90 * time.Minute, false}, {"forever", 0, true}} {
		c, err := ConfigFromEnv(func(k string) string {
			return map[string]string{"MEDIA_BUCKET": "m", "LIVE_MAX_DURATION": tc.env}[k]
		})
		if (err != nil) != tc.bad || (!tc.bad && c.MaxDuration != tc.want) {
			t.Errorf("LIVE_MAX_DURATION=%q: %v, %v; want %v (error %v)", tc.env, c.MaxDuration, err, tc.want, tc.bad)
		}
	}
}
