package restream

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/testenv"
)

var loopback = Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

// waited is how long a Write must take to have waited on a destination:
// one that waits does so for the destination's stall timeout (3 s here)
// or its process's end, while a Write that only queued takes
// microseconds, and up to a few hundred milliseconds when a loaded
// machine deschedules the test (seen at load average 30).
const waited = time.Second

// source publishes a synthetic H.264/AAC MPEG-TS feed in real time into
// f, as the ingest does, and counts what it wrote and how long the
// longest Write took.
type source struct {
	written atomic.Int64
	slowest atomic.Int64 // ns
	done    chan error
	cancel  context.CancelFunc
}

func startSource(t *testing.T, f *Forwarder, seconds int) *source {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "64k", "-f", "mpegts", "pipe:1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &source{done: make(chan error, 1), cancel: cancel}
	go func() {
		buf := make([]byte, 4096) // not TS-aligned, as the RTMP remuxer writes
		for {
			n, err := out.Read(buf)
			if n > 0 {
				t0 := time.Now()
				f.Write(buf[:n])
				if d := int64(time.Since(t0)); d > s.slowest.Load() {
					s.slowest.Store(d)
				}
				s.written.Add(int64(n))
			}
			if err != nil {
				if err == io.EOF {
					err = nil
				}
				s.done <- cmd.Wait()
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-s.done })
	return s
}

func waitState(t *testing.T, f *Forwarder, i int, state string, within time.Duration) Status {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		s := f.Status()[i]
		if s.State == state {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("destination %d: %+v, want %s within %s", i, s, state, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func needFFmpeg(t *testing.T) {
	for _, b := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Fatalf("%s is missing: %v", b, err)
		}
	}
}

// TestRestreamToNginx: nginx-rtmp receives the feed without re-encoding
// (same codecs, plays back), keeps receiving after it is killed and
// started again mid-stream, while the source's writes never wait.
func TestRestreamToNginx(t *testing.T) {
	needFFmpeg(t)
	ng := testenv.StartNginx(t, "")
	f := Start(context.Background(), Config{Policy: loopback, StallTimeout: 6 * time.Second,
		MinBackoff: 200 * time.Millisecond, MaxBackoff: time.Second, Stream: "s"},
		[]Destination{{URL: ng.URL(), Key: "feed-key-123456"}})
	defer f.Close()
	src := startSource(t, f, 40)

	waitState(t, f, 0, StateLive, 20*time.Second)
	codecs, dur, err := ng.Pull("feed-key-123456", 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(codecs, "h264") || !slices.Contains(codecs, "aac") || dur < 2 {
		t.Fatalf("pulled back %v, %.1fs; want h264 and aac, about 3 s", codecs, dur)
	}

	before := f.Status()[0].BytesSent
	ng.Restart()
	deadline := time.Now().Add(20 * time.Second)
	for st := f.Status()[0]; st.Attempts < 2 || st.State != StateLive; st = f.Status()[0] {
		if strings.Contains(st.LastError, "feed-key") {
			t.Fatalf("the error shows the key: %q", st.LastError)
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: %+v, want live again on a new attempt", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	codecs, dur, err = ng.Pull("feed-key-123456", 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(codecs, "h264") || dur < 1 {
		t.Fatalf("after the restart pulled back %v, %.1fs", codecs, dur)
	}
	if f.Status()[0].BytesSent <= before {
		t.Errorf("bytes sent did not grow across the restart: %d then %+v", before, f.Status()[0])
	}
	select {
	case err := <-src.done:
		t.Fatalf("the source ended early: %v", err)
	default:
	}
	if d := time.Duration(src.slowest.Load()); d > waited {
		t.Errorf("a Write took %s: the stream waited on its destination", d)
	}
}

// TestBadDestinations: one that refuses, one that accepts and never
// answers, one unreachable: each retried and shown failing with its
// error, while a good destination receives the feed.
func TestBadDestinations(t *testing.T) {
	needFFmpeg(t)
	ng := testenv.StartNginx(t, "")

	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()

	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // accepted, never answered
		}
	}()

	// Tests send nothing beyond loopback: "unreachable" is another
	// loopback address where nothing listens (no route to a real host
	// is not something this machine may try).
	pol := loopback
	dests := []Destination{
		{URL: "rtmp://" + refusedAddr + "/live", Key: "k-refused-0001"},
		{URL: "rtmp://" + hang.Addr().String() + "/live", Key: "k-hang-000001"},
		{URL: "rtmp://127.0.0.3:1/live", Key: "k-unreach-001"},
		{URL: ng.URL(), Key: "good-key-000001"},
		{URL: "rtmp://10.1.2.3/live", Key: "k-private-001"}, // refused by the policy
	}
	f := Start(context.Background(), Config{Policy: pol, StallTimeout: 3 * time.Second,
		MinBackoff: 200 * time.Millisecond, MaxBackoff: 2 * time.Second, Stream: "s"}, dests)
	defer f.Close()
	src := startSource(t, f, 30)
	waitState(t, f, 3, StateLive, 20*time.Second)
	for i := range 5 {
		if i == 3 {
			continue
		}
		st := waitState(t, f, i, StateFailing, 15*time.Second)
		if st.LastError == "" || st.BytesSent != 0 {
			t.Errorf("destination %d: %+v, want failing with an error", i, st)
		}
	}
	time.Sleep(6 * time.Second) // a few retries each
	for i, st := range f.Status() {
		if i != 3 && st.Attempts < 2 {
			t.Errorf("destination %d tried %d times, want retries", i, st.Attempts)
		}
		if key := dests[i].Key; strings.Contains(st.Key, key) || strings.Contains(st.LastError, key) {
			t.Errorf("status shows the key: %+v", st)
		}
	}
	if !strings.Contains(f.Status()[4].LastError, "non-public") {
		t.Errorf("private destination: %+v", f.Status()[4])
	}
	if codecs, _, err := ng.Pull("good-key-000001", 2); err != nil || !slices.Contains(codecs, "h264") {
		t.Fatalf("good destination: %v %v", codecs, err)
	}
	if st := f.Status()[3]; st.State != StateLive {
		t.Errorf("good destination: %+v", st)
	}
	if d := time.Duration(src.slowest.Load()); d > waited {
		t.Errorf("a Write took %s", d)
	}
	f.Close()
	for i, st := range f.Status() {
		if st.State != StateStopped {
			t.Errorf("after Close destination %d: %+v", i, st)
		}
	}
}

// TestLaggingDestinationDropsOnlyItsOwn: a destination whose ffmpeg stops
// reading loses what is past its queue, while Write never waits and
// another destination gets everything.
func TestLaggingDestinationDropsOnlyItsOwn(t *testing.T) {
	// A stand-in for ffmpeg: the one for the "lag" target never reads its
	// stdin, the other reads it all.
	bin := filepath.Join(t.TempDir(), "ffmpeg")
	script := "#!/bin/sh\nfor a; do t=$a; done\ncase $t in *lag*) exec sleep 60;; *) exec cat >/dev/null;; esac\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	const queue, total, chunk = 1 << 20, 8 << 20, 4096
	f := Start(context.Background(), Config{FFmpeg: bin, Policy: loopback, QueueBytes: queue, StallTimeout: time.Minute},
		[]Destination{{URL: "rtmp://127.0.0.1:1/lag", Key: "k-lag-000001"}, {URL: "rtmp://127.0.0.1:1/read", Key: "k-read-00001"}})
	defer f.Close()
	deadline := time.Now().Add(10 * time.Second)
	for f.dests[0].proc.Load() == nil || f.dests[1].proc.Load() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the destinations' processes did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, chunk)
	var slowest time.Duration
	for range total / chunk {
		t0 := time.Now()
		f.Write(buf)
		slowest = max(slowest, time.Since(t0))
		time.Sleep(time.Millisecond)
	}
	st := f.Status()
	// What the lagging one kept: its queue and at most a pipe's buffer.
	if st[0].DroppedBytes < total-queue-(1<<20) {
		t.Errorf("lagging destination dropped %d of %d bytes, want all past its queue", st[0].DroppedBytes, total)
	}
	if st[1].DroppedBytes != 0 {
		t.Errorf("the reading destination dropped %d bytes", st[1].DroppedBytes)
	}
	if slowest > waited {
		t.Errorf("a Write took %s", slowest)
	}
}
