package e2e

import (
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/testenv"

	"github.com/hlsflow/hlsflow/internal/browsertest"
	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
)

// publish runs ffmpeg sending a real clip (the 33 s trailer, H.264/AAC in
// FLV, as OBS sends) to url in real time for secs seconds. It returns when
// ffmpeg exits.
func publish(ctx context.Context, t *testing.T, url, format string, secs int) error {
	t.Helper()
	args := []string{"-nostdin", "-loglevel", "error", "-re",
		"-i", testenv.Media(t, "10_bbb_trailer_h264_aac.flv"), "-t", strconv.Itoa(secs)}
	if format == "flv" {
		args = append(args, "-c", "copy", "-f", "flv", url)
	} else {
		args = append(args, "-c", "copy", "-f", "mpegts", url)
	}
	out, err := exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput()
	if err != nil && ctx.Err() == nil {
		t.Logf("ffmpeg publish to %s: %v\n%s", url, err, out)
	}
	return err
}

// waitPlaylist polls a live media playlist until it has at least n segments.
func waitPlaylist(t *testing.T, p string, n int, timeout time.Duration) *hls.MediaPlaylist {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, body := edgeGet(t, http.MethodGet, p, nil)
		if resp.StatusCode == http.StatusOK {
			pl, err := hls.ParseMedia(body)
			if err != nil {
				t.Fatalf("parse %s: %v\n%s", p, err, body)
			}
			if len(pl.Segments) >= n {
				return pl
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s did not reach %d segments in %s", p, n, timeout)
	return nil
}

// TestLiveRTMP publishes over RTMP with a key from `hlsflow stream create`,
// watches the live playlists advance and play in a browser, then checks
// that the ended stream stays watchable as a recording.
func TestLiveRTMP(t *testing.T) {
	if sys.RTMPAddr == "" {
		t.Skip("the target has no RTMP ingest")
	}
	name := "e2e-rtmp"
	out, errOut, code := hlsflow(t, "stream", "create", name, "--rtmp", sys.RTMPAddr)
	if code != 0 {
		t.Fatalf("stream create: exit %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`publish:\s+(rtmp://\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no publish URL in:\n%s", out)
	}
	publishURL := m[1]
	if !strings.Contains(out, "playback: "+sys.EdgeURL+"/live/"+name+"/master.m3u8") {
		t.Errorf("playback URL missing or wrong:\n%s", out)
	}

	t.Run("wrong key refused", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		bad := "rtmp://" + sys.RTMPAddr + "/live/" + name + ".AAAAAAAAAAAAAAAAAAAAAA"
		if err := publish(ctx, t, bad, "flv", 3); err == nil {
			t.Errorf("publishing with a forged key succeeded")
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- publish(ctx, t, publishURL, "flv", 24) }()

	master := "live/" + name + "/master.m3u8"
	deadline := time.Now().Add(45 * time.Second)
	var mp *hls.MasterPlaylist
	for mp == nil && time.Now().Before(deadline) {
		if resp, body := edgeGet(t, http.MethodGet, master, nil); resp.StatusCode == http.StatusOK {
			var err error
			if mp, err = hls.ParseMaster(body); err != nil {
				t.Fatalf("live master: %v\n%s", err, body)
			}
			if cc := resp.Header.Get("Cache-Control"); strings.Contains(cc, "immutable") {
				t.Errorf("live master Cache-Control %q", cc)
			}
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if mp == nil || len(mp.Variants) == 0 {
		t.Fatalf("no live master at %s", master)
	}
	lowest := resolve(master, mp.Variants[len(mp.Variants)-1].URI)
	first := waitPlaylist(t, lowest, 2, 45*time.Second)
	later := waitPlaylist(t, lowest, len(first.Segments)+2, 30*time.Second)
	if later.EndList {
		t.Errorf("live playlist ended while the publisher is still sending")
	}
	if later.Segments[0].ProgramDateTime.IsZero() {
		t.Errorf("live playlist has no EXT-X-PROGRAM-DATE-TIME")
	}

	res, err := browsertest.Play(t, sys.EdgeURL+"/"+master, browsertest.Options{MinTime: 4, Timeout: 60 * time.Second})
	if err != nil {
		t.Errorf("live playback in the browser: %v (%+v)", err, res)
	}

	<-done
	// After the publisher stops (and the reconnect grace passes), the
	// playlists end and the event is on demand under vod/.
	var ended *hls.MediaPlaylist
	deadline = time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		_, body := edgeGet(t, http.MethodGet, lowest, nil)
		if pl, err := hls.ParseMedia(body); err == nil && pl.EndList {
			ended = pl
			break
		}
		time.Sleep(time.Second)
	}
	if ended == nil {
		t.Fatalf("live playlist never got EXT-X-ENDLIST after the publisher stopped")
	}
	id := recordingID(t, name)
	st := waitDone(t, id, time.Minute)
	if st.State != catalog.StateReady {
		t.Fatalf("recording %s: %s %s", id, st.State, st.Error)
	}
	d := decodeDuration(t, sys.EdgeURL+"/"+st.Playback)
	if d < 20 {
		t.Errorf("recording lasts %.1f s, published 24 s", d)
	}
}

// recordingID finds the vod/{name}-{start}/ the ended stream was saved as.
func recordingID(t *testing.T, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	keys, err := sys.Store().List(ctx, sys.MediaBucket, "vod/"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.HasSuffix(k, "/status.json") {
			return strings.TrimSuffix(strings.TrimPrefix(k, "vod/"), "/status.json")
		}
	}
	t.Fatalf("no recording of %s under vod/", name)
	return ""
}

// TestLiveUDP publishes MPEG-TS over UDP and checks the live ladder appears.
func TestLiveUDP(t *testing.T) {
	if sys.UDPAddr == "" {
		t.Skip("the target has no UDP ingest")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- publish(ctx, t, "udp://"+sys.UDPAddr+"?pkt_size=1316", "mpegts", 16) }()
	master := "live/udp/master.m3u8"
	deadline := time.Now().Add(40 * time.Second)
	var body []byte
	for time.Now().Before(deadline) {
		var resp *http.Response
		if resp, body = edgeGet(t, http.MethodGet, master, nil); resp.StatusCode == http.StatusOK {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	mp, err := hls.ParseMaster(body)
	if err != nil || len(mp.Variants) == 0 {
		t.Fatalf("no live master for the UDP stream: %v\n%s", err, body)
	}
	p := resolve(master, mp.Variants[0].URI)
	pl := waitPlaylist(t, p, 2, 40*time.Second)
	seg := resolve(p, pl.Segments[0].URI)
	resp, data := edgeGet(t, http.MethodGet, seg, nil)
	// MPEG-TS, or with low latency (the default) fMP4: a box, moof or styp first.
	fmp4 := len(data) > 8 && (bytes.Equal(data[4:8], []byte("moof")) || bytes.Equal(data[4:8], []byte("styp")) || bytes.Equal(data[4:8], []byte("sidx")))
	if resp.StatusCode != http.StatusOK || !(bytes.HasPrefix(data, []byte{0x47}) || fmp4) {
		t.Errorf("segment %s: %s, %d bytes, neither MPEG-TS nor fMP4", seg, resp.Status, len(data))
	}
	cancel()
	<-done
}
