package encoder

import (
	"github.com/hlsflow/hlsflow/internal/media"

	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestEncodeLadder encodes the first seconds of real sources with
// LadderArgs and checks what players and the uploader rely on: the layout,
// dimensions as planned, the codecs strings, and segments that align
// across renditions (same count, each starting with a keyframe at the same
// time on every rung).
func TestEncodeLadder(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		opt      media.LadderOptions
		duration time.Duration
	}{
		// 60 fps with audio first and timestamps starting at 10 s; the
		// 360p rung is capped at 30 fps and must still align with 720p60.
		{"720p60 and 360p30", "09_bbb_720p60_h264_aac.ts", media.LadderOptions{SegmentSeconds: 2, Rungs: []string{"720p", "360p"}}, 5 * time.Second},
		// Rotated phone video with mono audio: portrait output.
		{"rotated portrait", "04_iphone4s_portrait_rot90.mov", media.LadderOptions{SegmentSeconds: 1}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			input := testMedia(t, tc.file)
			src := probe(t, input)
			l, err := media.PlanLadder(src, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			args := ladderArgs(src, l, encodeOptions{Input: input, OutDir: out, Progress: true, Duration: tc.duration})

			w := watchSegments(out)
			var last Progress
			err = runBin(context.Background(), media.FFmpegPath(), args, func(p Progress) { last = p })
			seen := w.stop()
			if err != nil {
				t.Fatal(err)
			}
			if !last.Done || last.OutTime <= 0 {
				t.Errorf("last progress %+v, want Done with a time", last)
			}
			checkComplete(t, seen)
			if tmp, _ := filepath.Glob(filepath.Join(out, "*", "*.tmp")); len(tmp) > 0 {
				t.Errorf("temporary files left: %v", tmp)
			}

			var starts [][]float64
			for _, r := range l.Video {
				segs := playlistSegments(t, filepath.Join(out, r.Name, "index.m3u8"))
				var st []float64
				for i, seg := range segs {
					path := filepath.Join(out, r.Name, seg)
					w, h, pts, key := firstVideoPacket(t, path)
					if i == 0 && (w != r.Width || h != r.Height) {
						t.Errorf("%s: encoded %dx%d, planned %dx%d", r.Name, w, h, r.Width, r.Height)
					}
					if !key {
						t.Errorf("%s/%s does not start with a keyframe", r.Name, seg)
					}
					st = append(st, pts)
				}
				if got := spsCodecs(t, filepath.Join(out, r.Name, segs[0])); got != r.Codecs() {
					t.Errorf("%s: stream is %s, Codecs() says %s", r.Name, got, r.Codecs())
				}
				starts = append(starts, st)
			}
			for i := 1; i < len(starts); i++ {
				if len(starts[i]) != len(starts[0]) {
					t.Fatalf("%s has %d segments, %s has %d", l.Video[i].Name, len(starts[i]), l.Video[0].Name, len(starts[0]))
				}
				for k := range starts[i] {
					if d := math.Abs(starts[i][k] - starts[0][k]); d > 0.5/l.Video[i].FPS {
						t.Errorf("segment %d starts at %.3f s on %s and %.3f s on %s", k, starts[i][k], l.Video[i].Name, starts[0][k], l.Video[0].Name)
					}
				}
			}
			if len(starts) > 0 && src.Duration > 2*l.SegmentSeconds && len(starts[0]) < 2 {
				t.Errorf("only %d segments; the test needs several to check alignment", len(starts[0]))
			}
			if l.Audio != nil {
				segs := playlistSegments(t, filepath.Join(out, "audio", "index.m3u8"))
				if len(segs) == 0 {
					t.Errorf("no audio segments")
				}
				ch, rate := audioFormat(t, filepath.Join(out, "audio", segs[0]))
				if ch != l.Audio.Channels || rate != l.Audio.SampleRate {
					t.Errorf("audio %d ch %d Hz, want %d ch %d Hz", ch, rate, l.Audio.Channels, l.Audio.SampleRate)
				}
			}
		})
	}
}

