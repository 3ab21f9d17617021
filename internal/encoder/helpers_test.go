package encoder

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/media"
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
	cmd := exec.Command(media.FFmpegPath(), append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, args...)...)
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

func probe(t testing.TB, path string) *media.Source {
	t.Helper()
	src, err := media.Probe(context.Background(), media.FFprobePath(), path, media.DefaultLimits)
	if err != nil {
		t.Fatalf("probe %s: %v", filepath.Base(path), err)
	}
	return src
}

// runState runs bin as Run does and returns its process state too.
func runState(ctx context.Context, bin string, args []string, b Budget, on func(Progress)) (*os.ProcessState, error) {
	p, err := Start(ctx, Options{FFmpeg: bin, Args: args, Budget: b, OnProgress: on})
	if err != nil {
		return nil, err
	}
	err = p.Wait(context.Background())
	return p.State(), err
}

func runWithin(ctx context.Context, bin string, args []string, b Budget, on func(Progress)) error {
	_, err := runState(ctx, bin, args, b, on)
	return err
}

func runBin(ctx context.Context, bin string, args []string, on func(Progress)) error {
	return runWithin(ctx, bin, args, Budget{}, on)
}

// encodeOptions are the options of a whole-ladder VOD encode as the
// transcoder sets them; ladderArgs makes them a Job.
type encodeOptions struct {
	Input, OutDir, Preset, Revision string
	Threads                         int
	Progress                        bool
	Duration                        time.Duration
}

func ladderArgs(src *media.Source, l media.Ladder, o encodeOptions) []string {
	return Args(Job{
		Input: Input{URL: o.Input, Source: src, Duration: o.Duration.Seconds()}, Ladder: l,
		Output: Output{Kind: VOD, Dir: o.OutDir, Revision: o.Revision},
		Preset: o.Preset, Threads: o.Threads, ShareThreads: true, Progress: o.Progress,
	})
}
