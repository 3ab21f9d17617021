package ingest

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestRTMPLiveAndRecording publishes a real feed over RTMP and checks the
// whole life of a stream, with hostile clients and refused publishers
// hitting the service meanwhile.
func TestRTMPLiveAndRecording(t *testing.T) {
	e := newEnv(t, nil)
	pub := e.publishRTMP(e.key("show"), 24)

	e.waitFor("live master", 30*time.Second, func() bool { return e.get("live/show/master.m3u8") != "" })
	master := e.get("live/show/master.m3u8")
	for _, want := range []string{"480p/index.m3u8", "360p/index.m3u8", "RESOLUTION=640x480", "mp4a.40.2"} {
		if !strings.Contains(master, want) {
			t.Errorf("live master lacks %q:\n%s", want, master)
		}
	}
	if info, err := e.s3.Head(context.Background(), testenv.BucketMedia, "live/show/480p/index.m3u8"); err != nil {
		t.Fatal(err)
	} else if info.CacheControl != "public, max-age=2" {
		t.Errorf("live playlist Cache-Control = %q, want a short max-age", info.CacheControl)
	}

	t.Run("bad input is dropped", func(t *testing.T) {
		garbage, err := net.Dial("tcp", e.svc.RTMPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer garbage.Close()
		_, _ = garbage.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + strings.Repeat("\xff", 4000)))
		silent, err := net.Dial("tcp", e.svc.RTMPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer silent.Close()
		junk, err := net.Dial("udp", e.svc.UDPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer junk.Close()
		for i := range 200 {
			_, _ = junk.Write([]byte(strings.Repeat(strconv.Itoa(i), 500)))
		}
		for name, c := range map[string]net.Conn{"garbage": garbage, "silent handshake": silent} {
			_ = c.SetReadDeadline(time.Now().Add(6 * time.Second))
			buf := make([]byte, 8192)
			for {
				if _, err := c.Read(buf); err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						t.Errorf("%s connection still open after the handshake timeout", name)
					}
					break
				}
			}
		}
		if n := e.svc.udp.JunkBytes.Load(); n == 0 {
			t.Error("udp junk not counted")
		}
	})

	t.Run("wrong key is refused before transcoding", func(t *testing.T) {
		for _, key := range []string{"show.AAAAAAAAAAAAAAAAAAAAAA", "show", e.key("show")[:len(e.key("show"))-2] + "xx"} {
			cmd := e.publishRTMP(key, 3)
			if err := cmd.Wait(); err == nil {
				t.Errorf("publish with key %q succeeded", key)
			}
		}
		for _, st := range e.svc.Streams() {
			if st.Name != "show" || st.Runs != 1 {
				t.Errorf("unexpected stream state %+v", st)
			}
		}
	})

	t.Run("second publisher is refused", func(t *testing.T) {
		cmd := e.publishRTMP(e.key("show"), 3)
		if err := cmd.Wait(); err == nil {
			t.Error("second publisher accepted")
		}
		if st := e.svc.Streams(); len(st) != 1 || st[0].Runs != 1 {
			t.Errorf("streams after second publisher: %+v", st)
		}
	})

	t.Run("playlists advance and segments decode", func(t *testing.T) {
		first := e.media("live/show/480p/index.m3u8")
		e.waitFor("playlist to advance", 15*time.Second, func() bool {
			pl := e.media("live/show/480p/index.m3u8")
			return pl != nil && len(pl.Segments) > len(first.Segments)
		})
		pl := e.media("live/show/360p/index.m3u8")
		if pl == nil || len(pl.Segments) == 0 {
			t.Fatal("no 360p segments")
		}
		seg := pl.Segments[0]
		if seg.ProgramDateTime.IsZero() {
			t.Error("no EXT-X-PROGRAM-DATE-TIME")
		}
		key := path.Join("live/show/360p", seg.URI)
		dir := t.TempDir()
		e.download(key, dir)
		if d := decode(t, filepath.Join(dir, key)); d < 1 || d > 3 {
			t.Errorf("segment %s lasts %.2f s, want about 2", key, d)
		}
	})

	t.Run("stats endpoint", func(t *testing.T) {
		res, err := http.Get("http://" + e.svc.HTTPAddr() + "/streams")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var st []StreamStats
		if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		if len(st) != 1 || st[0].State != "live" || st[0].BytesIn == 0 || st[0].Publish.SegmentsPublished == 0 {
			t.Errorf("stats %+v", st)
		}
		h, err := http.Get("http://" + e.svc.HTTPAddr() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		h.Body.Close()
		if h.StatusCode != 200 {
			t.Errorf("healthz %d", h.StatusCode)
		}
	})

	if err := pub.Wait(); err != nil {
		t.Fatalf("publisher: %v", err)
	}
	rec := e.waitRecording("show")
	t.Run("ended stream has ENDLIST and a playable recording", func(t *testing.T) {
		for _, r := range []string{"480p", "360p"} {
			pl := e.media("live/show/" + r + "/index.m3u8")
			if pl == nil || !pl.EndList {
				t.Errorf("live %s playlist has no ENDLIST", r)
			}
		}
		st, err := catalog.Read(context.Background(), e.s3, testenv.BucketMedia, rec)
		if err != nil {
			t.Fatal(err)
		}
		if st.Playback != catalog.MasterKey(rec) || len(st.Renditions) != 2 || st.Duration < 20 || st.Duration > 28 {
			t.Errorf("status %+v", st)
		}
		dir := t.TempDir()
		e.download("vod/"+rec+"/", dir)
		if d := decode(t, filepath.Join(dir, "vod", rec, "master.m3u8")); d < 20 || d > 28 {
			t.Errorf("recording lasts %.1f s, want about 24", d)
		}
	})
	e.checkClean()
}

