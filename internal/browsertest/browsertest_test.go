package browsertest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/edge"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// makeStream encodes a 6 s test pattern with a tone into two renditions
// (270p and 180p) of 2 s MPEG-TS segments, with a master playlist.
func makeStream(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "lavfi", "-i", "testsrc2=size=480x270:rate=25:duration=6",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=6",
		"-filter_complex", "[0:v]split=2[a][b];[b]scale=320:180[b2]",
		"-map", "[a]", "-map", "[b2]", "-map", "1:a", "-map", "1:a",
		"-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p",
		"-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
		"-b:v:0", "500k", "-b:v:1", "250k", "-c:a", "aac", "-b:a", "64k", "-ac", "2",
		"-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
		"-hls_segment_filename", filepath.Join(dir, "%v", "seg_%03d.ts"),
		"-master_pl_name", "master.m3u8",
		"-var_stream_map", "v:0,a:0,name:270p v:1,a:1,name:180p",
		filepath.Join(dir, "%v", "index.m3u8"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	return dir
}

// upload copies the files of dir for which keep is true to the media bucket
// under prefix.
func upload(t *testing.T, st *store.Store, dir, prefix string, keep func(name string) bool) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !keep(d.Name()) {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		return st.PutFile(context.Background(), "media", prefix+filepath.ToSlash(rel), path, store.For(d.Name()))
	})
	if err != nil {
		t.Fatalf("upload %s: %v", dir, err)
	}
}

func startEdge(t *testing.T, cfg edge.Config) string {
	t.Helper()
	cfg.Store = testenv.S3(t).Store
	e, err := edge.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL
}

// fastFail makes hls.js give up on a failed load at once instead of after
// its default retries, so failing cases end in seconds.
var fastFail = map[string]any{
	"manifestLoadPolicy": noRetry,
	"playlistLoadPolicy": noRetry,
	"fragLoadPolicy":     noRetry,
}

var noRetry = map[string]any{"default": map[string]any{
	"maxTimeToFirstByteMs": 10000, "maxLoadTimeMs": 20000,
	"timeoutRetry": map[string]any{"maxNumRetry": 0, "retryDelayMs": 0, "maxRetryDelayMs": 0},
	"errorRetry":   map[string]any{"maxNumRetry": 0, "retryDelayMs": 0, "maxRetryDelayMs": 0},
}}

func TestPlay(t *testing.T) {
	stream := makeStream(t)
	st := testenv.S3(t).Store
	all := func(string) bool { return true }
	playlists := func(name string) bool { return strings.HasSuffix(name, ".m3u8") }

	cases := []struct {
		name    string
		files   func(string) bool // which files are uploaded
		allow   []string          // edge's AllowOrigins
		opts    Options
		wantErr error
		check   func(t *testing.T, res Result)
	}{
		{
			name: "plays through the edge", files: all,
			check: func(t *testing.T, res Result) {
				if res.CurrentTime < 4 {
					t.Errorf("currentTime %.2f, want >= 4", res.CurrentTime)
				}
				if h := res.Heights(); !slices.Contains(h, 180) || !slices.Contains(h, 270) {
					t.Errorf("level heights %v, want 180 and 270", h)
				}
				if len(res.Played) == 0 {
					t.Error("no level was played")
				}
				if res.Version != "1.7.4" {
					t.Errorf("hls.js version %q, want 1.7.4", res.Version)
				}
			},
		},
		{
			name: "missing segments fail", files: playlists, wantErr: ErrFatal,
			opts: Options{HlsConfig: fastFail, Timeout: 40e9},
			check: func(t *testing.T, res Result) {
				found := false
				for _, e := range res.Errors {
					found = found || (e.Details == "fragLoadError" && e.Code == 404)
				}
				if !found {
					t.Errorf("no fragLoadError with HTTP 404 among %+v", res.Errors)
				}
				if res.Screenshot == "" {
					t.Error("no screenshot saved for a failed playback")
				} else if _, err := os.Stat(res.Screenshot); err != nil {
					t.Errorf("screenshot: %v", err)
				}
			},
		},
		{
			name: "other origin refused by CORS", files: all, allow: []string{"http://elsewhere.test"},
			wantErr: ErrFatal, opts: Options{HlsConfig: fastFail, Timeout: 40e9},
			check: func(t *testing.T, res Result) {
				if res.CurrentTime > 0 {
					t.Errorf("played %.2fs without CORS", res.CurrentTime)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prefix := fmt.Sprintf("vod/bt-%x/", rand.Uint64())
			upload(t, st, stream, prefix, c.files)
			url := startEdge(t, edge.Config{AllowOrigins: c.allow}) + "/" + prefix + "master.m3u8"
			if c.opts.Artifacts == "" {
				c.opts.Artifacts = t.TempDir()
			}
			res, err := Play(t, url, c.opts)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("Play error %v, want %v; result %+v", err, c.wantErr, res)
			}
			c.check(t, res)
		})
	}
}
