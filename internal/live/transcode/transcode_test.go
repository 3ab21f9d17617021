package transcode

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/feed"
	"github.com/hlsflow/hlsflow/internal/media"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testLadder(audio bool) media.Ladder {
	l := media.Ladder{SegmentSeconds: 2, Video: []media.Rung{
		{Name: "240p", Width: 320, Height: 240, FPS: 25, Bitrate: 400000, MaxRate: 440000, BufSize: 800000, Profile: "main", Level: "3.0"},
		{Name: "120p", Width: 160, Height: 120, FPS: 12.5, Bitrate: 200000, MaxRate: 220000, BufSize: 400000, Profile: "main", Level: "3.0"},
	}}
	if audio {
		l.Audio = &media.AudioRung{Name: "audio", Bitrate: 64000, Channels: 2, SampleRate: 48000}
	}
	return l
}

// TestRenditions: the folders to watch are the video rungs (the audio is
// muxed into each), or the audio rendition of a radio stream.
func TestRenditions(t *testing.T) {
	for _, tt := range []struct {
		name string
		l    media.Ladder
		want []string
	}{
		{"two rungs with audio", testLadder(true), []string{"240p", "120p"}},
		{"no audio", testLadder(false), []string{"240p", "120p"}},
		{"audio only", media.Ladder{Audio: testLadder(true).Audio}, []string{"audio"}},
	} {
		if got := Renditions(tt.l); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Renditions = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestArgsGolden(t *testing.T) {
	tests := []struct {
		name  string
		l     media.Ladder
		opt   ArgsOptions
		empty bool
	}{
		{name: "two rungs with audio", l: testLadder(true), opt: ArgsOptions{Dir: "/work", Preset: "ultrafast", Threads: 1,
			Feed: feed.Info{Width: 320, Height: 240, FPS: 25, VideoCodec: "h264", Audio: true, AudioCodec: "aac"}}},
		{name: "no audio", l: testLadder(false), opt: ArgsOptions{Dir: "/work"}},
		{name: "audio ignored", l: testLadder(true), opt: ArgsOptions{Dir: "/work", NoAudio: true}},
		{name: "audio only", l: media.Ladder{Audio: testLadder(true).Audio}, opt: ArgsOptions{Dir: "/work"}},
		{name: "low latency", l: testLadder(true), opt: ArgsOptions{Dir: "/work", Preset: "ultrafast", LowLatency: true, PartSeconds: 0.5}},
		{name: "low latency radio", l: media.Ladder{Audio: testLadder(true).Audio}, opt: ArgsOptions{Dir: "/work", LowLatency: true}},
		{name: "nothing", l: media.Ladder{Audio: testLadder(true).Audio}, opt: ArgsOptions{Dir: "/work", NoAudio: true}, empty: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := Args(tt.l, tt.opt)
			if tt.empty {
				if args != nil {
					t.Fatalf("Args = %q, want nil", args)
				}
				return
			}
			got := strings.Join(args, "\n") + "\n"
			golden := filepath.Join("testdata", strings.ReplaceAll(tt.name, " ", "_")+".args")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("args differ from %s:\n%s", golden, got)
			}
		})
	}
}

// makeTS encodes seconds of a test pattern (and a tone) as MPEG-TS.
func makeTS(t *testing.T, seconds string, audio bool) []byte {
	t.Helper()
	args := []string{"-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=" + seconds}
	if audio {
		args = append(args, "-f", "lavfi", "-i", "sine=frequency=440:duration="+seconds, "-c:a", "aac")
	}
	args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-f", "mpegts", "-")
	out, err := exec.Command("ffmpeg", args...).Output()
	if err != nil {
		t.Fatalf("make test ts: %v", err)
	}
	return out
}

func TestProcessSegments(t *testing.T) {
	ts := makeTS(t, "5", true)
	dir := t.TempDir()
	var mu sync.Mutex
	var segs []Segment
	p, err := Start(Options{
		Args: Args(testLadder(true), ArgsOptions{Dir: dir, Preset: "ultrafast", Threads: 1}),
		Dir:  dir, Rungs: []string{"240p", "120p"}, Poll: 20 * time.Millisecond,
		OnSegment: func(s Segment) {
			mu.Lock()
			defer mu.Unlock()
			segs = append(segs, s)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(ts); i += 1316 {
		if _, err := p.Write(ts[i:min(i+1316, len(ts))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write([]byte{0x47}); err == nil {
		t.Error("write after stop accepted")
	}
	mu.Lock()
	defer mu.Unlock()
	var total [2]time.Duration
	next := [2]int{}
	for _, s := range segs {
		if s.Index != next[s.Rung] {
			t.Errorf("rung %d: segment %d reported, want %d", s.Rung, s.Index, next[s.Rung])
		}
		next[s.Rung]++
		total[s.Rung] += s.Duration
		if s.Duration > 2100*time.Millisecond {
			t.Errorf("segment %s lasts %v, want at most 2 s", s.Path, s.Duration)
		}
		if out, err := exec.Command("ffmpeg", "-v", "error", "-xerror", "-i", s.Path, "-f", "null", "-").CombinedOutput(); err != nil {
			t.Errorf("segment %s does not decode: %v %s", s.Path, err, out)
		}
	}
	for r, d := range total {
		if d < 4500*time.Millisecond || d > 5500*time.Millisecond {
			t.Errorf("rung %d: segments add up to %v, want 5 s", r, d)
		}
	}
	if st := p.Stats(); st.Frames == 0 || st.BytesIn != int64(len(ts)) || st.BytesDropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestProcessInputOverflowDrops(t *testing.T) {
	dir := t.TempDir()
	p, err := Start(Options{
		Args:        Args(testLadder(false), ArgsOptions{Dir: dir, Preset: "ultrafast"}),
		Dir:         dir,
		Rungs:       []string{"240p", "120p"},
		InputBuffer: 4096,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(context.Background())
	// ffmpeg is still starting, so a burst larger than the buffer cannot
	// all be queued; Write must not block either way.
	done := make(chan struct{})
	go func() {
		for range 64 {
			_, _ = p.Write(make([]byte, 1880))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Write blocked")
	}
	if st := p.Stats(); st.BytesDropped == 0 {
		t.Errorf("nothing dropped: %+v", st)
	}
}
