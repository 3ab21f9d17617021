package vod

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/chunk"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
)

const (
	sourceSeconds = 24.0
	sourceFPS     = 25.0
)

// newTranscoder returns a Pipeline that fans out through the Invoke API;
// tests change its cfg before they run it.
func newTranscoder(t testing.TB) *Pipeline {
	setup(t)
	h, err := New(Config{MediaBucket: "media", UploadsBucket: "uploads",
		ChunkSeconds: 8, Parallelism: 2, RetryWait: 10 * time.Millisecond,
		// superfast, not ultrafast: it uses B-frames, whose negative first
		// DTS is what chunk.TimeBase is about.
		Preset: "superfast",
	}, Deps{Store: st, Chunks: chunks, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// transcodeUpload uploads the test source under key and runs the
// transcode handler on its event; it returns the final status.
func transcodeUpload(t *testing.T, h *Pipeline, key string) *catalog.Status {
	t.Helper()
	s, err := runTranscode(h, key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// runTranscode is transcodeUpload for other goroutines than the test's.
func runTranscode(h *Pipeline, key string) (*catalog.Status, error) {
	return runTranscodeFile(h, key, srcPath)
}

// runTranscodeFile is runTranscode of the source at path.
func runTranscodeFile(h *Pipeline, key, path string) (*catalog.Status, error) {
	ctx := context.Background()
	if err := st.PutFile(ctx, "uploads", key, path, store.Object{ContentType: "video/mp4"}); err != nil {
		return nil, err
	}
	ev := events.S3Event{Records: []events.S3EventRecord{{
		EventName: "ObjectCreated:Put",
		S3:        events.S3Entity{Bucket: events.S3Bucket{Name: "uploads"}, Object: events.S3Object{Key: key}},
	}}}
	if err := h.Handle(ctx, ev); err != nil {
		return nil, fmt.Errorf("handle: %w", err)
	}
	return catalog.Read(ctx, st, "media", catalog.VideoID(key))
}

// seamless is one chunked transcode of the test source with the default
// test settings, shared by the tests that only read it.
var seamless struct {
	once sync.Once
	s    *catalog.Status
	err  error
}

func seamlessLadder(t *testing.T) *catalog.Status {
	t.Helper()
	h := newTranscoder(t)
	seamless.once.Do(func() { seamless.s, seamless.err = runTranscode(h, "seamless.mp4") })
	if seamless.err != nil {
		t.Fatal(seamless.err)
	}
	return seamless.s
}

func TestChunkedLadderIsSeamless(t *testing.T) {
	s := seamlessLadder(t)
	if s.State != catalog.StateReady {
		t.Fatalf("state %s (%s), want ready", s.State, s.Error)
	}
	checkLadder(t, s.ID)
	// The download joins the chunks' segments as one timeline.
	checkDownload(t, st, "media", s, true, true, media.DefaultSegmentSeconds)
}

// checkLadder downloads every rendition and checks what the issue asks of
// the joins: no discontinuity, a keyframe at every segment start,
// monotonic timestamps without gaps of more than one frame, and durations
// that match the source.
func checkLadder(t *testing.T, id string) {
	ctx := context.Background()
	data, err := st.GetBytes(ctx, "media", catalog.MasterKey(id))
	if err != nil {
		t.Fatal(err)
	}
	master, err := hls.ParseMaster(data)
	if err != nil {
		t.Fatal(err)
	}
	uris := []string{}
	for _, v := range master.Variants {
		uris = append(uris, v.URI)
	}
	for _, m := range master.Media {
		uris = append(uris, m.URI)
	}
	status, err := catalog.Read(ctx, st, "media", id)
	if err != nil {
		t.Fatal(err)
	}
	rev := status.Source.Revision()
	if len(master.Variants) != 2 || len(master.Media) != 1 {
		t.Fatalf("master has %d variants and %d media, want 2 and 1:\n%s", len(master.Variants), len(master.Media), data)
	}
	starts := map[string]float64{}
	for _, uri := range uris {
		name := path.Dir(uri)
		t.Run(name, func(t *testing.T) {
			video := name != "audio"
			pl := getPlaylist(t, catalog.Prefix(id)+uri)
			if !pl.EndList || pl.Type != hls.TypeVOD {
				t.Errorf("playlist type %q endlist %v, want VOD with ENDLIST", pl.Type, pl.EndList)
			}
			dir := t.TempDir()
			joined := filepath.Join(dir, "all.ts")
			all, err := os.Create(joined)
			if err != nil {
				t.Fatal(err)
			}
			defer all.Close()
			for i, seg := range pl.Segments {
				if seg.Discontinuity {
					t.Errorf("segment %d %s: EXT-X-DISCONTINUITY", i, seg.URI)
				}
				if want := media.SegmentName(rev, i); seg.URI != want {
					t.Errorf("segment %d is %s, want %s", i, seg.URI, want)
				}
				b, err := st.GetBytes(ctx, "media", catalog.Prefix(id)+name+"/"+seg.URI)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := all.Write(b); err != nil {
					t.Fatal(err)
				}
				if video {
					p := filepath.Join(dir, seg.URI)
					if err := os.WriteFile(p, b, 0o600); err != nil {
						t.Fatal(err)
					}
					pk := packets(t, p, "v", "%+#1")
					if len(pk) == 0 || !pk[0].key {
						t.Errorf("segment %s does not start with a keyframe", seg.URI)
					}
				}
			}
			if got := pl.Duration().Seconds(); got < sourceSeconds-0.05 || got > sourceSeconds+0.1 {
				t.Errorf("playlist lasts %.3f s, want %.1f s", got, sourceSeconds)
			}
			stream, step := "a", 1024/48000.0
			if video {
				stream, step = "v", 1/sourceFPS
			}
			pk := packets(t, joined, stream, "")
			checkTimeline(t, pk, step)
			if len(pk) > 0 {
				starts[name] = pk[0].pts
				if got := pk[len(pk)-1].pts + step - pk[0].pts; got < sourceSeconds-0.05 || got > sourceSeconds+0.1 {
					t.Errorf("timestamps span %.3f s, want %.1f s", got, sourceSeconds)
				}
			}
		})
	}
	// Video and audio share one timeline (lip sync): they start together,
	// within AAC's priming delay.
	for name, s := range starts {
		if d := s - starts["audio"]; d < -0.05 || d > 0.05 {
			t.Errorf("%s starts at %.3f s, audio at %.3f s", name, s, starts["audio"])
		}
	}
}

// checkTimeline wants decode times strictly increasing and presentation
// times, in order, never more than one frame (step) apart.
func checkTimeline(t *testing.T, pk []packet, step float64) {
	t.Helper()
	pts := make([]float64, 0, len(pk))
	for i, p := range pk {
		if i > 0 && p.dts <= pk[i-1].dts {
			t.Errorf("packet %d: dts %.3f after %.3f, not increasing", i, p.dts, pk[i-1].dts)
		}
		pts = append(pts, p.pts)
	}
	slices.Sort(pts)
	for i := 1; i < len(pts); i++ {
		if gap := pts[i] - pts[i-1]; gap > step*1.01+0.0005 || gap <= 0 {
			t.Errorf("pts %.3f -> %.3f: gap %.4f s, one frame is %.4f s", pts[i-1], pts[i], gap, step)
		}
	}
}

func TestFailedChunkIsRetried(t *testing.T) {
	// The first attempt of the second chunk dies, video and audio, as a
	// killed Lambda would.
	faults.set(func(r chunk.Request) bool { return r.Chunk.Index == 1 && r.Attempt == 1 })
	defer faults.set(nil)
	s := transcodeUpload(t, newTranscoder(t), "retried.mp4")
	if n := faults.count(); n != 2 {
		t.Fatalf("%d injected failures, want 2", n)
	}
	if s.State != catalog.StateReady {
		t.Fatalf("state %s (%s), want ready", s.State, s.Error)
	}
	checkLadder(t, s.ID)
	// The download joins the chunks' segments as one timeline.
	checkDownload(t, st, "media", s, true, true, media.DefaultSegmentSeconds)
}

func TestChunkThatKeepsFailingFailsTheVideo(t *testing.T) {
	for _, c := range []struct{ kind, key, names string }{
		{chunk.KindVideo, "broken.mp4", "chunk 2"},
		// An audio chunk is retried and fails the video as a video chunk does.
		{chunk.KindAudio, "broken-audio.mp4", "audio chunk 2"},
	} {
		t.Run(c.kind, func(t *testing.T) {
			faults.set(func(r chunk.Request) bool { return r.Kind == c.kind && r.Chunk.Index == 2 })
			defer faults.set(nil)
			h := newTranscoder(t)
			h.cfg.ChunkAttempts = 2
			s := transcodeUpload(t, h, c.key)
			if n := faults.count(); n != 2 {
				t.Errorf("%d injected failures, want 2 (one per attempt)", n)
			}
			if s.State != catalog.StateFailed || !strings.Contains(s.Error, c.names) || s.Playback != "" {
				t.Fatalf("state %s (%q) playback %q, want failed naming %s, no playback", s.State, s.Error, s.Playback, c.names)
			}
			keys, err := st.List(context.Background(), "media", catalog.Prefix(s.ID))
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 1 || keys[0] != catalog.StatusKey(s.ID) {
				t.Errorf("a failed video left %v, want only status.json", keys)
			}
		})
	}
}

func getPlaylist(t *testing.T, key string) *hls.MediaPlaylist {
	t.Helper()
	b, err := st.GetBytes(context.Background(), "media", key)
	if err != nil {
		t.Fatal(err)
	}
	p, err := hls.ParseMedia(b)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return p
}

type packet struct {
	pts, dts float64
	key      bool
}

// packets lists a stream's packets as ffprobe reads them.
func packets(t *testing.T, path, stream, interval string) []packet {
	t.Helper()
	args := []string{"-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time,dts_time,flags", "-of", "csv=p=0"}
	if interval != "" {
		args = append(args, "-read_intervals", interval)
	}
	out, err := exec.Command("ffprobe", append(args, path)...).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var pk []packet
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		pts, err1 := strconv.ParseFloat(f[0], 64)
		dts, err2 := strconv.ParseFloat(f[1], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("ffprobe line %q", line)
		}
		pk = append(pk, packet{pts: pts, dts: dts, key: strings.HasPrefix(f[2], "K")})
	}
	return pk
}

// An event re-delivered while another invocation is fanning out the same
// upload (status.json "processing", fresh) starts no second encode.
func TestRedeliveredEventStartsNoDuplicateWork(t *testing.T) {
	h := newTranscoder(t)
	ctx := context.Background()
	key := "redelivered.mp4"
	if err := st.PutFile(ctx, "uploads", key, srcPath, store.Object{ContentType: "video/mp4"}); err != nil {
		t.Fatal(err)
	}
	info, err := st.Head(ctx, "uploads", key)
	if err != nil {
		t.Fatal(err)
	}
	id := catalog.VideoID(key)
	src := catalog.Source{Bucket: "uploads", Key: key, Upload: catalog.Upload{Size: info.Size, ETag: strings.Trim(info.ETag, `"`)}}
	cases := []struct {
		name    string
		age     time.Duration
		encodes bool
	}{
		{"fresh heartbeat: skipped", 0, false},
		{"stale heartbeat (crashed): encoded again", time.Minute, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			running := &catalog.Status{ID: id, State: catalog.StateProcessing, Source: src.Upload, Progress: 0.25}
			if err := catalog.Write(ctx, st, "media", running); err != nil {
				t.Fatal(err)
			}
			if c.age > 0 {
				// Backdate the heartbeat as a crashed invocation would leave it.
				running.Updated = running.Updated.Add(-c.age)
				b, _ := json.Marshal(running)
				if err := st.PutBytes(ctx, "media", catalog.StatusKey(id), b, store.For("status.json")); err != nil {
					t.Fatal(err)
				}
			}
			var calls atomic.Int32
			faults.set(func(chunk.Request) bool { calls.Add(1); return false })
			defer faults.set(nil)
			s := transcodeUpload(t, h, key)
			if c.encodes {
				if s.State != catalog.StateReady || calls.Load() == 0 {
					t.Errorf("state %s after %d encode calls, want ready after encoding", s.State, calls.Load())
				}
				return
			}
			if calls.Load() != 0 || s.State != catalog.StateProcessing || s.Progress != 0.25 {
				t.Errorf("%d encode calls, state %s progress %.2f; want none, processing 0.25 untouched", calls.Load(), s.State, s.Progress)
			}
		})
	}
}
