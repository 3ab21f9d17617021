package vod

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/store"
)

// board is a storyboard's sheets, laid out from the thumbnails of the
// encode that made them.
type board struct {
	plan   *encoder.Storyboard
	sheets []string // keys, in order
	tiles  int      // thumbnails on them
}

// uploadSheets lays the thumbnails the encode wrote under work out on
// JPEG sheets, Cols x Rows each in time order, uploads them and returns
// them as a board (nil when there are none).
func (j *job) uploadSheets(ctx context.Context, work string, plan *encoder.Storyboard) (*board, error) {
	b := &board{plan: plan}
	per := plan.Cols * plan.Rows
	for n := 0; ; n++ {
		var thumbs []string
		for i := range per {
			p := filepath.Join(work, encoder.StoryboardDir, fmt.Sprintf("thumb_%d.jpg", n*per+i))
			if _, err := os.Stat(p); err != nil {
				break
			}
			thumbs = append(thumbs, p)
		}
		if len(thumbs) == 0 {
			break
		}
		body, err := sheet(plan, thumbs)
		if err != nil {
			return nil, err
		}
		key := catalog.StoryboardSheetKey(j.id, j.src.Upload, n)
		if err := j.store.PutBytes(ctx, j.cfg.MediaBucket, key, body, store.For(key)); err != nil {
			return nil, err
		}
		j.use.wrote(1, int64(len(body)))
		b.sheets, b.tiles = append(b.sheets, key), b.tiles+len(thumbs)
		if len(thumbs) < per {
			break
		}
	}
	if len(b.sheets) == 0 {
		return nil, nil
	}
	return b, nil
}

// sheet draws thumbs (at most Cols x Rows, in order, left to right then
// top to bottom) on one JPEG sheet; a thumbnail of another size than
// planned is refused rather than laid out wrong.
func sheet(plan *encoder.Storyboard, thumbs []string) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, plan.Cols*plan.Width, plan.Rows*plan.Height))
	for i, p := range thumbs {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		t, err := jpeg.Decode(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("storyboard thumbnail %d: %w", i, err)
		}
		if t.Bounds().Dx() != plan.Width || t.Bounds().Dy() != plan.Height {
			return nil, fmt.Errorf("storyboard thumbnail %d is %v, want %dx%d", i, t.Bounds().Size(), plan.Width, plan.Height)
		}
		at := image.Pt((i%plan.Cols)*plan.Width, (i/plan.Cols)*plan.Height)
		draw.Draw(img, image.Rectangle{at, at.Add(t.Bounds().Size())}, t, t.Bounds().Min, draw.Src)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// storyboard writes the WebVTT file whose cues map each stretch of the
// video to its tile, as hls.js, video.js and Shaka thumbnail plugins read
// it, and returns its key ("" without sheets).
func (j *job) storyboard(ctx context.Context, res *result) (string, error) {
	if j.board == nil {
		return "", nil
	}
	for _, k := range j.board.sheets {
		res.keys[k] = true
	}
	key := catalog.StoryboardKey(j.id, j.src.Upload)
	body := storyboardVTT(j.board, res.duration)
	if err := j.store.PutBytes(ctx, j.cfg.MediaBucket, key, body, store.For(key)); err != nil {
		return "", fmt.Errorf("storyboard of %s: %w", j.id, err)
	}
	j.use.wrote(1, int64(len(body)))
	return key, nil
}

// storyboardVTT is the WebVTT text of b for a video of duration seconds:
// tile k, on sheet k/(Cols*Rows), covers [k*Interval, (k+1)*Interval),
// the last one to the end.
// Sheet URIs are relative to the VTT, which is beside them.
func storyboardVTT(b *board, duration float64) []byte {
	p := b.plan
	per := p.Cols * p.Rows
	tiles := min(p.Tiles(duration), b.tiles)
	var s strings.Builder
	s.WriteString("WEBVTT\n")
	for k := range tiles {
		from, to := float64(k)*p.Interval, math.Min(float64(k+1)*p.Interval, duration)
		if k == tiles-1 {
			to = duration // a last frame ffmpeg did not sample: the last tile stands for it
		}
		i := k % per
		fmt.Fprintf(&s, "\n%s --> %s\n%s#xywh=%d,%d,%d,%d\n", vttTime(from), vttTime(to),
			path.Base(b.sheets[k/per]), (i%p.Cols)*p.Width, (i/p.Cols)*p.Height, p.Width, p.Height)
	}
	return []byte(s.String())
}

// vttTime is a WebVTT timestamp, hh:mm:ss.ttt.
func vttTime(seconds float64) string {
	d := time.Duration(math.Round(seconds*1000)) * time.Millisecond
	return fmt.Sprintf("%02d:%02d:%02d.%03d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60, d.Milliseconds()%1000)
}
