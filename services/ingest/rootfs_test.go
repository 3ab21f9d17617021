package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/keys"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// EnvRootfs names a tree services/ingest/rootfs.sh built (`make
// ingest-rootfs` sets it): the image's files, tested here without Docker.
const EnvRootfs = "HLSFLOW_INGEST_ROOTFS"

// rootfs is the tree under test and how to run a program in it: its own
// root (bubblewrap), this machine's loopback network, the image's user,
// and for another architecture qemu-user, the one host file copied in.
type rootfs struct {
	dir  string
	qemu string
}

func newRootfs(t *testing.T) *rootfs {
	t.Helper()
	dir := os.Getenv(EnvRootfs)
	if dir == "" {
		t.Skipf("%s is not set: `make ingest-rootfs` builds the image's tree and runs these tests", EnvRootfs)
	}
	r := &rootfs{dir: dir}
	out, err := exec.Command("file", "-L", filepath.Join(dir, "usr/local/bin/ingest")).Output()
	if err != nil {
		t.Fatalf("file: %v", err)
	}
	native := map[string]string{"amd64": "x86-64", "arm64": "aarch64"}[runtime.GOARCH]
	if !strings.Contains(string(out), native) {
		emu := "/usr/bin/qemu-aarch64-static"
		if _, err := os.Stat(emu); err != nil {
			t.Skipf("a foreign ingest (%s) needs qemu-user: apt-get install -y qemu-user-static", out)
		}
		b, err := os.ReadFile(emu)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "qemu"), b, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(filepath.Join(dir, "qemu")) })
		r.qemu = "/qemu"
	}
	return r
}

// command runs argv inside the tree with env as its whole environment.
func (r *rootfs) command(ctx context.Context, env []string, argv ...string) *exec.Cmd {
	args := []string{"--bind", r.dir, "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
		"--unshare-user", "--uid", "10001", "--gid", "10001", "--unshare-pid", "--die-with-parent", "--clearenv"}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		args = append(args, "--setenv", k, v)
	}
	if r.qemu != "" {
		argv = append([]string{r.qemu}, argv...)
	}
	return exec.CommandContext(ctx, "bwrap", append(args, argv...)...)
}

// The image's ffmpeg loads and has what the live ladder needs, and the
// ingest loads (libsrt included) and reads its environment.
func TestRootfsRuns(t *testing.T) {
	r := newRootfs(t)
	ctx := context.Background()
	out, err := r.command(ctx, nil, "/usr/bin/ffmpeg", "-hide_banner", "-encoders").CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg in the image: %v\n%s", err, out)
	}
	for _, enc := range []string{" libx264 ", " aac "} {
		if !strings.Contains(string(out), enc) {
			t.Errorf("the image's ffmpeg has no%sencoder", enc)
		}
	}
	out, _ = r.command(ctx, nil, "/usr/local/bin/ingest").CombinedOutput()
	if !strings.Contains(string(out), "MEDIA_BUCKET") {
		t.Errorf("the ingest without its environment: %s; want its config error naming MEDIA_BUCKET", out)
	}
}

// The ingest as the image runs it takes an RTMP feed and publishes live
// HLS to S3 (natively only: under qemu-user, ffmpeg's children could not
// run without binfmt, and x264 would be too slow to tell anything).
func TestRootfsPublishesLive(t *testing.T) {
	r := newRootfs(t)
	if r.qemu != "" {
		t.Skip("a foreign tree: TestRootfsRuns covers it")
	}
	s3 := testenv.S3(t)
	secret := "rootfs-test-secret-0123456789abcdef"
	rtmpAddr, healthAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	env := append(s3.Environ(), "MEDIA_BUCKET="+testenv.BucketMedia, "STREAM_KEY_SECRET="+secret,
		"RTMP_ADDR="+rtmpAddr, "SRT_ADDR=off", "UDP_ADDR=off", "HEALTH_ADDR="+healthAddr,
		"FFMPEG_PATH=/usr/bin/ffmpeg", "WORK_DIR=/tmp", "LIVE_MAX_RUNGS=1", "HOME=/tmp")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ingest := r.command(ctx, env, "/usr/local/bin/ingest")
	var logs strings.Builder
	ingest.Stdout, ingest.Stderr = io.Discard, &logs
	if err := ingest.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); ingest.Wait() })

	signer, err := keys.New([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("rootfs%d", time.Now().UnixNano()%1e6)
	key, err := signer.Key(name)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		pub := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
			"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440",
			"-t", "12", "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-c:a", "aac",
			"-f", "flv", "rtmp://"+rtmpAddr+"/live/"+key)
		out, err := pub.CombinedOutput()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish: %v\n%s\ningest log:\n%s", err, out, logs.String())
		}
		time.Sleep(500 * time.Millisecond) // the listener is not up yet
	}
	keys, err := s3.Store.List(ctx, testenv.BucketMedia, "live/"+name+"/")
	if err != nil {
		t.Fatal(err)
	}
	var master, segments bool
	for _, k := range keys {
		master = master || strings.HasSuffix(k, "/master.m3u8")
		segments = segments || strings.HasSuffix(k, ".ts")
	}
	recs, _ := s3.Store.List(ctx, testenv.BucketMedia, "vod/"+name+"-")
	if !(master && segments) && len(recs) == 0 {
		t.Fatalf("after 12 s of RTMP, live/%s/ holds %v and no recording; ingest log:\n%s", name, keys, logs.String())
	}
}
