// Package testenv gives tests the real things they need: one embedded S3
// server per test binary, the repository root, the test media, and nginx
// with its RTMP module as a restream destination.
package testenv

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// startDir is the working directory when the test binary started (the
// package's folder). Captured at init, before anything can chdir.
var startDir, startDirErr = os.Getwd()

var (
	rootOnce sync.Once
	root     string
	rootErr  string
)

// RepoRoot returns the repository root: the nearest folder at or above the
// test's package folder that holds go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	rootOnce.Do(func() {
		if startDirErr != nil {
			rootErr = "find repo root: " + startDirErr.Error()
			return
		}
		for dir := startDir; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				root = dir
				return
			}
			if filepath.Dir(dir) == dir {
				rootErr = "find repo root: no go.mod at or above " + startDir
				return
			}
		}
	})
	if rootErr != "" {
		t.Fatal(rootErr)
	}
	return root
}

// Media returns the absolute path of the test clip NAME (testdata/media/NAME
// in the repository) and fails the test if it is missing.
func Media(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(RepoRoot(t), "testdata", "media", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test media %s: %v", name, err)
	}
	return p
}

// FreeAddr returns a loopback TCP address that was free a moment ago, for
// a server that must be told its address before it listens.
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}
