package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
)

// upload puts a local file into the uploads bucket through the S3 API, as
// any client would, and returns the video id the pipeline will use.
func upload(t *testing.T, file, key string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := sys.Store().PutFile(ctx, sys.UploadsBucket, key, file, store.Object{ContentType: "application/octet-stream"}); err != nil {
		t.Fatalf("upload %s: %v", key, err)
	}
	t.Cleanup(func() { cleanupVideo(key) })
	return catalog.VideoID(key)
}

// cleanupVideo removes what a test created on a shared (external) target.
func cleanupVideo(key string) {
	if sys.Local != nil {
		return // the whole data dir goes away with the run
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := sys.Store()
	_ = s.DeleteKeys(ctx, sys.UploadsBucket, []string{key})
	if keys, err := s.List(ctx, sys.MediaBucket, catalog.Prefix(catalog.VideoID(key))); err == nil {
		_ = s.DeleteKeys(ctx, sys.MediaBucket, keys)
	}
}

// waitDone polls status.json until the video is ready or failed.
func waitDone(t *testing.T, id string, timeout time.Duration) *catalog.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s := sys.Store()
	var last *catalog.Status
	for {
		st, err := catalog.Read(ctx, s, sys.MediaBucket, id)
		if err == nil {
			last = st
			if st.State == catalog.StateReady || st.State == catalog.StateFailed {
				return st
			}
		} else if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			t.Logf("read status of %s: %v", id, err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("video %s not done after %s; last status: %+v", id, timeout, last)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// edgeGet fetches a path (or absolute URL) through the edge.
func edgeGet(t *testing.T, method, p string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	u := p
	if !strings.Contains(p, "://") {
		u = sys.EdgeURL + "/" + strings.TrimPrefix(p, "/")
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", u, err)
	}
	return resp, b
}

// resolve joins a playlist-relative URI onto the playlist's path.
func resolve(playlistPath, uri string) string {
	return path.Join(path.Dir(playlistPath), uri)
}

// decodeDuration decodes url to its end with ffmpeg and returns the
// duration of what was decoded, failing on any decode error.
func decodeDuration(t *testing.T, url string) float64 {
	t.Helper()
	cmd := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", url, err, out)
	}
	dec := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", url, "-f", "null", "-")
	if out, err := dec.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("decode %s: err=%v output:\n%s", url, err, out)
	}
	var d float64
	if _, err := fmt.Sscan(strings.TrimSpace(string(out)), &d); err != nil {
		t.Fatalf("ffprobe duration of %s: %q", url, out)
	}
	return d
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := t.TempDir() + "/" + name
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
