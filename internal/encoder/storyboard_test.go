package encoder

import (
	"context"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/media"
)

func TestPlanStoryboard(t *testing.T) {
	land := media.Ladder{Video: []media.Rung{{Name: "720p", Width: 1280, Height: 720}, {Name: "360p", Width: 640, Height: 360}}}
	port := media.Ladder{Video: []media.Rung{{Name: "360p", Width: 360, Height: 640}}}
	for _, tt := range []struct {
		name     string
		seconds  float64
		l        media.Ladder
		interval float64
		w, h     int
	}{
		{"short", 30, land, 2, 160, 90},
		{"two minutes", 120, land, 2, 160, 90},
		{"three minutes", 180, land, 3, 160, 90},
		{"ten minutes", 600, land, 5, 160, 90},
		{"two hours: bounded sheets", 7200, land, 29, 160, 90},
		{"portrait", 30, port, 2, 90, 160},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := PlanStoryboard(tt.seconds, tt.l)
			if s == nil || s.Interval != tt.interval || s.Width != tt.w || s.Height != tt.h {
				t.Fatalf("%+v, want every %v s, %dx%d", s, tt.interval, tt.w, tt.h)
			}
			if sheets := (s.Tiles(tt.seconds) + s.Cols*s.Rows - 1) / (s.Cols * s.Rows); sheets > storyboardSheets {
				t.Errorf("%d sheets, want at most %d", sheets, storyboardSheets)
			}
		})
	}
	if s := PlanStoryboard(30, media.Ladder{Audio: &media.AudioRung{Name: "audio"}}); s != nil {
		t.Errorf("audio only: %+v", s)
	}
}

// The same ffmpeg that encodes the ladder writes the thumbnails: one
// every Interval, of the planned size, and the ladder is unchanged.
func TestStoryboardFromTheEncode(t *testing.T) {
	src := probe(t, testMedia(t, "11_bottles_640x360_noaudio.mp4"))
	l, err := media.PlanLadder(src, media.LadderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sb := PlanStoryboard(src.Duration, l)
	j := Job{Input: Input{URL: testMedia(t, "11_bottles_640x360_noaudio.mp4"), Source: src}, Ladder: l,
		Output: Output{Kind: VOD, Dir: dir}, Preset: "ultrafast", Storyboard: sb}
	args := Args(j)
	if g := args[indexOf(args, "-filter_complex")+1]; !strings.HasPrefix(g, strings.TrimSuffix(LadderGraph("[0:0]", src.Video.FPS, l.Video), "[out0]")) ||
		!strings.HasSuffix(g, "scale=w=160:h=90,setsar=1[sb]") {
		t.Errorf("graph %q", g)
	}
	if err := os.MkdirAll(filepath.Join(dir, StoryboardDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), Options{FFmpeg: media.FFmpegPath(), Args: args}); err != nil {
		t.Fatal(err)
	}
	thumbs, _ := filepath.Glob(filepath.Join(dir, StoryboardDir, "thumb_*.jpg"))
	if want := sb.Tiles(src.Duration); len(thumbs) < want-1 || len(thumbs) > want+1 {
		t.Fatalf("%d thumbnails of %.1f s every %.1f s, want %d", len(thumbs), src.Duration, sb.Interval, want)
	}
	f, err := os.Open(filepath.Join(dir, StoryboardDir, "thumb_0.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := jpeg.DecodeConfig(f)
	if err != nil || c.Width != sb.Width || c.Height != sb.Height {
		t.Errorf("thumbnail %dx%d (%v), want %dx%d", c.Width, c.Height, err, sb.Width, sb.Height)
	}
	for _, r := range j.Renditions() {
		if _, err := os.Stat(filepath.Join(dir, r, "index.m3u8")); err != nil {
			t.Errorf("rendition %s: %v", r, err)
		}
	}
}

func indexOf(a []string, s string) int {
	for i, v := range a {
		if v == s {
			return i
		}
	}
	return -1
}
