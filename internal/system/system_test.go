package system_test

// The local S3 is one per process (versitygw keeps package globals): these
// tests start systems one after the other, never in parallel.

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/api"
	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/live/keys"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/system"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

const (
	token        = "system-test-token-0123456789"
	streamSecret = "system-test-secret-0123456789"
)

// config is a system on free loopback ports with a throwaway data dir.
func config(t testing.TB) system.Config {
	t.Helper()
	signer, err := keys.New([]byte(streamSecret))
	if err != nil {
		t.Fatal(err)
	}
	return system.Config{
		DataDir: t.TempDir(),
		S3Addr:  testenv.FreeAddr(t), EdgeAddr: testenv.FreeAddr(t), RTMPAddr: testenv.FreeAddr(t),
		UploadsBucket: "uploads", MediaBucket: "media",
		AccessKey: "test", SecretKey: "test", Keys: signer,
		Getenv: func(k string) string { return map[string]string{"X264_PRESET": "ultrafast"}[k] },
		API:    api.Config{Token: token},
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func start(t testing.TB, cfg system.Config) *system.System {
	t.Helper()
	sys, err := system.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return sys
}

func get(t testing.TB, url string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// free reports whether addr can be listened on (nothing holds it).
func free(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// TestSystem: one Start brings up every part wired to the others (an
// upload to S3 is transcoded through the bucket's notification and
// played through the edge; the page and the API answer on the edge; the
// RTMP ingest listens), and Close stops them all and frees their ports.
func TestSystem(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	cfg := config(t)
	emf := &syncBuffer{}
	cfg.EMF = emf
	sys := start(t, cfg)
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = sys.Close(context.Background())
		}
	})
	edge := "http://" + cfg.EdgeAddr

	if code, body := get(t, edge+"/"); code != 200 || !strings.Contains(body, "<html") {
		t.Errorf("page: %d %.80q", code, body)
	}
	if code, _ := get(t, edge+"/api/videos"); code != http.StatusUnauthorized {
		t.Errorf("library without the token: %d, want 401", code)
	}
	if code, body := get(t, edge+"/api/videos", "Authorization", "Bearer "+token); code != 200 || !strings.Contains(body, `"videos"`) {
		t.Errorf("library with the token: %d %s", code, body)
	}
	if c, err := net.Dial("tcp", cfg.RTMPAddr); err != nil {
		t.Errorf("RTMP ingest: %v", err)
	} else {
		c.Close()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	key := "system/clip.mp4"
	if err := sys.Store().PutFile(ctx, cfg.UploadsBucket, key, testenv.Media(t, "02_flower_960x540_h264_aac.mp4"), store.Object{ContentType: "video/mp4"}); err != nil {
		t.Fatal(err)
	}
	id := catalog.VideoID(key)
	for {
		st, err := catalog.Read(ctx, sys.Store(), cfg.MediaBucket, id)
		if err == nil && st.State == catalog.StateFailed {
			t.Fatalf("transcode failed: %s", st.Error)
		}
		if err == nil && st.State == catalog.StateReady {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no ready status.json after the upload: %v %+v", err, st)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if code, body := get(t, edge+"/"+catalog.MasterKey(id)); code != 200 || !strings.HasPrefix(body, "#EXTM3U") {
		t.Errorf("master through the edge: %d %.80q", code, body)
	}
	st, err := catalog.Read(ctx, sys.Store(), cfg.MediaBucket, id)
	if err != nil {
		t.Fatal(err)
	}
	checkMetrics(t, edge, emf.String(), st)

	closed = true
	if err := sys.Close(context.Background()); err != nil {
		t.Errorf("close: %v", err)
	}
	for name, addr := range map[string]string{"S3": cfg.S3Addr, "edge": cfg.EdgeAddr, "RTMP": cfg.RTMPAddr} {
		if !free(addr) {
			t.Errorf("%s port %s still held after Close", name, addr)
		}
	}
	if now, _ := os.Getwd(); now != wd {
		t.Errorf("working directory %s after Close, want %s back", now, wd)
	}
}

// TestStartFailureStopsWhatStarted: a busy port fails Start with one
// line naming it, and every part started before is stopped again.
func TestStartFailureStopsWhatStarted(t *testing.T) {
	t.Run("edge port busy", func(t *testing.T) {
		cfg := config(t)
		ln, err := net.Listen("tcp", cfg.EdgeAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		sys, err := system.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = sys.Start(context.Background())
		if want := "listen " + cfg.EdgeAddr + ": address already in use"; err == nil || err.Error() != want {
			t.Fatalf("Start: %v, want %q", err, want)
		}
		if !free(cfg.S3Addr) {
			t.Errorf("S3 port held after the failed Start")
		}
	})
	t.Run("RTMP port busy", func(t *testing.T) {
		cfg := config(t)
		ln, err := net.Listen("tcp", cfg.RTMPAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		sys, err := system.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := sys.Start(context.Background()); err == nil || !strings.Contains(err.Error(), cfg.RTMPAddr) {
			t.Fatalf("Start: %v, want an error naming %s", err, cfg.RTMPAddr)
		}
		for name, addr := range map[string]string{"S3": cfg.S3Addr, "edge": cfg.EdgeAddr} {
			if !free(addr) {
				t.Errorf("%s port %s held after the failed Start", name, addr)
			}
		}
		if err := sys.Close(context.Background()); err != nil {
			t.Errorf("Close after a failed Start: %v", err)
		}
	})
}

// A busy WHIP ICE port fails Start with its address, and what had
// started is stopped again.
func TestStartFailsOnBusyWHIPPort(t *testing.T) {
	cfg := config(t)
	cfg.WHIPAddr = testenv.FreeAddr(t)
	busy, err := net.ListenPacket("udp", cfg.WHIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	sys, err := system.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.Start(context.Background()); err == nil || !strings.Contains(err.Error(), cfg.WHIPAddr) {
		t.Fatalf("Start: %v, want an error naming %s", err, cfg.WHIPAddr)
	}
	for name, addr := range map[string]string{"S3": cfg.S3Addr, "edge": cfg.EdgeAddr, "RTMP": cfg.RTMPAddr} {
		if !free(addr) {
			t.Errorf("%s port %s held after the failed Start", name, addr)
		}
	}
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	for name, change := range map[string]func(*system.Config){
		"no data dir":    func(c *system.Config) { c.DataDir = "" },
		"no edge":        func(c *system.Config) { c.EdgeAddr = "" },
		"no credentials": func(c *system.Config) { c.SecretKey = "" },
		"no keys":        func(c *system.Config) { c.Keys = nil },
		"bad preset": func(c *system.Config) {
			c.Getenv = func(k string) string { return map[string]string{"X264_PRESET": "warp"}[k] }
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := config(t)
			change(&cfg)
			if _, err := system.New(cfg); err == nil {
				t.Error("New accepted it")
			}
		})
	}
}

// Wait returns nil once its context ends: the system is still running
// then, for Close to stop.
func TestWaitEndsWithItsContext(t *testing.T) {
	cfg := config(t)
	sys := start(t, cfg)
	defer sys.Close(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sys.Wait(ctx); err != nil {
		t.Errorf("Wait: %v", err)
	}
	if code, _ := get(t, "http://"+cfg.EdgeAddr+"/"); code != 200 {
		t.Errorf("edge after Wait: %d", code)
	}
	if err := sys.Close(context.Background()); err != nil {
		t.Errorf("close: %v", err)
	}
}
