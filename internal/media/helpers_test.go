package media

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// testMedia returns the path of a test clip in the repository's
// testdata/media, found from the repository root (the folder holding go.mod).
func testMedia(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
	p := filepath.Join(dir, "testdata", "media", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test media: %v", err)
	}
	return p
}

// ffmpegGen runs ffmpeg to make a test input and fails the test if it fails.
func ffmpegGen(t testing.TB, args ...string) {
	t.Helper()
	cmd := exec.Command(FFmpegPath(), append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, stderr.String())
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func probe(t testing.TB, path string) *Source {
	t.Helper()
	src, err := Probe(context.Background(), FFprobePath(), path, DefaultLimits)
	if err != nil {
		t.Fatalf("probe %s: %v", filepath.Base(path), err)
	}
	return src
}

// ffprobeOut runs ffprobe quietly and returns what it prints.
func ffprobeOut(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(FFprobePath(), append([]string{"-v", "error"}, args...)...).Output()
	if err != nil {
		t.Fatalf("ffprobe %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}
