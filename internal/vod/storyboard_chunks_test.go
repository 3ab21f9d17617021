package vod

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"math"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/chunk"
	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
)

// storyboardCues is a storyboard's cues as [from, to, x, y, w, h] and the
// sheet each names, read from the bucket.
func storyboardCues(t *testing.T, s *catalog.Status) ([][6]float64, []image.Image) {
	t.Helper()
	ctx := context.Background()
	b, err := st.GetBytes(ctx, "media", s.Storyboard)
	if err != nil {
		t.Fatal(err)
	}
	var cues [][6]float64
	var imgs []image.Image
	sheets := map[string]image.Image{}
	for _, c := range strings.Split(strings.TrimSpace(string(b)), "\n\n")[1:] {
		m := cueRE.FindStringSubmatch(c)
		if m == nil {
			t.Fatalf("cue %q", c)
		}
		var q [6]float64
		q[0], q[1] = vttSeconds(m[1:5]), vttSeconds(m[5:9])
		for i := range 4 {
			q[2+i] = vttSeconds([]string{"0", "0", m[10+i], "0"})
		}
		img, ok := sheets[m[9]]
		if !ok {
			body, err := st.GetBytes(ctx, "media", path.Join(path.Dir(s.Storyboard), m[9]))
			if err != nil {
				t.Fatal(err)
			}
			if img, err = jpeg.Decode(bytes.NewReader(body)); err != nil {
				t.Fatal(err)
			}
			sheets[m[9]] = img
		}
		cues, imgs = append(cues, q), append(imgs, img)
	}
	return cues, imgs
}

// tileDiff is the mean absolute difference (0..255) of two tiles' luma.
func tileDiff(a, b image.Image, ra, rb [6]float64) float64 {
	w, h := int(ra[4]), int(ra[5])
	var sum float64
	for y := range h {
		for x := range w {
			r1, g1, b1, _ := a.At(int(ra[2])+x, int(ra[3])+y).RGBA()
			r2, g2, b2, _ := b.At(int(rb[2])+x, int(rb[3])+y).RGBA()
			l1 := (299*float64(r1) + 587*float64(g1) + 114*float64(b1)) / 1000 / 257
			l2 := (299*float64(r2) + 587*float64(g2) + 114*float64(b2)) / 1000 / 257
			sum += math.Abs(l1 - l2)
		}
	}
	return sum / float64(w*h)
}

// A chunked encode gets the storyboard the single-process encode of the
// same source gets: the same cues (interval, regions, to the end), sheets
// of the same size, and in each tile the same moment of the video, so
// every chunk wrote its thumbnails on the whole video's grid.
func TestChunkedStoryboardMatchesSingleProcess(t *testing.T) {
	chunked := seamlessLadder(t)
	if chunked.State != catalog.StateReady {
		t.Fatalf("state %s (%s)", chunked.State, chunked.Error)
	}
	h := newTranscoder(t)
	h.chunks = nil // one ffmpeg in this process
	single := transcodeUpload(t, h, "storyboard-single.mp4")
	if single.State != catalog.StateReady {
		t.Fatalf("single-process state %s (%s)", single.State, single.Error)
	}
	checkStoryboard(t, st, "media", chunked, true)
	checkStoryboard(t, st, "media", single, true)
	cc, ci := storyboardCues(t, chunked)
	sc, si := storyboardCues(t, single)
	plan := encoder.PlanStoryboard(sourceSeconds, media.Ladder{Video: []media.Rung{{Width: 640, Height: 360}}})
	// One tile per grid time the source's frames reach (the last stands
	// for the few frames past 24 s).
	if len(cc) != plan.Tiles(sourceSeconds) || len(sc) != len(cc) {
		t.Fatalf("%d cues chunked, %d single-process, want %d", len(cc), len(sc), plan.Tiles(sourceSeconds))
	}
	for i := range cc {
		if cc[i] != sc[i] {
			t.Errorf("cue %d chunked %v, single-process %v", i, cc[i], sc[i])
		}
		if i < len(cc)-1 && cc[i][1]-cc[i][0] != plan.Interval {
			t.Errorf("cue %d lasts %g s, want the interval %g", i, cc[i][1]-cc[i][0], plan.Interval)
		}
		if b := ci[i].Bounds(); b.Dx() != plan.Cols*int(cc[i][4]) || b.Dy() != plan.Rows*int(cc[i][5]) {
			t.Errorf("cue %d's sheet is %v, want %dx%d tiles of %gx%g", i, b.Size(), plan.Cols, plan.Rows, cc[i][4], cc[i][5])
		}
	}
	// Tile by tile the same picture; the next tile (2 s on) differs more,
	// so a chunk writing its thumbnails one slot off would fail this.
	var same, shifted float64
	for i := range cc {
		d := tileDiff(ci[i], si[i], cc[i], sc[i])
		same += d
		if d > 12 {
			t.Errorf("tile %d (%.0f s): chunked and single-process differ by %.1f", i, cc[i][0], d)
		}
		if i+1 < len(cc) {
			shifted += tileDiff(ci[i], si[i+1], cc[i], sc[i+1])
		}
	}
	same, shifted = same/float64(len(cc)), shifted/float64(len(cc)-1)
	t.Logf("mean tile difference %.1f, against the next tile %.1f", same, shifted)
	if shifted <= 2*same {
		t.Errorf("tiles differ by %.1f from their own, %.1f from the next: the test cannot tell them apart", same, shifted)
	}
}

