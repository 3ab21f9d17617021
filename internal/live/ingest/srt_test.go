package ingest

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// srtPassphrase is the operator's SRT passphrase in these tests. Debian's
// ffmpeg 5.1 passes srt:// URL options on without decoding them, so it
// has nothing to escape.
const srtPassphrase = "operator-passphrase"

// srtURL is what a publisher is given: the ingest's SRT address, the
// stream key as streamid, and the passphrase.
func (e *env) srtURL(key, passphrase string) string {
	u := "srt://" + e.svc.SRTAddr() + "?streamid=" + key
	if passphrase != "" {
		u += "&passphrase=" + passphrase
	}
	return u
}

// gstSRT runs GStreamer's srtsink (caller) to the ingest with props, its
// input from the pipeline src (gst-launch syntax, without the sink).
func (e *env) gstSRT(src string, props ...string) *exec.Cmd {
	e.t.Helper()
	args := append(strings.Fields(src), "!", "srtsink", "uri=srt://"+e.svc.SRTAddr(), "auto-reconnect=false")
	cmd := exec.Command("gst-launch-1.0", append(append([]string{"-q"}, args...), props...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	e.t.Cleanup(func() {
		if cmd.Process != nil && cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// TestSRTLiveAndRecording: ffmpeg and GStreamer publish over SRT to one
// port at the same time, encrypted with the operator's passphrase, each
// to its own stream; both go live and are recorded. Meanwhile publishers
// with a wrong key or passphrase are refused before any transcoder starts,
// and one with a valid key that sends garbage is dropped without one.
func TestSRTLiveAndRecording(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SRTAddr, c.SRTPassphrase, c.MaxRungs = "127.0.0.1:0", srtPassphrase, 1 })
	clip := testenv.Media(t, testClip)
	ts := filepath.Join(t.TempDir(), "clip.ts")
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-stream_loop", "-1", "-i", clip, "-t", "8",
		"-c", "copy", "-f", "mpegts", ts).CombinedOutput(); err != nil {
		t.Fatalf("make the TS clip: %v\n%s", err, out)
	}

	garbage := e.gstSRT("fdsrc fd=0", "streamid="+e.key("garbage"), "passphrase="+srtPassphrase)
	junk, err := garbage.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer junk.Close()
	if err := garbage.Start(); err != nil {
		t.Fatal(err)
	}
	// The pipe stays open: the publisher stays connected until dropped.
	go func() { _, _ = junk.Write([]byte(strings.Repeat("\x47 this is no transport stream ", 40000))) }()
	ff := e.ffmpeg("-re", "-stream_loop", "-1", "-i", clip, "-t", "8", "-c", "copy", "-f", "mpegts",
		e.srtURL(e.key("srt-ffmpeg"), srtPassphrase))
	// tsparse stamps the buffers with the clip's clock, so srtsink sends
	// in real time, as an encoder does.
	gst := e.gstSRT("filesrc location="+ts+" ! tsparse set-timestamps=true", "sync=true",
		"streamid="+e.key("srt-gst"), "passphrase="+srtPassphrase, "pbkeylen=32")
	if err := gst.Start(); err != nil {
		t.Fatal(err)
	}

	t.Run("refused before transcoding", func(t *testing.T) {
		for name, url := range map[string]string{
			"forged key":       e.srtURL("intruder.AAAAAAAAAAAAAAAAAAAAAA", srtPassphrase),
			"another's key":    e.srtURL(strings.Replace(e.key("srt-ffmpeg"), "srt-ffmpeg", "intruder", 1), srtPassphrase),
			"wrong passphrase": e.srtURL(e.key("intruder"), "not-the-passphrase"),
			"no passphrase":    e.srtURL(e.key("intruder"), ""),
		} {
			cmd := e.ffmpeg("-re", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "3",
				"-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts", url+"&connect_timeout=3000")
			if err := cmd.Wait(); err == nil {
				t.Errorf("%s: publish succeeded", name)
			}
		}
		gstBad := e.gstSRT("filesrc location="+ts, "streamid="+e.key("intruder"), "passphrase=wrong-passphrase")
		if out, err := gstBad.CombinedOutput(); err == nil {
			t.Errorf("srtsink with a wrong passphrase succeeded:\n%s", out)
		}
	})

	for _, name := range []string{"srt-ffmpeg", "srt-gst"} {
		e.waitFor(name+" live with two segments", 30*time.Second, func() bool {
			pl := e.media("live/" + name + "/480p/index.m3u8")
			return pl != nil && len(pl.Segments) >= 2
		})
	}
	if st := e.svc.Streams(); len(st) < 2 {
		t.Errorf("streams while both publish: %+v", st)
	}
	if err := ff.Wait(); err != nil {
		t.Fatalf("ffmpeg publisher: %v", err)
	}
	if err := gst.Wait(); err != nil {
		t.Fatalf("gst-launch publisher: %v", err)
	}
	for _, name := range []string{"srt-ffmpeg", "srt-gst"} {
		rec := e.waitRecording(name)
		st, err := catalog.Read(context.Background(), e.s3, testenv.BucketMedia, rec)
		if err != nil {
			t.Fatal(err)
		}
		if st.Duration < 6 || st.Duration > 10 {
			t.Errorf("%s: recording lasts %.1f s, want about 8", name, st.Duration)
		}
		dir := t.TempDir()
		e.download("vod/"+rec+"/", dir)
		decode(t, filepath.Join(dir, "vod", rec, "master.m3u8"))
	}

	e.waitFor("the garbage publisher dropped", 20*time.Second, func() bool {
		return strings.Contains(e.log.String(), "no feed description")
	})
	junk.Close()
	_ = garbage.Wait()
	logs := e.log.String()
	if n := strings.Count(logs, "live: transcoding"); n != 2 {
		t.Errorf("%d transcoders started, want the two real publishers'", n)
	}
	for _, name := range []string{"intruder", "garbage"} {
		if keys, _ := e.s3.List(context.Background(), testenv.BucketMedia, "live/"+name+"/"); len(keys) != 0 {
			t.Errorf("refused publisher %s published %v", name, keys)
		}
	}
	if strings.Contains(logs, "stream=intruder") {
		t.Error("a publisher refused in the handshake reached the stream")
	}
	e.checkClean()
}
