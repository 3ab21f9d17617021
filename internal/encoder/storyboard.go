package encoder

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hlsflow/hlsflow/internal/media"
)

// Storyboard sizing: one tile every 2 to 5 s (longer videos get the
// longer interval, and more when the sheets would exceed storyboardSheets),
// tiles of 160 px on their long side, storyboardCols x storyboardRows a
// sheet.
const (
	storyboardMinInterval = 2
	storyboardMaxInterval = 5
	storyboardLong        = 160
	storyboardCols        = 5
	storyboardRows        = 5
	storyboardSheets      = 10
	// StoryboardDir is the folder under Output.Dir the thumbnails are
	// written to, as thumb_{n}.jpg from 0 (see storyboardArgs); the
	// caller makes it.
	StoryboardDir = "storyboard"
)

// Storyboard is thumbnails made from the frames an encode decodes anyway:
// every Interval seconds a frame of the smallest rung, scaled to Width x
// Height, to be laid out Cols x Rows a JPEG sheet.
type Storyboard struct {
	Interval float64 `json:"interval"`
	Width    int     `json:"width"`
	Height   int     `json:"height"`
	Cols     int     `json:"cols"`
	Rows     int     `json:"rows"`
	// From is how far into the source the encode's input starts (a
	// chunk's seek): its frames' times plus From are source times.
	From float64 `json:"-"`
	// Begin is the chunk's start (at or before its first frame, a little
	// after From): its thumbnails stay on the whole video's grid, numbered
	// from First(), and it writes only those at or after Begin.
	Begin float64 `json:"-"`
}

// First is the number of the first thumbnail an encode beginning Begin
// seconds into the source writes: the first grid time at or after Begin.
func (s *Storyboard) First() int {
	return int(math.Ceil(s.Begin/s.Interval - 1e-9))
}

// PlanStoryboard sizes the storyboard of seconds of ladder l; nil when
// the ladder has no video.
func PlanStoryboard(seconds float64, l media.Ladder) *Storyboard {
	if len(l.Video) == 0 || seconds <= 0 {
		return nil
	}
	r := l.Video[len(l.Video)-1]
	if r.Width <= 0 || r.Height <= 0 {
		return nil
	}
	w, h := storyboardLong, storyboardLong
	if r.Width >= r.Height {
		h = max(2, int(math.Round(float64(storyboardLong*r.Height)/float64(r.Width)/2))*2)
	} else {
		w = max(2, int(math.Round(float64(storyboardLong*r.Width)/float64(r.Height)/2))*2)
	}
	// 2 s for a minute or less, 5 s from 5 minutes, between in between;
	// whole seconds, so tiles fall on the segments' keyframes' grid.
	interval := math.Ceil(min(storyboardMaxInterval, max(storyboardMinInterval, seconds/60)))
	interval = max(interval, math.Ceil(seconds/(storyboardSheets*storyboardCols*storyboardRows)))
	return &Storyboard{Interval: interval, Width: w, Height: h, Cols: storyboardCols, Rows: storyboardRows}
}

// Tiles is how many tiles seconds of video gives.
func (s *Storyboard) Tiles(seconds float64) int {
	return int(math.Ceil(seconds / s.Interval))
}

// storyboardGraph adds the storyboard's branch to a LadderGraph of rungs
// outputs: the smallest rung's frames are split before they go to its
// encoder, and thumbnail n is the first frame at or after n x Interval of
// the source, scaled to [sb]. The frames are the ones the ladder decodes
// and scales anyway, so the branch costs a small scale and a small JPEG
// every Interval. A chunk's frames start at 0: From puts them back on the
// source's clock, so every chunk picks the frames one encode would.
// (select rather than fps: fps fills a slot only once a later frame or
// the end shows it is over, and a chunk's end is not the video's.) The
// thumbnails are not tiled here: ffmpeg's tile filter holds a sheet's
// frames back until it is full, and a stream that far behind stalls
// -progress (out_time) for as long; the caller lays them out (Cols x Rows
// a sheet).
func storyboardGraph(graph string, rungs int, s *Storyboard) string {
	last := fmt.Sprintf("[out%d]", rungs-1)
	if !strings.HasSuffix(graph, last) {
		return graph
	}
	// A frame is picked when it is the first in a new slot; the first
	// frame is compared with the instant before Begin.
	slot := func(t string) string {
		return fmt.Sprintf("floor((%s+%s)/%s+1e-6)", t, fmtFloat(s.From), fmtFloat(s.Interval))
	}
	before := fmtFloat(s.Begin - s.From - 0.001)
	pick := fmt.Sprintf("select='gt(%s,%s)'", slot("t"), slot("if(isnan(prev_t),"+before+",prev_t)"))
	return strings.TrimSuffix(graph, last) + fmt.Sprintf(",split=2%s[sbin];[sbin]%s,scale=w=%d:h=%d,setsar=1[sb]",
		last, pick, s.Width, s.Height)
}

// storyboardArgs are the output of the thumbnails, after the HLS output:
// StoryboardDir/thumb_{n}.jpg from s.First(), thumbnail n taken at
// n x Interval of the source.
func storyboardArgs(dir string, s *Storyboard) []string {
	// passthrough: image2 would otherwise pad the picked frames out to a
	// constant rate.
	return []string{"-map", "[sb]", "-fps_mode", "passthrough", "-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p",
		"-f", "image2", "-start_number", strconv.Itoa(s.First()), filepath.Join(dir, StoryboardDir, "thumb_%d.jpg")}
}
