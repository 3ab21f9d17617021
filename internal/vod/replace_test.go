package vod

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/chunk"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// version is a ready video as it was published.
type version struct {
	status *catalog.Status
	master []byte
	keys   []string
}

// publishVersion uploads data at key, runs the handler and returns the
// ready video.
func publishVersion(t *testing.T, h *Pipeline, st *store.Store, key string, data []byte) version {
	t.Helper()
	upload(t, st, key, data)
	if err := h.Handle(context.Background(), putEvent(t, key)); err != nil {
		t.Fatal(err)
	}
	return currentVersion(t, st, catalog.VideoID(key))
}

func currentVersion(t *testing.T, st *store.Store, id string) version {
	t.Helper()
	s := readStatus(t, st, id)
	if s.State != catalog.StateReady {
		t.Fatalf("state %s (%q), want ready", s.State, s.Error)
	}
	m, err := st.GetBytes(context.Background(), testenv.BucketMedia, catalog.MasterKey(id))
	if err != nil {
		t.Fatal(err)
	}
	return version{status: s, master: m, keys: listKeys(t, st, id)}
}

// checkStillPlays fails unless old is what plays: status.json ready with
// old's source, renditions, playback and poster; the same master; every
// file of old still in the bucket.
func checkStillPlays(t *testing.T, st *store.Store, old version) *catalog.Status {
	t.Helper()
	s, err := stillPlays(t, st, old)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func stillPlays(t *testing.T, st *store.Store, old version) (*catalog.Status, error) {
	t.Helper()
	ctx := context.Background()
	id := old.status.ID
	s := readStatus(t, st, id)
	if s.State != catalog.StateReady || s.Source != old.status.Source || s.Playback != old.status.Playback ||
		s.Poster != old.status.Poster || fmt.Sprint(s.Renditions) != fmt.Sprint(old.status.Renditions) || s.Duration != old.status.Duration {
		return s, fmt.Errorf("status.json no longer describes the version that plays:\n got %+v\nwant %+v", s, old.status)
	}
	m, err := st.GetBytes(ctx, testenv.BucketMedia, catalog.MasterKey(id))
	if err != nil {
		return s, fmt.Errorf("the master of the playing version: %w", err)
	}
	if !bytes.Equal(m, old.master) {
		return s, fmt.Errorf("the master changed while status.json said the old version plays:\n%s", m)
	}
	for _, k := range old.keys {
		if k == catalog.StatusKey(id) {
			continue
		}
		if _, err := st.Head(ctx, testenv.BucketMedia, k); err != nil {
			return s, fmt.Errorf("%s of the playing version: %w", k, err)
		}
	}
	return s, nil
}

// testClip makes a clip with ffmpeg's test sources: seconds long, w x h.
func testClip(t *testing.T, seconds, w, h int) []byte {
	t.Helper()
	return ffmpegFile(t, "clip.mp4", "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=25", w, h),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", fmt.Sprint(seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-c:a", "aac", "-shortest")
}

