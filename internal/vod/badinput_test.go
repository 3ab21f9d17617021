package vod

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// leakListener counts requests made to it: an upload that names it must
// never make ffmpeg or ffprobe connect.
func leakListener(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "video/mp2t")
		w.Write(make([]byte, 188))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String(), &hits
}

// ffmpegFile makes a small file with ffmpeg.
func ffmpegFile(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("ffmpeg", append(append([]string{"-v", "error"}, args...), out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v %s", name, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBadInput: every unusable upload ends as a failed status with a
// sentence for people, no master, no outputs, no ffmpeg left and nothing
// in /tmp, and the handler returns nil so Lambda does not retry.
func TestBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffmpeg")
	}
	leakURL, hits := leakListener(t)
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 64<<10)
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	src01, err := os.ReadFile(testenv.Media(t, "01_bbb_720p_h264_aac51.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	// The same clip with its index first, cut in the middle: it probes
	// fine and then runs out of data while encoding.
	faststart := ffmpegFile(t, "fast.mp4", "-i", testenv.Media(t, "01_bbb_720p_h264_aac51.mp4"), "-c", "copy", "-movflags", "+faststart")

	tests := []struct {
		name, key string
		data      func(t *testing.T) []byte
		limits    func(h *Pipeline)
		wantErr   string // in status.json's error
	}{
		{name: "zero bytes", key: "empty.mp4", data: func(*testing.T) []byte { return nil }, wantErr: "the file is empty"},
		{name: "random bytes", key: "noise.mp4", data: func(*testing.T) []byte { return random }, wantErr: "not a video or audio file"},
		{name: "truncated mp4, index at the end", key: "cut.mp4", data: func(*testing.T) []byte { return src01[:len(src01)/2] }, wantErr: "incomplete or damaged"},
		{name: "truncated mp4, index first", key: "cut-fast.mp4", data: func(*testing.T) []byte { return faststart[:len(faststart)/2] }, wantErr: "damaged or incomplete"},
		{name: "png image", key: "photo.mp4", data: func(t *testing.T) []byte {
			return ffmpegFile(t, "p.png", "-f", "lavfi", "-i", "color=c=red:s=64x64", "-frames:v", "1")
		}, wantErr: "image"},
		{name: "jpeg image", key: "photo.jpg", data: func(t *testing.T) []byte {
			return ffmpegFile(t, "p.jpg", "-f", "lavfi", "-i", "testsrc2=s=64x64", "-frames:v", "1")
		}, wantErr: "image"},
		{name: "text file", key: "notes.mp4", data: func(*testing.T) []byte {
			return []byte("Meeting notes\nbring the camera\n")
		}, wantErr: "not a video"},
		{name: "hls playlist naming a url", key: "playlist.mp4", data: func(*testing.T) []byte {
			return []byte("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n" + leakURL + "/leak.ts\n#EXT-X-ENDLIST\n")
		}, wantErr: "playlist"},
		{name: "concat list naming a local file", key: "list.mp4", data: func(*testing.T) []byte {
			return []byte("ffconcat version 1.0\nfile '" + testenv.Media(t, "01_bbb_720p_h264_aac51.mp4") + "'\nfile '" + leakURL + "/leak.ts'\n")
		}, wantErr: "refers to other files"},
		{name: "absurd dimensions", key: "wide.mp4", data: func(t *testing.T) []byte {
			return ffmpegFile(t, "w.mp4", "-f", "lavfi", "-i", "color=s=8192x32:d=1:r=5", "-c:v", "libx264", "-preset", "ultrafast")
		}, wantErr: "larger than"},
		{name: "longer than the limit", key: "long.mp4", data: func(*testing.T) []byte { return src01 },
			limits: func(h *Pipeline) { h.cfg.Limits.MaxDuration = 2 * time.Second }, wantErr: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, env := newHandler(t)
			if tt.limits != nil {
				tt.limits(h)
			}
			key := t.Name() + "/" + tt.key
			upload(t, env.Store, key, tt.data(t))
			if err := h.Handle(context.Background(), putEvent(t, key)); err != nil {
				t.Fatalf("Handle returned %v, want nil (a bad file is final, not retried)", err)
			}
			checkFailed(t, h, env.Store, catalog.VideoID(key), tt.wantErr)
		})
	}
	if n := hits.Load(); n > 0 {
		t.Errorf("a URL named inside an upload was fetched %d times", n)
	}
}

// checkFailed verifies the state a failed job must leave.
func checkFailed(t *testing.T, h *Pipeline, st *store.Store, id, wantErr string) {
	t.Helper()
	s := readStatus(t, st, id)
	if s.State != catalog.StateFailed || !strings.Contains(s.Error, wantErr) {
		t.Errorf("status %s %q, want failed with %q", s.State, s.Error, wantErr)
	}
	if strings.Contains(s.Error, "X-Amz-") || strings.Contains(s.Error, "http") {
		t.Errorf("error %q leaks a URL", s.Error)
	}
	if s.Playback != "" || len(s.Renditions) > 0 {
		t.Errorf("failed status names playback %q renditions %v", s.Playback, s.Renditions)
	}
	if keys := listKeys(t, st, id); len(keys) != 1 || keys[0] != catalog.StatusKey(id) {
		t.Errorf("failed video left %v, want only its status.json", keys)
	}
	noChildren(t)
	emptyDir(t, h.cfg.TmpDir)
	t.Logf("error for people: %s", s.Error)
}

// TestDeadlineStopsFFmpeg: a job that cannot finish before the
// invocation's deadline stops ffmpeg in time to record why.
func TestDeadlineStopsFFmpeg(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffmpeg")
	}
	h, env := newHandler(t)
	h.cfg.Preset = "medium" // slow enough that 70 s of video cannot finish
	h.cfg.Margin = 4 * time.Second
	key := t.Name() + "/tears.webm"
	uploadFile(t, env.Store, key, testenv.Media(t, "08_tears_of_steel_vp8_vorbis.webm"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.cfg.ProgressEvery = 500 * time.Millisecond
	// Watch status.json while it runs: progress must be published.
	stopWatch, seen := make(chan struct{}), make(chan float64)
	go func() {
		var best float64
		for {
			select {
			case <-stopWatch:
				seen <- best
				return
			case <-time.After(200 * time.Millisecond):
			}
			if s, err := catalog.Read(context.Background(), env.Store, testenv.BucketMedia, catalog.VideoID(key)); err == nil && s.State == catalog.StateProcessing {
				best = max(best, s.Progress)
			}
		}
	}()
	err := h.Handle(ctx, putEvent(t, key))
	close(stopWatch)
	if err != nil {
		t.Fatalf("Handle: %v, want nil (a timeout is final)", err)
	}
	if p := <-seen; p <= 0 || p >= 1 {
		t.Errorf("progress seen while encoding: %v, want between 0 and 1", p)
	}
	checkFailed(t, h, env.Store, catalog.VideoID(key), "timed out")
}

// TestStoreDownIsRetried: when S3 cannot be reached the fault is not the
// file's, so the handler returns an error and Lambda retries the event.
func TestStoreDownIsRetried(t *testing.T) {
	env := testenv.S3(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	cfg := env.Config()
	cfg.BaseEndpoint = &dead
	h, err := New(Config{MediaBucket: testenv.BucketMedia, UploadsBucket: testenv.BucketUploads, TmpDir: t.TempDir()}, Deps{Store: store.New(cfg)})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Handle(context.Background(), putEvent(t, "x.mp4")); err == nil {
		t.Fatal("Handle returned nil with S3 unreachable, want an error so the event is retried")
	} else {
		t.Log(err)
	}
	emptyDir(t, h.cfg.TmpDir)
}

// TestIdempotent: the same event twice, and a retry after a crash that
// left stale objects, give exactly the same complete output.
func TestIdempotent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffmpeg")
	}
	h, env := newHandler(t)
	ctx := context.Background()
	key := t.Name() + "/clip (2).mp4"
	id := catalog.VideoID(key)
	src := cutSource(t, testenv.Media(t, "02_flower_960x540_h264_aac.mp4"), 2.5)
	uploadFile(t, env.Store, key, src)
	ev := putEvent(t, key)

	if err := h.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	first := listKeys(t, env.Store, id)
	done := readStatus(t, env.Store, id)

	// Delivered again: recognised as done, nothing rewritten.
	if err := h.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if again := listKeys(t, env.Store, id); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("second delivery changed the keys:\n%v\n%v", first, again)
	}
	if s := readStatus(t, env.Store, id); !s.Updated.Equal(done.Updated) {
		t.Errorf("second delivery rewrote status.json")
	}

	// A crash mid-way: status processing, stale objects of another ladder.
	for _, k := range []string{"1080p/seg_00000.ts", "1080p/index.m3u8", "480p/seg_00099.ts"} {
		if err := env.Store.PutBytes(ctx, testenv.BucketMedia, catalog.Prefix(id)+k, []byte("stale"), store.For(k)); err != nil {
			t.Fatal(err)
		}
	}
	crashed := *done
	crashed.State, crashed.Progress = catalog.StateProcessing, 0.4
	if err := catalog.Write(ctx, env.Store, testenv.BucketMedia, &crashed); err != nil {
		t.Fatal(err)
	}
	if err := h.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if retried := listKeys(t, env.Store, id); fmt.Sprint(retried) != fmt.Sprint(first) {
		t.Errorf("retry after a crash left a different key set:\n%v\n%v", first, retried)
	}
	checkOutput(t, env.Store, id, key, src, true, true, false)

	// A new upload under the same key is a new video, not a duplicate.
	uploadFile(t, env.Store, key, cutSource(t, testenv.Media(t, "02_flower_960x540_h264_aac.mp4"), 1.5))
	if err := h.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if s := readStatus(t, env.Store, id); s.Source.ETag == done.Source.ETag || s.State != catalog.StateReady || s.Duration > 2 {
		t.Errorf("re-upload not re-processed: %+v", s)
	}
	// Only status.json, the master and the stable per-rendition index.m3u8
	// keep their names: every segment, playlist the master lists and
	// poster of the new upload has a new URL, so no cache can hand out the
	// old video's files as the new one's, and the old files are gone.
	for _, k := range listKeys(t, env.Store, id) {
		if slices.Contains(first, k) && k != catalog.StatusKey(id) && k != catalog.MasterKey(id) && path.Base(k) != "index.m3u8" {
			t.Errorf("%s has the same name for both uploads", k)
		}
	}
}

// TestMissingFFmpegIsRetried: an ffmpeg that cannot be started (a layer
// without it, a wrong path) is the deployment's fault, not the file's:
// the event is retried and status.json blames nothing on the upload.
func TestMissingFFmpegIsRetried(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffprobe")
	}
	h, env := newHandler(t)
	h.cfg.FFmpeg = filepath.Join(t.TempDir(), "no-ffmpeg")
	key := t.Name() + "/clip.mp4"
	uploadFile(t, env.Store, key, cutSource(t, testenv.Media(t, "02_flower_960x540_h264_aac.mp4"), 1))
	err := h.Handle(context.Background(), putEvent(t, key))
	if err == nil {
		t.Fatal("Handle returned nil with no ffmpeg, want an error so the event is retried")
	}
	if msg := userMessage(err); msg != "" {
		t.Errorf("the upload is blamed: %q (error %v)", msg, err)
	}
	s, err := catalog.Read(context.Background(), env.Store, testenv.BucketMedia, catalog.VideoID(key))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Error, "will be retried") || strings.Contains(s.Error, "damaged") {
		t.Errorf("status.json error %q, want a temporary failure that is retried", s.Error)
	}
}