// TestRTMPReconnectContinues drops the publisher and reconnects within the
// grace period: the same stream and recording continue after a
// discontinuity.
func TestRTMPReconnectContinues(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Grace = 10 * time.Second; c.MaxRungs = 1 })
	if err := e.publishRTMP(e.key("again"), 5).Wait(); err != nil {
		t.Fatal(err)
	}
	e.waitFor("end of first run", 15*time.Second, func() bool {
		st := e.svc.Streams()
		return len(st) == 1 && st[0].State == "reconnect-grace"
	})
	if err := e.publishRTMP(e.key("again"), 5).Wait(); err != nil {
		t.Fatal(err)
	}
	var rec string
	e.waitFor("second run ends", 15*time.Second, func() bool {
		st := e.svc.Streams()
		if len(st) == 1 && st[0].State == "reconnect-grace" && st[0].Runs == 2 {
			rec = st[0].Recording
			return true
		}
		return false
	})
	e.waitFor("recording", 30*time.Second, func() bool {
		st, err := catalog.Read(context.Background(), e.s3, testenv.BucketMedia, rec)
		return err == nil && st.State == catalog.StateReady
	})
	pl := e.media("vod/" + rec + "/480p/index.m3u8")
	if pl == nil {
		t.Fatal("no recording playlist")
	}
	disc := 0
	for _, s := range pl.Segments {
		if s.Discontinuity {
			disc++
		}
	}
	if disc != 1 || pl.Duration() < 8*time.Second {
		t.Errorf("recording has %d discontinuities and lasts %v; want 1 and about 10 s", disc, pl.Duration())
	}
	live := e.media("live/again/480p/index.m3u8")
	if live == nil || !live.EndList || len(live.Segments) != len(pl.Segments) {
		t.Errorf("live playlist does not continue the stream: %+v", live)
	}
	dir := t.TempDir()
	e.download("vod/"+rec+"/", dir)
	decode(t, filepath.Join(dir, "vod", rec, "master.m3u8"))
	e.checkClean()
}