// TestReplacementKeepsPlaying: a new upload under the key of a ready video
// leaves the old one playing, master included, for the whole of its
// processing; then the master switches to the new version, and the old
// version's files are deleted RetireAfter later, not before.
func TestReplacementKeepsPlaying(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffmpeg")
	}
	h, env := newHandler(t)
	h.cfg.RetireAfter = 3 * time.Second
	key := t.Name() + "/talk.mp4"
	id := catalog.VideoID(key)
	old := publishVersion(t, h, env.Store, key, testClip(t, 3, 320, 180))

	next := testClip(t, 12, 640, 360)
	upload(t, env.Store, key, next)
	done, finished := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(finished)
		done <- h.Handle(context.Background(), putEvent(t, key))
	}()
	// The handler logs through t: a failing check waits for it to end.
	t.Cleanup(func() { <-finished })

	rounds := 0
	var readyAt time.Time
	for readyAt.IsZero() {
		select {
		case err := <-done:
			t.Fatalf("handler returned (%v) before the test saw the new version ready", err)
		case <-time.After(50 * time.Millisecond):
		}
		s := readStatus(t, env.Store, id)
		switch {
		case s.Source != old.status.Source && s.State == catalog.StateReady:
			readyAt = time.Now()
		case s.Replacement != nil:
			if s.Replacement.State != catalog.StateProcessing || s.Replacement.Revision != s.Replacement.Source.Revision() ||
				s.Replacement.Source.Revision() == old.status.Source.Revision() {
				t.Fatalf("replacement %+v, want the new upload processing", s.Replacement)
			}
			if _, err := stillPlays(t, env.Store, old); err != nil {
				// The switch may fall between reading status.json and the
				// master: the master is written first and status.json
				// follows within a few requests (job.run), never later.
				if !statusFollows(t, env.Store, id, old.status.Source) {
					t.Fatal(err)
				}
				continue
			}
			rounds++
		case s.Source != old.status.Source:
			t.Fatalf("while the new upload is processed, status.json says %s for it with no version ready: %+v", s.State, s)
		}
	}
	if rounds == 0 {
		t.Fatal("never saw the replacement processing")
	}
	t.Logf("the old version played through %d checks while the new one was processed", rounds)
	// Within the grace, a player that got the old master from a cache
	// still finds its files.
	if time.Since(readyAt) < h.cfg.RetireAfter-time.Second {
		for _, k := range old.keys {
			if _, err := env.Store.Head(context.Background(), testenv.BucketMedia, k); err != nil {
				t.Errorf("%s deleted right when the new version became ready: %v", k, err)
			}
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	noChildren(t)
	emptyDir(t, h.cfg.TmpDir)
	path := writeTemp(t, next)
	// Every object is referenced by the new version: none of the old is left.
	checkOutput(t, env.Store, id, key, path, true, true, false)
	now := readStatus(t, env.Store, id)
	if now.Replacement != nil || now.Poster == old.status.Poster {
		t.Errorf("after the switch: replacement %+v poster %q", now.Replacement, now.Poster)
	}
}

// statusFollows says whether status.json stops naming src within a
// few seconds: how long after the master's switch it may lag.
func statusFollows(t *testing.T, st *store.Store, id string, src catalog.Upload) bool {
	t.Helper()
	for range 100 {
		if readStatus(t, st, id).Source != src {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "*.mp4")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// TestFailedReplacementKeepsPlaying: a broken file uploaded over a ready
// video leaves it playing, untouched, and status.json says why the new
// upload was refused; nothing of the broken upload is left.
func TestFailedReplacementKeepsPlaying(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffmpeg")
	}
	flower, err := os.ReadFile(testenv.Media(t, "02_flower_960x540_h264_aac.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, wantErr string
		data          []byte
	}{
		{"text renamed mp4", "cannot be made into a video stream", []byte("this is a shopping list, not a video\n")},
		// The moov is at the start: ffprobe sees 5 s, the decode stops
		// half way.
		{"truncated mp4", "damaged or incomplete", flower[:len(flower)/2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, env := newHandler(t)
			key := t.Name() + "/clip.mp4"
			old := publishVersion(t, h, env.Store, key, testClip(t, 3, 320, 180))

			upload(t, env.Store, key, tt.data)
			if err := h.Handle(context.Background(), putEvent(t, key)); err != nil {
				t.Fatalf("a refused replacement is final, the handler must return nil: %v", err)
			}
			s := checkStillPlays(t, env.Store, old)
			r := s.Replacement
			if r == nil || r.State != catalog.StateFailed || !strings.Contains(r.Error, tt.wantErr) ||
				r.Source.Size != int64(len(tt.data)) || r.Revision != r.Source.Revision() {
				t.Fatalf("replacement %+v, want failed with %q for the %d-byte upload", r, tt.wantErr, len(tt.data))
			}
			if got := listKeys(t, env.Store, s.ID); !slices.Equal(got, old.keys) {
				t.Errorf("the failed replacement left files:\n got %v\nwant %v", got, old.keys)
			}
			noChildren(t)
			emptyDir(t, h.cfg.TmpDir)

			// The same broken upload delivered again is processed again
			// (a retry, as for a first upload) and fails the same way.
			if err := h.Handle(context.Background(), putEvent(t, key)); err != nil {
				t.Fatal(err)
			}
			checkStillPlays(t, env.Store, old)
		})
	}
}

// TestSupersededJobPublishesNothing: a job whose upload was overwritten
// while it ran does not switch the master to it, removes its own files
// and leaves status.json to the newer upload's job.
func TestSupersededJobPublishesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffmpeg")
	}
	h, env := newHandler(t)
	key := t.Name() + "/clip.mp4"
	id := catalog.VideoID(key)
	old := publishVersion(t, h, env.Store, key, testClip(t, 3, 320, 180))
	upload(t, env.Store, key, testClip(t, 6, 320, 180))
	info, err := env.Store.Head(context.Background(), testenv.BucketUploads, key)
	if err != nil {
		t.Fatal(err)
	}
	var b catalog.Source
	b.Bucket, b.Key, b.Size, b.ETag = testenv.BucketUploads, key, info.Size, strings.Trim(info.ETag, `"`)
	st := *old.status
	next := st.Source // the type status.json holds
	next.Size, next.ETag = b.Size, b.ETag
	st.Replacement = catalog.NewReplacement(next)
	// The upload changes again before this job publishes.
	upload(t, env.Store, key, testClip(t, 4, 320, 180))
	j := &job{Pipeline: h, id: id, src: b, st: &st, replacing: true, log: h.log}
	res, err := j.transcode(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := j.publishMaster(context.Background(), res); !errors.Is(err, errSuperseded) {
		t.Fatalf("publishing an overwritten upload: %v, want errSuperseded", err)
	}
	if err := j.abandon(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkStillPlays(t, env.Store, old)
	if got := listKeys(t, env.Store, id); !slices.Equal(got, old.keys) {
		t.Errorf("a superseded job left files:\n got %v\nwant %v", got, old.keys)
	}
}

// TestChunkedReplacement: a replacement encoded in chunks publishes no
// early EVENT master over the ready video: while its third chunk is held
// (the first two and the audio are in, which for a first upload publishes
// the master), the old version plays untouched. Released, the new version
// replaces it whole. A chunked replacement that fails leaves the version
// playing and none of its chunks' segments.
func TestChunkedReplacement(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffmpeg")
	}
	h, env := newHandler(t)
	// The real Worker in this process, after hold (if set) lets the
	// request through.
	enc := NewWorker(Config{TmpDir: t.TempDir()}, Deps{Store: env.Store, Log: h.log})
	var mu sync.Mutex
	var hold func(ctx context.Context, r chunk.Request) error
	h.chunks = chunkFunc(func(ctx context.Context, r chunk.Request) (*chunk.Response, error) {
		mu.Lock()
		f := hold
		mu.Unlock()
		if f != nil {
			if err := f(ctx, r); err != nil {
				return nil, err
			}
		}
		return enc.EncodeChunk(ctx, r)
	})
	setHold := func(f func(ctx context.Context, r chunk.Request) error) {
		mu.Lock()
		defer mu.Unlock()
		hold = f
	}
	// Chunks of one 4 s segment, one job at a time: the third chunk starts
	// only once the audio and the first two chunks are in and published.
	h.cfg.ChunkSeconds, h.cfg.Parallelism, h.cfg.ChunkAttempts, h.cfg.RetryWait = 4, 1, 1, time.Millisecond
	h.cfg.RetireAfter = 0 // at once
	key := t.Name() + "/long.mp4"
	id := catalog.VideoID(key)
	old := publishVersion(t, h, env.Store, key, testClip(t, 3, 320, 180)) // too short to chunk

	held, release := make(chan struct{}), make(chan struct{})
	setHold(func(ctx context.Context, r chunk.Request) error {
		if r.Kind == chunk.KindVideo && r.Chunk.Index == 2 {
			close(held)
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return nil
	})
	upload(t, env.Store, key, testClip(t, 16, 320, 180))
	done, finished := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(finished)
		done <- h.Handle(context.Background(), putEvent(t, key))
	}()
	// The handler logs through t: a failing check waits for it to end.
	t.Cleanup(func() { <-finished })
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("handler returned (%v) before the third chunk was asked for", err)
	case <-time.After(3 * time.Minute):
		t.Fatal("the third chunk was never asked for")
	}
	s := checkStillPlays(t, env.Store, old)
	if r := s.Replacement; r == nil || r.State != catalog.StateProcessing || r.Progress <= 0 {
		t.Errorf("replacement while chunks are encoded: %+v, want processing with progress", r)
	} else {
		// The leading chunks are in the bucket, under the new revision.
		seg := catalog.Prefix(id) + "180p/seg_" + r.Revision + "_00001.ts"
		if _, err := env.Store.Head(context.Background(), testenv.BucketMedia, seg); err != nil {
			t.Errorf("the second chunk's segment %s: %v", seg, err)
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	setHold(nil)
	now := currentVersion(t, env.Store, id)
	if now.status.Replacement != nil || now.status.Source.Revision() == old.status.Source.Revision() || now.status.Duration < 15 {
		t.Fatalf("after the chunked replacement: %+v", now.status)
	}
	m, err := hls.ParseMaster(now.master)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range m.Variants {
		if catalog.RevisionOf(v.URI) != now.status.Source.Revision() {
			t.Errorf("master lists %s, not the new revision's playlist", v.URI)
		}
		if p := parseBucketPlaylist(t, env.Store, catalog.Prefix(id)+v.URI); p.Type != hls.TypeVOD || !p.EndList {
			t.Errorf("%s: type %q endlist %v, want VOD", v.URI, p.Type, p.EndList)
		}
	}
	for _, k := range now.keys {
		if rev := catalog.RevisionOf(k); rev != "" && rev != now.status.Source.Revision() {
			t.Errorf("%s of the replaced version is still there (RetireAfter is at once)", k)
		}
	}

	// A chunked replacement that fails: the second chunk always does.
	setHold(func(_ context.Context, r chunk.Request) error {
		if r.Kind == chunk.KindVideo && r.Chunk.Index == 1 {
			return errors.New("injected: the encode function crashed")
		}
		return nil
	})
	upload(t, env.Store, key, testClip(t, 13, 320, 180))
	if err := h.Handle(context.Background(), putEvent(t, key)); err != nil {
		t.Fatal(err)
	}
	s = checkStillPlays(t, env.Store, now)
	if r := s.Replacement; r == nil || r.State != catalog.StateFailed || !strings.Contains(r.Error, "chunk 1") {
		t.Errorf("replacement %+v, want failed naming chunk 1", r)
	}
	if got := listKeys(t, env.Store, id); !slices.Equal(got, now.keys) {
		t.Errorf("the failed chunked replacement left files:\n got %v\nwant %v", got, now.keys)
	}
}

func parseBucketPlaylist(t *testing.T, st *store.Store, key string) *hls.MediaPlaylist {
	t.Helper()
	b, err := st.GetBytes(context.Background(), testenv.BucketMedia, key)
	if err != nil {
		t.Fatal(err)
	}
	p, err := hls.ParseMedia(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
