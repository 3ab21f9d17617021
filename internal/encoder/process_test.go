package encoder

import (
	"github.com/hlsflow/hlsflow/internal/media"

	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestReadProgress(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Progress
	}{
		{"two blocks", "frame=10\nout_time_us=400000\nout_time=00:00:00.400000\nspeed=1.5x\nprogress=continue\n" +
			"frame=20\nout_time_us=2000000\nspeed=2.25x\nprogress=end\n",
			[]Progress{{10, 400 * time.Millisecond, 1.5, false, 0}, {20, 2 * time.Second, 2.25, true, 0}}},
		{"unknown speed", "out_time_us=N/A\nspeed=N/A\nprogress=continue\n", []Progress{{0, 0, 0, false, 0}}},
		{"out_time_ms is microseconds too", "out_time_ms=1500000\nprogress=continue\n", []Progress{{0, 1500 * time.Millisecond, 0, false, 0}}},
		{"time kept when a block lacks it", "out_time_us=1000000\nprogress=continue\nspeed= 3x\nprogress=end\n",
			[]Progress{{0, time.Second, 0, false, 0}, {0, time.Second, 3, true, 0}}},
		{"bytes out, kept when a block lacks them", "total_size=48128\nprogress=continue\ntotal_size=N/A\nprogress=continue\ntotal_size=96256\nprogress=end\n",
			[]Progress{{0, 0, 0, false, 48128}, {0, 0, 0, false, 48128}, {0, 0, 0, true, 96256}}},
		{"garbage ignored", "hello\n\n=\nprogress=end\n", []Progress{{0, 0, 0, true, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []Progress
			readProgress(strings.NewReader(tc.in), func(p Progress) { got = append(got, p) })
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRunReportsProgress(t *testing.T) {
	var got []Progress
	err := runBin(context.Background(), media.FFmpegPath(), []string{"-hide_banner", "-nostdin", "-progress", "pipe:1", "-nostats",
		"-f", "lavfi", "-i", "testsrc=s=64x48:r=25:d=2", "-f", "null", "-"}, func(p Progress) { got = append(got, p) })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || !got[len(got)-1].Done {
		t.Fatalf("progress %+v, want reports ending with Done", got)
	}
	if last := got[len(got)-1].OutTime; last < 1900*time.Millisecond || last > 2100*time.Millisecond {
		t.Errorf("last out time %v, want about 2s", last)
	}
}

func TestRunError(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.mp4")
	tests := []struct {
		name   string
		bin    string
		args   []string
		prefix string
		has    string
	}{
		{"missing input", media.FFmpegPath(), []string{"-hide_banner", "-i", missing, "-f", "null", "-"},
			"ffmpeg exited with status 1: ", "No such file or directory"},
		{"generic last line skipped", "sh", []string{"-c", "echo 'real cause' >&2; echo 'Conversion failed!' >&2; exit 3"},
			"sh exited with status 3: ", "real cause"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := runBin(context.Background(), tc.bin, tc.args, nil)
			var re *RunError
			if !errors.As(err, &re) {
				t.Fatalf("error %v, want a *RunError", err)
			}
			if !strings.HasPrefix(err.Error(), tc.prefix) || !strings.Contains(err.Error(), tc.has) {
				t.Errorf("error %q, want %q...%q", err, tc.prefix, tc.has)
			}
		})
	}
	t.Run("keeps the last lines", func(t *testing.T) {
		err := runBin(context.Background(), "sh", []string{"-c", "for i in $(seq 1 100); do echo line$i >&2; done; exit 1"}, nil)
		var re *RunError
		if !errors.As(err, &re) {
			t.Fatalf("error %v", err)
		}
		if len(re.Stderr) != stderrLines || re.Stderr[0] != "line81" || re.Stderr[stderrLines-1] != "line100" {
			t.Errorf("stderr tail %q", re.Stderr)
		}
	})
}

// TestRunCancelLeavesNoProcess cancels runs and checks that no process of
// theirs survives, including children that ignore SIGTERM and a child left
// behind by a parent that exited on its own.
func TestRunCancelLeavesNoProcess(t *testing.T) {
	tests := []struct {
		name   string
		bin    string
		args   func(tag string) []string
		cancel bool
	}{
		{"long encode", media.FFmpegPath(), func(tag string) []string {
			return []string{"-hide_banner", "-nostdin", "-progress", "pipe:1", "-re", "-f", "lavfi", "-i", "testsrc=s=64x48:r=10",
				"-metadata", "comment=" + tag, "-f", "null", "-"}
		}, true},
		{"children ignoring SIGTERM", "sh", func(tag string) []string {
			return []string{"-c", "trap '' TERM; sleep " + tag + " & sleep " + tag + "1; wait"}
		}, true},
		{"orphan of an exited parent", "sh", func(tag string) []string {
			return []string{"-c", "sleep " + tag + " & exit 0"}
		}, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A tag unlikely to appear in any other command line.
			tag := "3" + strings.Repeat("7", i+1) + ".123" + strings.TrimLeft(time.Now().Format(".000000"), ".")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			start := time.Now()
			go func() { done <- runBin(ctx, tc.bin, tc.args(tag), nil) }()
			if tc.cancel {
				waitFor(t, func() bool { return len(processesWith(tag)) > 0 })
				cancel()
			}
			select {
			case err := <-done:
				if tc.cancel && !errors.Is(err, context.Canceled) {
					t.Errorf("error %v, want context.Canceled", err)
				}
				if !tc.cancel && err != nil {
					t.Errorf("error %v", err)
				}
			case <-time.After(KillGrace + 20*time.Second):
				t.Fatalf("Run did not return %v after cancel", time.Since(start))
			}
			if left := processesWith(tag); len(left) > 0 {
				t.Errorf("processes still running: %v", left)
			}
		})
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the process to start")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processesWith lists the live (non-zombie) processes whose command line
// holds tag.
func processesWith(tag string) []string {
	var found []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), tag) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join(d, "stat")); err == nil {
			if f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:])); len(f) > 0 && f[0] == "Z" {
				continue
			}
		}
		found = append(found, filepath.Base(d)+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return found
}
