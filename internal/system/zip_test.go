package system_test

import (
	"archive/zip"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/system"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// zipConfig is config with the functions from their zips, from what
// `make test-lambda-zip` built (it sets these variables); the test skips
// without them, as in the plain `go test ./...` pass of `make test`.
func zipConfig(t *testing.T) (system.Config, *syncBuffer) {
	t.Helper()
	rie, dir, layer := os.Getenv("HLSFLOW_RIE"), os.Getenv("HLSFLOW_FUNCTIONS_DIR"), os.Getenv("HLSFLOW_LAYER_ZIP")
	if rie == "" || dir == "" || layer == "" {
		t.Skip("HLSFLOW_RIE, HLSFLOW_FUNCTIONS_DIR and HLSFLOW_LAYER_ZIP are not set: `make test-lambda-zip` runs this test")
	}
	cfg := config(t)
	cfg.Zip = &system.Zip{Dir: dir, Layers: []string{layer}, RIE: rie, StreamKeySecret: streamSecret}
	logs := &syncBuffer{}
	cfg.Log = slog.New(slog.NewTextHandler(logs, nil))
	return cfg, logs
}

// A layer without ffmpeg fails the upload, and says why: the function
// finds no /opt/bin/ffmpeg, though this machine has one on its PATH.
func TestZipLayerWithoutFFmpegFails(t *testing.T) {
	cfg, logs := zipConfig(t)
	broken := filepath.Join(t.TempDir(), "no-ffmpeg.zip")
	copyZipWithout(t, cfg.Zip.Layers[0], broken, "bin/ffmpeg")
	cfg.Zip.Layers = []string{broken}
	sys := start(t, cfg)
	defer sys.Close(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	key := "system/no-ffmpeg.mp4"
	if err := sys.Store().PutFile(ctx, cfg.UploadsBucket, key, testenv.Media(t, "02_flower_960x540_h264_aac.mp4"), store.Object{ContentType: "video/mp4"}); err != nil {
		t.Fatal(err)
	}
	// The transcoder gives up at once or after its retries (then the event
	// is dead-lettered); either way the video ends failed.
	deadLetters := filepath.Join(cfg.DataDir, "dead-letter")
	for {
		st, err := catalog.Read(ctx, sys.Store(), cfg.MediaBucket, catalog.VideoID(key))
		entries, _ := os.ReadDir(deadLetters)
		if err == nil && st.State == catalog.StateFailed && (len(entries) > 0 || !strings.Contains(st.Error, "retried")) {
			break
		}
		if err == nil && st.State == catalog.StateReady {
			t.Fatal("ready without ffmpeg in the layer: the function found another ffmpeg")
		}
		if ctx.Err() != nil {
			t.Fatalf("no final failure after the upload: %+v %v; log:\n%s", st, err, logs)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if log := logs.String(); !strings.Contains(log, "/opt/bin/ffmpeg: no such file or directory") {
		t.Errorf("the log does not say ffmpeg is missing from /opt/bin:\n%s", log)
	}
}

// The zips as built transcode an upload to a ready video.
func TestZipFunctionsTranscode(t *testing.T) {
	cfg, logs := zipConfig(t)
	sys := start(t, cfg)
	defer sys.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	key := "system/zip.mp4"
	if err := sys.Store().PutFile(ctx, cfg.UploadsBucket, key, testenv.Media(t, "02_flower_960x540_h264_aac.mp4"), store.Object{ContentType: "video/mp4"}); err != nil {
		t.Fatal(err)
	}
	for {
		st, err := catalog.Read(ctx, sys.Store(), cfg.MediaBucket, catalog.VideoID(key))
		if err == nil && st.State == catalog.StateReady {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no ready status.json: %v %+v; log:\n%s", err, st, logs)
		}
		time.Sleep(300 * time.Millisecond)
	}
	// The API from its zip reads its token from the local Secrets Manager.
	edge := "http://" + cfg.EdgeAddr
	if code, _ := get(t, edge+"/api/videos"); code != http.StatusUnauthorized {
		t.Errorf("library without the token: %d, want 401", code)
	}
	if code, body := get(t, edge+"/api/videos", "Authorization", "Bearer "+token); code != 200 || !strings.Contains(body, catalog.VideoID(key)) {
		t.Errorf("library with the token: %d %s", code, body)
	}
	// They ran under the emulator: its report lines are the functions' log.
	log := logs.String()
	for _, fn := range []string{"transcode", "api"} {
		if !strings.Contains(log, "REPORT RequestId") || !strings.Contains(log, "function="+fn) {
			t.Errorf("no emulator report for %s in the log:\n%s", fn, log)
		}
	}
}

func copyZipWithout(t *testing.T, src, dst, drop string) {
	t.Helper()
	r, err := zip.OpenReader(src)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := zip.NewWriter(out)
	for _, f := range r.File {
		if f.Name == drop {
			continue
		}
		if err := w.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
