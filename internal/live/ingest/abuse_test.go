package ingest

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestRTMPIdleFloodDoesNotLockOut: one address holding 70 idle sockets
// (dialled again as soon as one is closed) for the whole test does not
// keep a publisher from another address from going live, with the default
// connection limits.
func TestRTMPIdleFloodDoesNotLockOut(t *testing.T) {
	e := newEnv(t, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 70 {
		wg.Go(func() {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := d.Dial("tcp", e.svc.RTMPAddr())
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				// Idle until the server closes it (or the test ends).
				go func() { <-stop; c.Close() }()
				_, _ = c.Read(make([]byte, 1))
				c.Close()
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
	stopFlood := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopFlood()
	time.Sleep(time.Second) // the flood is in place

	pub := e.publishRTMP(e.key("flooded"), 8)
	e.waitFor("live playlist with a segment", 30*time.Second, func() bool {
		pl := e.media("live/flooded/480p/index.m3u8")
		return pl != nil && len(pl.Segments) >= 1
	})
	if err := pub.Wait(); err != nil {
		t.Fatalf("publisher: %v", err)
	}
	if !strings.Contains(e.log.String(), "too many connections from this address") {
		t.Error("the flood was not refused per address")
	}
	stopFlood()
	e.checkClean()
}

// TestUDPStrangerCannotTakeStream: a stranger sends null packets before
// and during the real feed, and a second stranger sends a valid feed of
// its own while the real one publishes. The stream is the real sender's
// from start to end: one run, its picture only, in the live playlists and
// the recording.
func TestUDPStrangerCannotTakeStream(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.UDPStream = "field"; c.MaxRungs = 1 })
	udpAddr := e.svc.UDPAddr()
	nulls, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)}, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(udpAddr)))
	if err != nil {
		t.Fatal(err)
	}
	defer nulls.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		null := make([]byte, 7*188)
		for i := 0; i < len(null); i += 188 {
			null[i], null[i+1], null[i+2], null[i+3] = 0x47, 0x1f, 0xff, 0x10
		}
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				_, _ = nulls.Write(null)
			}
		}
	})
	stopNulls := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopNulls()
	time.Sleep(time.Second) // the stranger is first

	colour := func(c, size string, seconds string, from string) *exec.Cmd {
		return e.ffmpeg("-re", "-f", "lavfi", "-i", "color=c="+c+":s="+size+":r=25,noise=alls=10:allf=t",
			"-f", "lavfi", "-i", "sine=frequency=440", "-t", seconds, "-c:v", "libx264", "-preset", "ultrafast",
			"-g", "25", "-c:a", "aac", "-f", "mpegts", "udp://"+udpAddr+"?pkt_size=1316&localaddr="+from)
	}
	sender := colour("blue", "320x240", "8", "127.0.0.1")
	time.Sleep(2 * time.Second)
	stranger := colour("red", "160x120", "5", "127.0.0.3")
	e.waitFor("live playlist with two segments", 30*time.Second, func() bool {
		pl := e.media("live/field/240p/index.m3u8")
		return pl != nil && len(pl.Segments) >= 2
	})
	if st := e.svc.Streams(); len(st) != 1 || !strings.HasPrefix(st[0].Remote, "127.0.0.1:") || st[0].Width != 320 {
		t.Errorf("stream during the stranger's feed: %+v", st)
	}
	if err := sender.Wait(); err != nil {
		t.Fatalf("real sender: %v", err)
	}
	_ = stranger.Wait()
	rec := e.waitRecording("field")
	st, err := catalog.Read(context.Background(), e.s3, testenv.BucketMedia, rec)
	if err != nil {
		t.Fatal(err)
	}
	if st.Duration < 6 || st.Duration > 10 {
		t.Errorf("recording lasts %.1f s, want the real sender's 8", st.Duration)
	}
	if n := strings.Count(e.log.String(), "udp: publishing"); n != 1 {
		t.Errorf("%d claims of the stream, want the real sender's one", n)
	}
	if e.svc.udp.Foreign.Load() == 0 {
		t.Error("the stranger's datagrams were not counted")
	}
	dir := t.TempDir()
	e.download("vod/"+rec+"/", dir)
	master := filepath.Join(dir, "vod", rec, "master.m3u8")
	decode(t, master)
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", master, "-vf", "scale=1:1", "-f", "rawvideo",
		"-pix_fmt", "rgb24", "-").Output()
	if err != nil || len(out) < 3*100 {
		t.Fatalf("decode recording: %d bytes, %v", len(out), err)
	}
	for i := 0; i+3 <= len(out); i += 3 {
		if out[i] > 60 || out[i+2] < 180 {
			t.Fatalf("recording frame %d has colour %v: not the real sender's blue", i/3, out[i:i+3])
		}
	}
	stopNulls()
	e.checkClean()
}
