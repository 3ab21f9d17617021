package encoder

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
)

// DefaultPoll is how often a Watch looks for finished segments.
const DefaultPoll = 100 * time.Millisecond

// Watch reports the segments of a Job as ffmpeg finishes them, in order
// per rendition, and once more after ffmpeg has exited for the last ones.
type Watch struct {
	Dir        string   // the Job's Output.Dir
	Renditions []string // Job.Renditions
	// Listed takes segments from ffmpeg's playlists, which give their
	// durations (Live); otherwise from the folders, as ffmpeg writes a VOD
	// playlist only at the end (a finished segment is renamed to *.ts).
	Listed bool
	Poll   time.Duration // default DefaultPoll
	// OnSegment is called from one goroutine. An error stops ffmpeg, and
	// the run returns it.
	OnSegment func(Segment) error
}

// Watch returns the Watch of j's output.
func (j Job) Watch(on func(Segment) error) *Watch {
	return &Watch{Dir: j.Output.Dir, Renditions: j.Renditions(), Listed: j.Output.Kind == Live, OnSegment: on}
}

// Segment is a finished segment file.
type Segment struct {
	Rendition int    // index into Watch.Renditions
	Name      string // the rendition's folder name, e.g. "720p"
	File      string // the segment's file name
	Path      string // local file, complete
	Index     int    // its sequence number
	Duration  time.Duration
	Ready     time.Time // when ffmpeg finished it (Listed: listed it)
}

type watcher struct {
	Watch
	fail   func(error)
	failed bool
	last   []int         // last reported index per rendition
	seen   []fs.FileInfo // playlists as last read (Listed)
}

func newWatcher(w Watch, fail func(error)) *watcher {
	if w.Poll <= 0 {
		w.Poll = DefaultPoll
	}
	ww := &watcher{Watch: w, fail: fail, last: make([]int, len(w.Renditions)), seen: make([]fs.FileInfo, len(w.Renditions))}
	for i := range ww.last {
		ww.last[i] = -1
	}
	return ww
}

// run scans every Poll until exited is closed, then once more.
func (w *watcher) run(exited <-chan struct{}) {
	t := time.NewTicker(w.Poll)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			w.scan()
		case <-exited:
			w.scan()
			return
		}
	}
}

func (w *watcher) scan() {
	for i, name := range w.Renditions {
		if w.failed {
			return
		}
		dir := filepath.Join(w.Dir, name)
		var segs []Segment
		if w.Listed {
			segs = w.listed(i, dir)
		} else {
			segs = w.files(i, dir)
		}
		for _, s := range segs {
			if s.Index <= w.last[i] {
				continue
			}
			w.last[i] = s.Index
			s.Rendition, s.Name, s.Path = i, name, filepath.Join(dir, s.File)
			if w.OnSegment == nil {
				continue
			}
			if err := w.OnSegment(s); err != nil {
				w.failed = true
				w.fail(err)
				return
			}
		}
	}
}

// files lists the finished segments in a folder, oldest first.
func (w *watcher) files(i int, dir string) []Segment {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) { // not started yet
			w.failed = true
			w.fail(fmt.Errorf("scan segments: %w", err))
		}
		return nil
	}
	var segs []Segment
	now := time.Now()
	for _, e := range entries {
		if n, ok := segmentIndex(e.Name()); ok && e.Type().IsRegular() && n > w.last[i] {
			segs = append(segs, Segment{File: e.Name(), Index: n, Ready: now})
		}
	}
	return segs // os.ReadDir sorts, and the numbers are zero-padded
}

// listed reads ffmpeg's playlist of a rendition when it has changed.
// ffmpeg writes it to a temporary name and renames it, so a read sees a
// whole playlist; its modification time is when the newest segment was
// finished.
func (w *watcher) listed(i int, dir string) []Segment {
	path := filepath.Join(dir, media.PlaylistName(""))
	// A stat per poll; the playlist is read only when ffmpeg has replaced
	// it, once per segment.
	st, err := os.Stat(path)
	if err != nil || (w.seen[i] != nil && st.ModTime().Equal(w.seen[i].ModTime()) && st.Size() == w.seen[i].Size()) {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	// Stat the open file: it is the version read even if ffmpeg renames a
	// newer one into place meanwhile.
	st, err = f.Stat()
	if err != nil {
		return nil
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil
	}
	pl, err := hls.ParseMedia(b)
	if err != nil {
		return nil // half-written by a foreign writer; read again next time
	}
	w.seen[i] = st
	var segs []Segment
	for _, s := range pl.Segments {
		if n, ok := segmentIndex(s.URI); ok {
			segs = append(segs, Segment{File: s.URI, Index: n, Duration: s.Duration, Ready: st.ModTime()})
		}
	}
	return segs
}

// segmentIndex is the number of a segment file named by
// media.SegmentName: seg_00012.ts or seg_REV_00012.ts, or .m4s for CMAF
// (media.CMAFSegmentPattern).
func segmentIndex(name string) (int, bool) {
	base, ok := strings.CutSuffix(name, ".ts")
	if !ok {
		base, ok = strings.CutSuffix(name, ".m4s")
	}
	if !ok || !strings.HasPrefix(base, "seg_") || strings.ContainsAny(name, `/\`) {
		return 0, false
	}
	n, err := strconv.Atoi(base[strings.LastIndex(base, "_")+1:])
	return n, err == nil && n >= 0
}
