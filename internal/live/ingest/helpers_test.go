package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/live/keys"
	"github.com/hlsflow/hlsflow/internal/metrics"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// testClip is small (640x480, AAC) so a two-rung ladder runs in real time
// next to other tests on a shared 2-core machine.
const testClip = "12_his_girl_friday_audio_first.mp4"

type env struct {
	t      testing.TB
	svc    *Service
	s3     *store.Store
	signer *keys.Signer
	log    *syncBuffer
	// goroutines running before the service started.
	goroutines int
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	return newEnvWith(t, mod, nil)
}

// newEnvWith is newEnv with the service's metrics going to m.
func newEnvWith(t testing.TB, mod func(*Config), m *metrics.Recorder) *env {
	t.Helper()
	return newEnvDeps(t, mod, func(d *Deps) { d.Metrics = m })
}

// newEnvDeps is newEnv with the service's Deps changed by modDeps.
func newEnvDeps(t testing.TB, mod func(*Config), modDeps func(*Deps)) *env {
	t.Helper()
	s3 := testenv.S3(t)
	signer, err := keys.New([]byte("test-secret-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	logBuf := &syncBuffer{}
	cfg := Config{
		Bucket:   testenv.BucketMedia,
		RTMPAddr: "127.0.0.1:0", UDPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		Grace: 1500 * time.Millisecond, Preset: "ultrafast", Threads: 1, MaxRungs: 2,
		WorkDir: t.TempDir(), HandshakeTimeout: 2 * time.Second, IdleTimeout: 3 * time.Second,
		UDPIdleTimeout: 2 * time.Second, DrainTimeout: time.Minute,
	}
	deps := Deps{Store: s3.Store, Keys: signer,
		Log: slog.New(slog.NewTextHandler(io.MultiWriter(logBuf, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelInfo}))}
	if mod != nil {
		mod(&cfg)
	}
	modDeps(&deps)
	base := serviceGoroutines()
	svc, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = svc.Close(ctx)
	})
	return &env{t: t, svc: svc, s3: s3.Store, signer: signer, log: logBuf, goroutines: base}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func (e *env) key(name string) string {
	k, err := e.signer.Key(name)
	if err != nil {
		e.t.Fatal(err)
	}
	return k
}

// publishRTMP starts ffmpeg pushing seconds of the looped clip to key.
func (e *env) publishRTMP(key string, seconds int) *exec.Cmd {
	e.t.Helper()
	url := "rtmp://" + e.svc.RTMPAddr() + "/live/" + key
	return e.ffmpeg("-re", "-stream_loop", "-1", "-i", testenv.Media(e.t, testClip),
		"-t", fmt.Sprint(seconds), "-c", "copy", "-f", "flv", url)
}

func (e *env) publishUDP(seconds int) *exec.Cmd {
	e.t.Helper()
	url := "udp://" + e.svc.UDPAddr() + "?pkt_size=1316"
	return e.ffmpeg("-re", "-stream_loop", "-1", "-i", testenv.Media(e.t, testClip),
		"-t", fmt.Sprint(seconds), "-c", "copy", "-f", "mpegts", url)
}

func (e *env) ffmpeg(args ...string) *exec.Cmd {
	e.t.Helper()
	cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-nostdin", "-loglevel", "error"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// get reads an object, "" when it does not exist (yet).
func (e *env) get(key string) string {
	b, err := e.s3.GetBytes(context.Background(), testenv.BucketMedia, key)
	if err != nil {
		return ""
	}
	return string(b)
}

// waitFor polls until cond returns true.
func (e *env) waitFor(what string, d time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (e *env) media(key string) *hls.MediaPlaylist {
	e.t.Helper()
	s := e.get(key)
	if s == "" {
		return nil
	}
	pl, err := hls.ParseMedia([]byte(s))
	if err != nil {
		e.t.Fatalf("parse %s: %v\n%s", key, err, s)
	}
	return pl
}

// download copies every object under prefix into dir, keeping the layout.
func (e *env) download(prefix, dir string) {
	e.t.Helper()
	keys, err := e.s3.List(context.Background(), testenv.BucketMedia, prefix)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, k := range keys {
		b, err := e.s3.GetBytes(context.Background(), testenv.BucketMedia, k)
		if err != nil {
			e.t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
}

// decode runs ffmpeg over input and returns its duration in seconds; it
// fails the test on any decode error. At an HLS discontinuity the new
// encoder run restarts the TS continuity counters, which ffmpeg reports as
// a corrupt packet; players expect exactly that, so that one message is
// allowed.
func decode(t *testing.T, input string) float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration",
		"-of", "default=nw=1:nk=1", input).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", input, err, out)
	}
	dec, err := exec.Command("ffmpeg", "-v", "error", "-i", input, "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("decode %s: %v\n%s", input, err, dec)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(dec)), "\n") {
		if l != "" && !strings.Contains(l, "corrupt input packet") {
			t.Fatalf("decode %s: %s", input, dec)
		}
	}
	var d float64
	fmt.Sscan(strings.TrimSpace(string(out)), &d)
	return d
}

// waitRecording waits until stream name's recording is ready and returns
// its video id.
func (e *env) waitRecording(name string) string {
	e.t.Helper()
	rec := ""
	e.waitFor("recording", 30*time.Second, func() bool {
		keys, _ := e.s3.List(context.Background(), testenv.BucketMedia, "vod/"+name+"-")
		for _, k := range keys {
			if strings.HasSuffix(k, "/status.json") {
				rec = strings.TrimSuffix(strings.TrimPrefix(k, "vod/"), "/status.json")
				st, err := catalog.Read(context.Background(), e.s3, testenv.BucketMedia, rec)
				return err == nil && st.State == catalog.StateReady
			}
		}
		return false
	})
	return rec
}
