package ingest

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/live/feed"
)

// synthFeed writes seconds of a 30 fps test pattern with a tone as
// MPEG-TS (1 s GOPs), the kind of feed an encoder sends.
func synthFeed(t testing.TB, seconds int) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "feed.ts")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=320x240:rate=30:duration=%d", seconds),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:sample_rate=48000:duration=%d", seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "64k", "-f", "mpegts", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make feed: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runFeed publishes ts as one publisher run whose first frame arrived at
// received, handing it over faster than real time (the clock is the
// model: frame t of the feed was received at received + t), and waits
// until its transcoder has drained.
func runFeed(t testing.TB, svc *Service, name string, ts []byte, received time.Time) {
	t.Helper()
	info, err := feed.ProbeTS(ts)
	if err != nil {
		t.Fatal(err)
	}
	info.Received = received
	f, err := svc.Claim(name, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(info); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(ts); err != nil {
		t.Fatal(err)
	}
	f.End(nil)
}

// pdtErrors are, for each segment of a recording's playlist, its
// PROGRAM-DATE-TIME less the model's: the run's received time plus the
// segment's place on the run's 2-second keyframe grid.
func pdtErrors(t testing.TB, pl *hls.MediaPlaylist, received []time.Time, seg time.Duration) (errs []time.Duration, media []time.Duration) {
	t.Helper()
	run, n := -1, 0
	for i, s := range pl.Segments {
		if i == 0 || s.Discontinuity {
			run, n = run+1, 0
		}
		if run >= len(received) {
			t.Fatalf("playlist has more runs than the %d published", len(received))
		}
		if s.ProgramDateTime.IsZero() {
			t.Fatalf("segment %d has no PROGRAM-DATE-TIME", i)
		}
		want := received[run].Add(time.Duration(n) * seg)
		errs = append(errs, s.ProgramDateTime.Sub(want))
		media = append(media, time.Duration(n)*seg)
		n++
	}
	if run != len(received)-1 {
		t.Fatalf("playlist has %d runs, published %d", run+1, len(received))
	}
	return errs, media
}

// TestPDTIsReceiveTime: every segment's PROGRAM-DATE-TIME is the time its
// first frame was received (the run's anchor plus the frame's place on
// the feed's timeline), however fast the transcoder ran, and a
// reconnected publisher's run is anchored anew. Summing durations from
// the first segment's finishing time instead is off by the encode time.
func TestPDTIsReceiveTime(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Grace = 20 * time.Second; c.MaxRungs = 1 })
	ts := synthFeed(t, 12)
	first := time.Now().Truncate(time.Millisecond)
	runFeed(t, e.svc, "clock", ts, first)
	second := time.Now().Truncate(time.Millisecond)
	runFeed(t, e.svc, "clock", ts[:len(ts)/2], second)
	ctx := t.Context()
	if err := e.svc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rec := e.waitRecording("clock")
	pl := e.media("vod/" + rec + "/240p/index.m3u8")
	if pl == nil {
		t.Fatalf("no recording playlist for %s", rec)
	}
	errs, _ := pdtErrors(t, pl, []time.Time{first, second}, 2*time.Second)
	t.Logf("PDT errors per segment: %v", errs)
	for i, d := range errs {
		// One frame, plus the playlist's millisecond precision.
		if math.Abs(float64(d)) > float64(35*time.Millisecond) {
			t.Errorf("segment %d: PROGRAM-DATE-TIME off by %v", i, d)
		}
	}
}
