package vod

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/store"
)

var cueRE = regexp.MustCompile(`^(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)\n([^#\n]+)#xywh=(\d+),(\d+),(\d+),(\d+)$`)

func vttSeconds(m []string) float64 {
	h, _ := strconv.Atoi(m[0])
	mi, _ := strconv.Atoi(m[1])
	s, _ := strconv.Atoi(m[2])
	ms, _ := strconv.Atoi(m[3])
	return float64(h*3600+mi*60+s) + float64(ms)/1000
}

// checkStoryboard checks a ready video's storyboard as a player's
// thumbnail plugin reads it: a WebVTT file whose cues follow one another
// from 0 to the video's end, every 2 to 5 s at most (bounded sheets aside),
// each naming a tile inside a JPEG sheet beside it. It returns every key
// it names.
func checkStoryboard(t *testing.T, st *store.Store, bucket string, s *catalog.Status, wantVideo bool) []string {
	t.Helper()
	if !wantVideo {
		if s.Storyboard != "" {
			t.Errorf("no video, storyboard %q", s.Storyboard)
		}
		return nil
	}
	if want := catalog.StoryboardKey(s.ID, s.Source); s.Storyboard != want {
		t.Fatalf("status storyboard %q, want %q", s.Storyboard, want)
	}
	ctx := context.Background()
	b, err := st.GetBytes(ctx, bucket, s.Storyboard)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := st.Head(ctx, bucket, s.Storyboard); err != nil || info.ContentType != "text/vtt" {
		t.Errorf("storyboard served as %q (%v)", info.ContentType, err)
	}
	blocks := strings.Split(strings.TrimSpace(string(b)), "\n\n")
	if blocks[0] != "WEBVTT" || len(blocks) < 2 {
		t.Fatalf("storyboard is not WebVTT with cues:\n%s", b)
	}
	keys := []string{s.Storyboard}
	sheets := map[string][2]int{} // size by name
	var end float64
	for i, c := range blocks[1:] {
		m := cueRE.FindStringSubmatch(c)
		if m == nil {
			t.Fatalf("cue %d %q is not a time range and a sheet region", i, c)
		}
		from, to := vttSeconds(m[1:5]), vttSeconds(m[5:9])
		if math.Abs(from-end) > 0.001 || to <= from || (to-from > 5.001 && s.Duration < 600) {
			t.Errorf("cue %d %.3f..%.3f after %.3f: want contiguous, at most 5 s", i, from, to, end)
		}
		end = to
		name := m[9]
		size, ok := sheets[name]
		if !ok {
			key := path.Join(path.Dir(s.Storyboard), name)
			img, err := st.GetBytes(ctx, bucket, key)
			if err != nil {
				t.Fatalf("cue %d names %s: %v", i, name, err)
			}
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(img))
			if err != nil {
				t.Fatalf("sheet %s: %v", name, err)
			}
			size = [2]int{cfg.Width, cfg.Height}
			sheets[name] = size
			keys = append(keys, key)
		}
		var xywh [4]int
		for j := range xywh {
			xywh[j], _ = strconv.Atoi(m[10+j])
		}
		if xywh[2] < 16 || xywh[3] < 16 || xywh[0]+xywh[2] > size[0] || xywh[1]+xywh[3] > size[1] || size[0]%xywh[2] != 0 || size[1]%xywh[3] != 0 {
			t.Errorf("cue %d region %v outside its %v sheet or not on its grid", i, xywh, size)
		}
	}
	if math.Abs(end-s.Duration) > 0.01 {
		t.Errorf("cues end at %.3f, the video at %.3f", end, s.Duration)
	}
	return keys
}

// sheet lays thumbnails out left to right, then top to bottom, and
// refuses one of another size.
func TestSheetLayout(t *testing.T) {
	plan := &encoder.Storyboard{Interval: 2, Width: 32, Height: 18, Cols: 2, Rows: 2}
	dir := t.TempDir()
	colours := []color.RGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}}
	var thumbs []string
	for i, c := range colours {
		img := image.NewRGBA(image.Rect(0, 0, plan.Width, plan.Height))
		draw.Draw(img, img.Bounds(), &image.Uniform{c}, image.Point{}, draw.Src)
		p := filepath.Join(dir, fmt.Sprintf("thumb_%d.jpg", i))
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		thumbs = append(thumbs, p)
	}
	b, err := sheet(plan, thumbs)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() != 64 || img.Bounds().Dy() != 36 {
		t.Fatalf("sheet %v (%v), want 64x36", img.Bounds(), err)
	}
	near := func(a, b uint32) bool { return math.Abs(float64(a>>8)-float64(b>>8)) < 40 }
	for i, at := range []image.Point{{16, 9}, {48, 9}, {16, 27}} {
		r, g, bl, _ := img.At(at.X, at.Y).RGBA()
		c := colours[i]
		if !near(r, uint32(c.R)<<8) || !near(g, uint32(c.G)<<8) || !near(bl, uint32(c.B)<<8) {
			t.Errorf("tile %d at %v is %d,%d,%d, want %v", i, at, r>>8, g>>8, bl>>8, c)
		}
	}
	plan.Width = 40
	if _, err := sheet(plan, thumbs); err == nil {
		t.Error("a thumbnail of another size was laid out")
	}
}
