package vod

import (
	"context"
	"fmt"
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

// board is a storyboard's sheets, uploaded by the encode that made them.
type board struct {
	plan   *encoder.Storyboard
	sheets []string // keys, in order
}

// uploadSheets moves the sheets the encode wrote under work to the bucket
// and returns them as a board (nil when there are none).
func (j *job) uploadSheets(ctx context.Context, work string, plan *encoder.Storyboard) (*board, error) {
	b := &board{plan: plan}
	for n := 0; ; n++ {
		p := filepath.Join(work, encoder.StoryboardDir, fmt.Sprintf("storyboard_%d.jpg", n))
		fi, err := os.Stat(p)
		if os.IsNotExist(err) {
			break
		}
		if err != nil {
			return nil, err
		}
		key := catalog.StoryboardSheetKey(j.id, j.src.Upload, n)
		if err := j.store.PutFile(ctx, j.cfg.MediaBucket, key, p, store.For(key)); err != nil {
			return nil, err
		}
		j.use.wrote(1, fi.Size())
		b.sheets = append(b.sheets, key)
	}
	if len(b.sheets) == 0 {
		return nil, nil
	}
	return b, nil
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
// tile k, on sheet k/(Cols*Rows), covers [k*Interval, (k+1)*Interval).
// Sheet URIs are relative to the VTT, which is beside them.
func storyboardVTT(b *board, duration float64) []byte {
	p := b.plan
	per := p.Cols * p.Rows
	tiles := min(p.Tiles(duration), len(b.sheets)*per)
	var s strings.Builder
	s.WriteString("WEBVTT\n")
	for k := range tiles {
		from, to := float64(k)*p.Interval, math.Min(float64(k+1)*p.Interval, duration)
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