// TestUDPPublishAndShutdown publishes MPEG-TS over UDP, with junk
// datagrams mixed in, then shuts the service down while the sender still
// sends, as ECS does on scale-in.
func TestUDPPublishAndShutdown(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.UDPStream = "field-cam"; c.MaxRungs = 1 })
	sender := e.publishUDP(30)
	junk, err := net.Dial("udp", e.svc.UDPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer junk.Close()
	e.waitFor("live playlist with two segments", 30*time.Second, func() bool {
		_, _ = junk.Write([]byte("\x47not a ts packet, but starts like one"))
		pl := e.media("live/field-cam/480p/index.m3u8")
		return pl != nil && len(pl.Segments) >= 2
	})
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	if err := e.svc.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	pl := e.media("live/field-cam/480p/index.m3u8")
	if pl == nil || !pl.EndList {
		t.Fatalf("no ENDLIST after shutdown: %+v", pl)
	}
	keys, _ := e.s3.List(context.Background(), testenv.BucketMedia, "vod/field-cam-")
	var rec string
	for _, k := range keys {
		if strings.HasSuffix(k, "/status.json") {
			rec = strings.TrimSuffix(strings.TrimPrefix(k, "vod/"), "/status.json")
		}
	}
	st, err := catalog.Read(context.Background(), e.s3, testenv.BucketMedia, rec)
	if err != nil || st.State != catalog.StateReady {
		t.Fatalf("recording status %+v, %v", st, err)
	}
	dir := t.TempDir()
	e.download("vod/"+rec+"/", dir)
	decode(t, filepath.Join(dir, "vod", rec, "master.m3u8"))
	if e.svc.udp.JunkBytes.Load() == 0 {
		t.Error("junk datagrams not counted")
	}
	_ = sender.Process.Kill()
	_ = sender.Wait()
	e.checkClean()
}

// TestUnsupportedFeedsAreRefused sends feeds the ladder cannot be made
// from; each is dropped with a log line and no transcoder.
func TestUnsupportedFeedsAreRefused(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name string
		args []string
	}{
		{"rtmp flv1 video, no audio", []string{"-re", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=4",
			"-c:v", "flv1", "-an", "-f", "flv", "rtmp://" + e.svc.RTMPAddr() + "/live/" + e.key("radio")}},
		{"udp mpeg2 video", []string{"-re", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=4",
			"-c:v", "mpeg2video", "-f", "mpegts", "udp://" + e.svc.UDPAddr() + "?pkt_size=1316"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_ = e.ffmpeg(tt.args...).Wait()
		})
	}
	e.waitFor("refusals logged", 10*time.Second, func() bool {
		return strings.Contains(e.log.String(), "unsupported video codec") && strings.Contains(e.log.String(), "udp: feed refused")
	})
	if st := e.svc.Streams(); len(st) != 0 {
		t.Errorf("streams left: %+v", st)
	}
	for _, name := range []string{"radio", "udp"} {
		if keys, _ := e.s3.List(context.Background(), testenv.BucketMedia, "live/"+name+"/"); len(keys) != 0 {
			t.Errorf("refused feed %s published %v", name, keys)
		}
	}
	e.checkClean()
}