// A chunk whose start is not on the storyboard's grid writes the
// thumbnails of the grid times inside its span, numbered on the whole
// video's grid: with a 3 s interval, the chunk 8..16 s makes 9, 12 and
// 15 s (3, 4, 5) and the last chunk, from 16 s, 18 and 21 s (6, 7).
func TestChunkThumbnailsFollowTheVideoGrid(t *testing.T) {
	setup(t)
	ctx := context.Background()
	if err := st.PutFile(ctx, "uploads", "grid.mp4", srcPath, store.Object{ContentType: "video/mp4"}); err != nil {
		t.Fatal(err)
	}
	ms, err := media.Probe(ctx, "ffprobe", srcPath, media.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	l, err := media.PlanLadder(ms, media.LadderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l.Video = l.Video[len(l.Video)-1:] // the storyboard's rung only
	sb := &encoder.Storyboard{Interval: 3, Width: 96, Height: 54, Cols: 5, Rows: 5}
	id := catalog.VideoID("grid.mp4")
	for _, c := range []struct {
		c    chunk.Chunk
		want []int
	}{
		{chunk.Chunk{Index: 1, Start: 8, Duration: 8, FirstSegment: 2}, []int{3, 4, 5}},
		{chunk.Chunk{Index: 2, Start: 16, FirstSegment: 4}, []int{6, 7}},
	} {
		res, err := worker.EncodeChunk(ctx, chunk.Request{Kind: chunk.KindVideo, ID: id, Bucket: "uploads", Key: "grid.mp4",
			MediaBucket: "media", Prefix: catalog.Prefix(id), Source: *ms, Ladder: l, Chunk: c.c, Preset: "ultrafast", Storyboard: sb})
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, th := range res.Thumbnails {
			got = append(got, th.Index)
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(th.JPEG))
			if err != nil || cfg.Width != sb.Width || cfg.Height != sb.Height {
				t.Errorf("thumbnail %d is %dx%d (%v), want %dx%d", th.Index, cfg.Width, cfg.Height, err, sb.Width, sb.Height)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("chunk from %g s made thumbnails %v, want %v", c.c.Start, got, c.want)
		}
	}
}

// The fan-out keeps only thumbnails that belong to the chunk that sent
// them: numbered in order from the chunk's first grid time, inside its
// span, of a bounded size; anything else keeps none of the response's.
func TestFanoutRefusesStrayThumbnails(t *testing.T) {
	sb := &encoder.Storyboard{Interval: 3, Width: 96, Height: 54, Cols: 5, Rows: 5}
	mid := chunk.Request{Chunk: chunk.Chunk{Index: 1, Start: 8, Duration: 8, FirstSegment: 2}} // 9, 12, 15 s: 3..5
	last := chunk.Request{Chunk: chunk.Chunk{Index: 2, Start: 16, FirstSegment: 4}}            // to the end (24 s): 6..8
	thumbs := func(idx ...int) *chunk.Response {
		r := &chunk.Response{}
		for _, i := range idx {
			r.Thumbnails = append(r.Thumbnails, chunk.Thumbnail{Index: i, JPEG: []byte{byte(i)}})
		}
		return r
	}
	for _, c := range []struct {
		name string
		r    chunk.Request
		res  *chunk.Response
		ok   bool
	}{
		{"its own", mid, thumbs(3, 4, 5), true},
		{"the last chunk's", last, thumbs(6, 7), true},
		{"another chunk's", mid, thumbs(6), false},
		{"one before its span", mid, thumbs(2, 3), false},
		{"one past its span", mid, thumbs(3, 4, 5, 6), false},
		{"out of order", mid, thumbs(4, 3), false},
		{"far past the end", last, thumbs(6, 7, 8, 9, 10), false},
		{"negative", mid, thumbs(-1), false},
		{"oversized", mid, &chunk.Response{Thumbnails: []chunk.Thumbnail{{Index: 3, JPEG: make([]byte, maxThumbBytes+1)}}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fanout{job: &job{id: "v"}, sbPlan: sb, thumbs: map[int][]byte{}, duration: 24}
			err := f.acceptThumbnails(c.r, c.res)
			if (err == nil) != c.ok {
				t.Fatalf("error %v, want ok %v", err, c.ok)
			}
			if want := len(c.res.Thumbnails); !c.ok && len(f.thumbs) != 0 || c.ok && len(f.thumbs) != want {
				t.Errorf("kept %d thumbnails", len(f.thumbs))
			}
		})
	}
}
