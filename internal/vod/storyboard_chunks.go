package vod

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/hlsflow/hlsflow/internal/chunk"
	"github.com/hlsflow/hlsflow/internal/encoder"
)

// Bounds on a storyboard plan a chunk request carries, and on the
// thumbnails a chunk returns (a Lambda response holds 6 MB at most).
const (
	maxThumbSide     = 640
	maxSheetSide     = 20
	maxThumbBytes    = 256 << 10
	maxChunkThumbs   = 4 << 20 // bytes of thumbnails in one response
	maxStoryInterval = 3600
)

// checkStoryboardPlan refuses a plan no fan-out makes: one that would
// have ffmpeg write a frame a second for hours, or sheets of any size.
func checkStoryboardPlan(sb *encoder.Storyboard) error {
	switch {
	case !(sb.Interval >= 1 && sb.Interval <= maxStoryInterval) || sb.Interval != math.Trunc(sb.Interval):
		return fmt.Errorf("interval %g is not whole seconds in 1..%d", sb.Interval, maxStoryInterval)
	case sb.Width < 2 || sb.Height < 2 || sb.Width > maxThumbSide || sb.Height > maxThumbSide:
		return fmt.Errorf("thumbnails of %dx%d are outside 2..%d", sb.Width, sb.Height, maxThumbSide)
	case sb.Cols < 1 || sb.Rows < 1 || sb.Cols > maxSheetSide || sb.Rows > maxSheetSide:
		return fmt.Errorf("sheets of %dx%d tiles are outside 1..%d", sb.Cols, sb.Rows, maxSheetSide)
	}
	return nil
}

// chunkThumbnails reads the thumbnails a chunk's encode wrote under work,
// in order, within the response's bounds.
func chunkThumbnails(work string, sb *encoder.Storyboard) ([]chunk.Thumbnail, error) {
	var out []chunk.Thumbnail
	total := 0
	for n := sb.First(); ; n++ {
		b, err := os.ReadFile(filepath.Join(work, encoder.StoryboardDir, "thumb_"+strconv.Itoa(n)+".jpg"))
		if os.IsNotExist(err) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if total += len(b); len(b) > maxThumbBytes || total > maxChunkThumbs {
			return nil, fmt.Errorf("thumbnail %d makes %d bytes, over the bounds", n, total)
		}
		out = append(out, chunk.Thumbnail{Index: n, JPEG: b})
	}
}

// acceptThumbnails checks the thumbnails a chunk returned against its
// span on the video's grid (so that no chunk can stand for another's
// tiles) and keeps them for the sheets.
func (f *fanout) acceptThumbnails(r chunk.Request, res *chunk.Response) error {
	sb := f.sbPlan
	if sb == nil || len(res.Thumbnails) == 0 {
		return nil
	}
	first := int(math.Ceil(r.Chunk.Start/sb.Interval - 1e-9))
	last := math.MaxInt // the last chunk runs to the end
	if r.Chunk.Duration > 0 {
		last = int(math.Ceil((r.Chunk.Start+r.Chunk.Duration)/sb.Interval-1e-9)) - 1
	}
	last = min(last, sb.Tiles(f.duration)) // a frame past the stated duration may take one more
	for i, t := range res.Thumbnails {
		if t.Index != first+i || t.Index > last || len(t.JPEG) > maxThumbBytes {
			return fmt.Errorf("encode %s chunk %d: thumbnail %d (%d bytes) is not one of %d..%d", f.id, r.Chunk.Index, t.Index, len(t.JPEG), first, last)
		}
	}
	for _, t := range res.Thumbnails {
		f.thumbs[t.Index] = t.JPEG
	}
	return nil
}

// layOutThumbnails makes the storyboard's sheets from the chunks'
// thumbnails, as the single-process encode does from its own.
func (f *fanout) layOutThumbnails(ctx context.Context) (*board, error) {
	if f.sbPlan == nil || len(f.thumbs) == 0 {
		return nil, nil
	}
	work, err := os.MkdirTemp(f.cfg.TmpDir, "storyboard-"+f.id+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	if err := os.Mkdir(filepath.Join(work, encoder.StoryboardDir), 0o755); err != nil {
		return nil, err
	}
	for n, b := range f.thumbs {
		if err := os.WriteFile(filepath.Join(work, encoder.StoryboardDir, "thumb_"+strconv.Itoa(n)+".jpg"), b, 0o644); err != nil {
			return nil, err
		}
	}
	return f.uploadSheets(ctx, work, f.sbPlan)
}
