package system_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/testenv"
)

func mediaDir(t *testing.T) string {
	return filepath.Dir(testenv.Media(t, "02_flower_960x540_h264_aac.mp4"))
}

// TestUploadFromURL: a clip served on an allowed loopback address becomes
// ready through POST /api/uploads {"url"}, fetched by the fetch function
// through the Invoke API; sources that lead elsewhere fail with the reason,
// and nothing reaches them.
func TestUploadFromURL(t *testing.T) {
	cfg := config(t)
	cfg.FetchAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	sys := start(t, cfg)
	t.Cleanup(func() { _ = sys.Close(context.Background()) })
	edge := "http://" + cfg.EdgeAddr

	clip := http.FileServer(http.Dir(mediaDir(t)))
	src := httptest.NewServer(clip)
	t.Cleanup(src.Close)
	// ::1 is loopback but not in the allow list.
	v6, accepts := countAccepts(t)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ready := post(t, edge, src.URL+"/02_flower_960x540_h264_aac.mp4")
	refused := map[string]string{
		post(t, edge, "http://169.254.169.254/latest/meta-data/"):  "source URL refused: it names a link-local address (the cloud metadata endpoint among them)",
		post(t, edge, "http://10.0.0.1/clip.mp4"):                  "source URL refused: it names a private address",
		post(t, edge, fmt.Sprintf("http://[::1]:%d/clip.mp4", v6)): "source URL refused: it names a loopback address",
		post(t, edge, src.URL+"/missing.mp4"):                      "source answered with an error: 404 Not Found",
	}
	for id, want := range refused {
		v := waitState(ctx, t, edge, id, "failed")
		if v.Error != want {
			t.Errorf("%s: error %q, want %q", id, v.Error, want)
		}
	}
	v := waitState(ctx, t, edge, ready, "ready")
	if v.PlaybackURL == "" || len(v.Renditions) == 0 {
		t.Errorf("ready video %+v", v)
	}
	if code, body := get(t, v.PlaybackURL); code != 200 || !strings.HasPrefix(body, "#EXTM3U") {
		t.Errorf("master: %d %.80q", code, body)
	}
	// status.json is public: it never repeats the source URL.
	if _, body := get(t, edge+"/vod/"+ready+"/status.json"); strings.Contains(body, "127.0.0.1") || strings.Contains(body, "http") {
		t.Errorf("status.json tells the source: %s", body)
	}
	if n := accepts.Load(); n != 0 {
		t.Errorf("%d connections reached [::1]", n)
	}
}

type video struct {
	State       string `json:"state"`
	Error       string `json:"error"`
	PlaybackURL string `json:"playbackUrl"`
	Renditions  []any  `json:"renditions"`
}

// post asks for an upload from u and returns the video's id.
func post(t *testing.T, edge, u string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", edge+"/api/uploads", strings.NewReader(`{"url":"`+u+`"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusAccepted || out.ID == "" {
		t.Fatalf("POST %s: %d %+v %v", u, resp.StatusCode, out, err)
	}
	return out.ID
}

// waitState polls the API until the video is in state (or failed).
func waitState(ctx context.Context, t *testing.T, edge, id, state string) video {
	t.Helper()
	seen := map[string]bool{}
	for {
		code, body := get(t, edge+"/api/videos/"+id, "Authorization", "Bearer "+token)
		var v video
		if code == 200 && json.Unmarshal([]byte(body), &v) == nil {
			seen[v.State] = true
			if v.State == state || v.State == "failed" {
				if v.State != state {
					t.Fatalf("%s: %s: %s", id, v.State, v.Error)
				}
				// From the answer on, the video was never unknown or "uploading".
				if seen["uploading"] || seen[""] {
					t.Errorf("%s went through %v", id, seen)
				}
				return v
			}
		} else if code != 200 {
			t.Fatalf("GET video %s: %d %s", id, code, body)
		}
		if ctx.Err() != nil {
			t.Fatalf("%s: still %s", id, v.State)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// countAccepts listens on [::1] and counts connections.
func countAccepts(t *testing.T) (int, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, &n
}

// The fetch function from its zip, started by the API from its zip, as
// deployed: a clip becomes ready, a refused source fails with the reason.
func TestZipUploadFromURL(t *testing.T) {
	cfg, logs := zipConfig(t)
	cfg.FetchAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	sys := start(t, cfg)
	defer sys.Close(context.Background())
	edge := "http://" + cfg.EdgeAddr
	src := httptest.NewServer(http.FileServer(http.Dir(mediaDir(t))))
	defer src.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ready := post(t, edge, src.URL+"/02_flower_960x540_h264_aac.mp4")
	refused := post(t, edge, "http://169.254.169.254/latest/meta-data/")
	if v := waitState(ctx, t, edge, refused, "failed"); !strings.HasPrefix(v.Error, "source URL refused: it names a link-local address") {
		t.Errorf("refused source: %q", v.Error)
	}
	waitState(ctx, t, edge, ready, "ready")
	if log := logs.String(); !strings.Contains(log, "function=fetch") || !strings.Contains(log, "REPORT RequestId") {
		t.Errorf("no emulator report for fetch in the log:\n%s", log)
	}
}
