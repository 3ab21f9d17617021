package vod

import (
	"runtime"
	"testing"
)

// The download's space check reads the working directory's file system.
func TestFreeBytes(t *testing.T) {
	n, ok := freeBytes(t.TempDir())
	if runtime.GOOS == "linux" && (!ok || n <= 0) {
		t.Errorf("free space %d, %v: want a positive amount", n, ok)
	}
	if _, ok := freeBytes("/no/such/dir"); ok {
		t.Error("a missing directory has free space")
	}
}
