package browsertest

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/edge"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// liveCache is what a live playlist carries, as the ingest writes it.
var liveCache = store.Object{ContentType: "application/vnd.apple.mpegurl", CacheControl: "public, max-age=1"}

// TestPlayLive publishes 1 s segments in real time with a sliding-window
// playlist (max-age=1) and plays it through the edge: playback must keep
// advancing, which needs the edge to serve each new playlist, not a stale one.
func TestPlayLive(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "lavfi", "-i", "testsrc2=size=192x108:rate=25:duration=40",
		"-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000:duration=40",
		"-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
		"-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-b:v", "100k",
		"-c:a", "aac", "-b:a", "48k", "-ac", "2",
		"-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
		"-hls_segment_filename", filepath.Join(dir, "seg_%03d.ts"), filepath.Join(dir, "index.m3u8"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	segs := readSegments(t, filepath.Join(dir, "index.m3u8"))

	st := testenv.S3(t).Store
	prefix := fmt.Sprintf("live/bt-%x/", rand.Uint64())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	master := "#EXTM3U\n#EXT-X-VERSION:3\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=200000,RESOLUTION=192x108,CODECS=\"avc1.64000b,mp4a.40.2\"\n" +
		"360p/index.m3u8\n"
	if err := st.PutBytes(ctx, "media", prefix+"master.m3u8", []byte(master),
		store.Object{ContentType: liveCache.ContentType, CacheControl: "public, max-age=2"}); err != nil {
		t.Fatal(err)
	}
	// Three segments are out at once; each next one a second later, as it
	// finishes: segment k began being captured at captured + k seconds.
	captured := time.Now().Add(-3 * time.Second)
	publish := func(n int) error { // segments [0, n) are out; the window shows the last 4
		seg := segs[n-1]
		if err := st.PutFile(ctx, "media", prefix+"360p/"+seg.name, filepath.Join(dir, seg.name), store.For(seg.name)); err != nil {
			return err
		}
		first := max(0, n-4)
		var pl strings.Builder
		fmt.Fprintf(&pl, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:%d\n", first)
		for i, s := range segs[first:n] {
			// Segment k was captured from captured + k seconds, as if live.
			at := captured.Add(time.Duration(first+i) * time.Second).UTC()
			fmt.Fprintf(&pl, "#EXT-X-PROGRAM-DATE-TIME:%s\n", at.Format("2006-01-02T15:04:05.000Z"))
			fmt.Fprintf(&pl, "#EXTINF:%s,\n%s\n", s.duration, s.name)
		}
		if n == len(segs) {
			pl.WriteString("#EXT-X-ENDLIST\n")
		}
		return st.PutBytes(ctx, "media", prefix+"360p/index.m3u8", []byte(pl.String()), liveCache)
	}
	for n := 1; n <= 3; n++ {
		if err := publish(n); err != nil {
			t.Fatal(err)
		}
	}
	wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for n := 4; n <= len(segs); n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := publish(n); err != nil && ctx.Err() == nil {
				t.Errorf("publish segment %d: %v", n, err)
				return
			}
		}
	})

	url := startEdge(t, edge.Config{}) + "/" + prefix + "master.m3u8"
	// 6 s is more than the first playlist holds: playback must see new ones.
	res, err := Play(t, url, Options{MinTime: 6, Sample: 3 * time.Second, Artifacts: t.TempDir()})
	if err != nil {
		t.Fatalf("Play: %v; result %+v", err, res)
	}
	if !res.Live {
		t.Error("hls.js did not see a live playlist")
	}
	if res.Advanced() < 6 {
		t.Errorf("advanced %.2fs, want >= 6", res.Advanced())
	}
	// The latency read is now less the program date time of the frame
	// shown: behind the newest segment's end, within the playlist's window.
	if len(res.Latencies) < 2 {
		t.Fatalf("latency samples %v, want one a second", res.Latencies)
	}
	for _, l := range res.Latencies {
		if l < 1 || l > 8 {
			t.Errorf("latency %.2f s; want between 1 s (a segment) and 8 s", l)
		}
	}
}

type segment struct{ name, duration string }

// readSegments lists the segments of an ffmpeg VOD playlist with their
// #EXTINF durations.
func readSegments(t *testing.T, playlist string) []segment {
	t.Helper()
	f, err := os.Open(playlist)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var segs []segment
	var dur string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if d, ok := strings.CutPrefix(line, "#EXTINF:"); ok {
			dur, _, _ = strings.Cut(d, ",")
		} else if line != "" && !strings.HasPrefix(line, "#") {
			segs = append(segs, segment{line, dur})
		}
	}
	if len(segs) < 20 {
		t.Fatalf("ffmpeg made %d segments, want 40 or so", len(segs))
	}
	return segs
}
