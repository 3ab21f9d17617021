package ingest

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/live/whip/whiptest"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// whipEndpoint is a stream's WHIP URL on the service's own listener.
func (e *env) whipEndpoint(name string) string { return "http://" + e.svc.WHIPAddr() + "/whip/" + name }

// TestWHIPLiveAndRecording: a WebRTC publisher (pion, H.264 and Opus)
// goes live over WHIP and is recorded with AAC audio, as RTMP is; a wrong
// key is refused before any transcoder, and a publisher that stalls is
// dropped, leaving no goroutine nor ffmpeg (checkClean).
func TestWHIPLiveAndRecording(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.WHIPAddr, c.WHIPICEAddr, c.WHIPICETCPAddr, c.MaxRungs = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", 1
	})
	clip := whiptest.MakeClip(t, 640, 360, 4)

	_, err := whiptest.Publish(context.Background(), e.whipEndpoint("intruder"), "intruder.AAAAAAAAAAAAAAAAAAAAAA", clip, whiptest.Options{SendFor: time.Second})
	var se *whiptest.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusUnauthorized {
		t.Fatalf("forged key: %v, want 401", err)
	}
	stall, err := whiptest.Publish(context.Background(), e.whipEndpoint("stall"), e.key("stall"), clip, whiptest.Options{SendFor: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer stall.Close(false)
	p, err := whiptest.Publish(context.Background(), e.whipEndpoint("webrtc"), e.key("webrtc"), clip, whiptest.Options{SendFor: 8 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor("webrtc live with two segments", 30*time.Second, func() bool {
		pl := e.media("live/webrtc/360p/index.m3u8")
		return pl != nil && len(pl.Segments) >= 2
	})
	<-p.Sent()
	if err := p.Close(true); err != nil {
		t.Fatal(err)
	}
	rec := e.waitRecording("webrtc")
	st, err := catalog.Read(context.Background(), e.s3, testenv.BucketMedia, rec)
	if err != nil {
		t.Fatal(err)
	}
	if st.Duration < 6 || st.Duration > 10 {
		t.Errorf("recording lasts %.1f s, want about 8", st.Duration)
	}
	dir := t.TempDir()
	e.download("vod/"+rec+"/", dir)
	master := filepath.Join(dir, "vod", rec, "master.m3u8")
	decode(t, master)
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", master).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "aac") || !strings.Contains(string(out), "h264") {
		t.Errorf("recording streams %q (%v), want h264 and aac (Opus transcoded)", out, err)
	}

	e.waitFor("the stalled publisher dropped", 30*time.Second, func() bool {
		return strings.Contains(e.log.String(), "whip: no media")
	})
	if keys, _ := e.s3.List(context.Background(), testenv.BucketMedia, "live/intruder/"); len(keys) != 0 {
		t.Errorf("refused publisher published %v", keys)
	}
	if strings.Contains(e.log.String(), "stream=intruder") {
		t.Error("a publisher with a forged key reached the stream")
	}
	e.checkClean()
}

// TestWHIPPublicHost: the public host's addresses (the load balancer's
// name on AWS) are what WHIP announces in its candidates.
func TestWHIPPublicHost(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.WHIPICEAddr, c.WHIPPublicHost = "127.0.0.1:0", "localhost" })
	if !slices.Contains(e.svc.whip.PublicIPs, "127.0.0.1") {
		t.Errorf("public IPs %v, want localhost's 127.0.0.1", e.svc.whip.PublicIPs)
	}
}

// TestWHIPVP8Live: a publisher without H.264 (VP8 and Opus, as a browser
// may send) goes live through the WebM feed: live segments and the
// recording decode as H.264 and AAC, and nothing is left after.
func TestWHIPVP8Live(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.WHIPAddr, c.WHIPICEAddr, c.WHIPICETCPAddr, c.MaxRungs = "127.0.0.1:0", "127.0.0.1:0", "", 1
	})
	clip := whiptest.MakeClip(t, 640, 360, 4)
	p, err := whiptest.Publish(context.Background(), e.whipEndpoint("vp8cam"), e.key("vp8cam"), clip, whiptest.Options{SendFor: 8 * time.Second, VP8: true})
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor("vp8cam live with two segments", 30*time.Second, func() bool {
		pl := e.media("live/vp8cam/360p/index.m3u8")
		return pl != nil && len(pl.Segments) >= 2
	})
	pl := e.media("live/vp8cam/360p/index.m3u8")
	dir := t.TempDir()
	seg := filepath.Join(dir, "seg.ts")
	b, err := e.s3.GetBytes(context.Background(), testenv.BucketMedia, "live/vp8cam/360p/"+pl.Segments[0].URI)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if d := decode(t, seg); d <= 0 {
		t.Errorf("the first live segment lasts %.2f s", d)
	}
	<-p.Sent()
	if err := p.Close(true); err != nil {
		t.Fatal(err)
	}
	rec := e.waitRecording("vp8cam")
	e.download("vod/"+rec+"/", dir)
	master := filepath.Join(dir, "vod", rec, "master.m3u8")
	if d := decode(t, master); d < 5 || d > 10 {
		t.Errorf("recording lasts %.1f s, want about 7 (8 sent, from the first keyframe)", d)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", master).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "aac") || !strings.Contains(string(out), "h264") {
		t.Errorf("recording streams %q (%v), want h264 and aac", out, err)
	}
	if !strings.Contains(e.log.String(), "video=vp8") {
		t.Error("the session was not VP8")
	}
	e.checkClean()
}

// TestWHIPGarbageVP8: a keyed publisher whose VP8 frames are random bytes
// behind a keyframe's header starts a transcoder that decodes garbage;
// once the publisher vanishes the session and its ffmpeg end and nothing
// is left (checkClean).
func TestWHIPGarbageVP8(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.WHIPAddr, c.WHIPICEAddr, c.WHIPICETCPAddr, c.MaxRungs, c.IdleTimeout = "127.0.0.1:0", "127.0.0.1:0", "", 1, 2*time.Second
	})
	clip := whiptest.MakeClip(t, 320, 240, 1)
	p, err := whiptest.Publish(context.Background(), e.whipEndpoint("junk"), e.key("junk"), clip,
		whiptest.Options{SendFor: 4 * time.Second, VP8: true, Garbage: true, GarbageKeyframes: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(false)
	e.waitFor("the garbage feed transcoded", 20*time.Second, func() bool {
		return strings.Contains(e.log.String(), "stream=junk") && strings.Contains(e.log.String(), "live: transcoding")
	})
	e.waitFor("the publisher dropped", 30*time.Second, func() bool {
		return strings.Contains(e.log.String(), "whip: no media")
	})
	e.checkClean()
}
