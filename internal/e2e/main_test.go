package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// sys is the system under test, shared by every test of the package.
var sys *Target

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	t, err := TargetFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if t == nil {
		root, err := repoRoot()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		dir, err := os.MkdirTemp("", "hlsflow-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		upArgs, err := ZipArgs(os.Getenv)
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		// Uploads from a URL may fetch from the tests' own servers.
		upArgs = append(upArgs, "--fetch-allow", "127.0.0.0/8")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		t, err = StartLocalWith(ctx, root, dir, LocalOptions{UpArgs: upArgs})
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		defer func() {
			if err := t.Local.Stop(30 * time.Second); err != nil {
				fmt.Fprintf(os.Stderr, "e2e: stop hlsflow up: %v\n%s", err, t.Local.Log())
			}
		}()
	}
	sys = t
	code := m.Run()
	if code != 0 && t.Local != nil {
		fmt.Fprintf(os.Stderr, "--- hlsflow up log ---\n%s\n", t.Local.Log())
	}
	return code
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found above the test directory")
		}
		dir = parent
	}
}