// segmentWatcher records the size of every final-named segment the first
// time it is seen, as an uploader watching the folder would read it.
type segmentWatcher struct {
	done chan struct{}
	wg   sync.WaitGroup
	seen map[string]int64
}

func watchSegments(dir string) *segmentWatcher {
	w := &segmentWatcher{done: make(chan struct{}), seen: map[string]int64{}}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for {
			segs, _ := filepath.Glob(filepath.Join(dir, "*", "*.ts"))
			for _, s := range segs {
				if _, ok := w.seen[s]; ok {
					continue
				}
				if fi, err := os.Stat(s); err == nil {
					w.seen[s] = fi.Size()
				}
			}
			select {
			case <-w.done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return w
}

func (w *segmentWatcher) stop() map[string]int64 {
	close(w.done)
	w.wg.Wait()
	return w.seen
}

// checkComplete: a segment seen under its final name already had its final
// size (ffmpeg's temp_file flag renames it only once written).
func checkComplete(t *testing.T, seen map[string]int64) {
	t.Helper()
	if len(seen) == 0 {
		t.Fatal("the watcher saw no segment")
	}
	for path, size := range seen {
		fi, err := os.Stat(path)
		if err != nil {
			t.Errorf("segment %s vanished: %v", path, err)
			continue
		}
		if fi.Size() != size {
			t.Errorf("%s was visible at %d bytes, complete at %d", filepath.Base(path), size, fi.Size())
		}
	}
}

func playlistSegments(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("#EXT-X-PLAYLIST-TYPE:VOD")) || !bytes.Contains(b, []byte("#EXT-X-ENDLIST")) {
		t.Errorf("%s is not a finished VOD playlist:\n%s", path, b)
	}
	var segs []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			segs = append(segs, l)
		}
	}
	if len(segs) == 0 {
		t.Fatalf("%s lists no segment", path)
	}
	return segs
}

func ffprobeOut(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(media.FFprobePath(), append([]string{"-v", "error"}, args...)...).Output()
	if err != nil {
		t.Fatalf("ffprobe %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

// firstVideoPacket returns the picture size and the first video packet's
// time and keyframe flag.
func firstVideoPacket(t *testing.T, path string) (w, h int, pts float64, key bool) {
	t.Helper()
	size := ffprobeOut(t, "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", path)
	if _, err := fmt.Sscanf(size, "%d,%d", &w, &h); err != nil {
		t.Fatalf("size of %s: %q", path, size)
	}
	pkt := ffprobeOut(t, "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags", "-read_intervals", "%+#1", "-of", "csv=p=0", path)
	first, _, _ := strings.Cut(pkt, "\n")
	ts, flags, _ := strings.Cut(first, ",")
	pts, err := strconv.ParseFloat(ts, 64)
	if err != nil {
		t.Fatalf("first packet of %s: %q", path, pkt)
	}
	return w, h, pts, strings.Contains(flags, "K")
}

func audioFormat(t *testing.T, path string) (channels, rate int) {
	t.Helper()
	s := ffprobeOut(t, "-select_streams", "a:0", "-show_entries", "stream=channels,sample_rate", "-of", "csv=p=0", path)
	if _, err := fmt.Sscanf(s, "%d,%d", &rate, &channels); err != nil { // ffprobe prints sample_rate first
		t.Fatalf("audio of %s: %q", path, s)
	}
	return channels, rate
}

// spsCodecs reads the H.264 sequence parameter set of a segment and
// returns its RFC 6381 string.
func spsCodecs(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte{0, 0, 1, 0x67})
	if i < 0 || i+7 > len(b) {
		t.Fatalf("no SPS in %s", path)
	}
	return fmt.Sprintf("avc1.%02x%02x%02x", b[i+4], b[i+5], b[i+6])
}