// TestRTMPAudioOnly: a radio stream (AAC over RTMP, no video) is published
// as a live HLS stream of its audio rendition alone and recorded.
func TestRTMPAudioOnly(t *testing.T) {
	e := newEnv(t, nil)
	pub := e.ffmpeg("-re", "-f", "lavfi", "-i", "sine=frequency=440:duration=10", "-c:a", "aac", "-b:a", "96k",
		"-f", "flv", "rtmp://"+e.svc.RTMPAddr()+"/live/"+e.key("radio"))
	e.waitFor("live master", 30*time.Second, func() bool { return e.get("live/radio/master.m3u8") != "" })
	master, err := hls.ParseMaster([]byte(e.get("live/radio/master.m3u8")))
	if err != nil {
		t.Fatal(err)
	}
	if len(master.Variants) != 1 || master.Variants[0].Codecs != "mp4a.40.2" || master.Variants[0].Width != 0 ||
		master.Variants[0].URI != "audio/index.m3u8" {
		t.Fatalf("live master of a radio stream: %+v", master.Variants)
	}
	e.waitFor("segments", 15*time.Second, func() bool {
		pl := e.media("live/radio/audio/index.m3u8")
		return pl != nil && len(pl.Segments) >= 2
	})
	pl := e.media("live/radio/audio/index.m3u8")
	key := path.Join("live/radio/audio", pl.Segments[0].URI)
	dir := t.TempDir()
	e.download(key, dir)
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name", "-of", "csv=p=0",
		filepath.Join(dir, key)).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(out)); len(got) == 0 || got[0] != "aac,audio" || strings.Contains(string(out), "video") {
		t.Errorf("segment streams %q, want aac audio only", out)
	}
	if d := decode(t, filepath.Join(dir, key)); d < 1 || d > 3 {
		t.Errorf("segment %s lasts %.2f s, want about 2", key, d)
	}

	if err := pub.Wait(); err != nil {
		t.Fatalf("publisher: %v", err)
	}
	rec := e.waitRecording("radio")
	st, err := catalog.Read(context.Background(), e.s3, testenv.BucketMedia, rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Renditions) != 1 || st.Renditions[0].Name != "audio" || st.Duration < 8 || st.Duration > 12 {
		t.Errorf("recording status %+v", st)
	}
	rdir := t.TempDir()
	e.download("vod/"+rec+"/", rdir)
	if d := decode(t, filepath.Join(rdir, "vod", rec, "master.m3u8")); d < 8 || d > 12 {
		t.Errorf("recording lasts %.1f s, want about 10", d)
	}
	e.checkClean()
}

// TestUDPAudioOnly: an MPEG-TS feed with only AAC is published as the
// UDP stream's audio rendition.
func TestUDPAudioOnly(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.UDPStream = "radio-udp" })
	sender := e.ffmpeg("-re", "-f", "lavfi", "-i", "sine=frequency=330:duration=30", "-c:a", "aac",
		"-f", "mpegts", "udp://"+e.svc.UDPAddr()+"?pkt_size=1316")
	e.waitFor("two audio segments", 30*time.Second, func() bool {
		pl := e.media("live/radio-udp/audio/index.m3u8")
		return pl != nil && len(pl.Segments) >= 2
	})
	if m := e.get("live/radio-udp/master.m3u8"); !strings.Contains(m, "audio/index.m3u8") || strings.Contains(m, "RESOLUTION") {
		t.Errorf("live master of a UDP radio stream:\n%s", m)
	}
	_ = sender.Process.Kill()
	_ = sender.Wait()
	e.checkClean()
}

// checkClean closes the service and checks that no goroutine or ffmpeg
// it started survives.
func (e *env) checkClean() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = e.svc.Close(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := serviceGoroutines()
		kids := ffmpegChildren()
		if n <= e.goroutines+2 && len(kids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			e.t.Fatalf("leak: %d goroutines (was %d), ffmpeg children %v\n%s", n, e.goroutines, kids,
				buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// serviceGoroutines counts goroutines, leaving out the idle keep-alive
// connections of HTTP clients (the S3 client's and the test's), which are
// not the service's.
func serviceGoroutines() int {
	buf := make([]byte, 4<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "net/http.(*persistConn)") {
			continue
		}
		n++
	}
	return n
}

// ffmpegChildren lists ffmpeg processes whose parent is this test.
func ffmpegChildren() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	me := os.Getpid()
	for _, d := range ents {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.Contains(s[:i], "(ffmpeg") {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(me) && f[0] != "Z" {
			pids = append(pids, pid)
		}
	}
	return pids
}
