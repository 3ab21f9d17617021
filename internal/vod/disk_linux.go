package vod

import "syscall"

// freeBytes is the space left to an unprivileged writer on the file
// system holding dir; ok is false when it cannot be told.
func freeBytes(dir string) (int64, bool) {
	var s syscall.Statfs_t
	if err := syscall.Statfs(dir, &s); err != nil {
		return 0, false
	}
	return int64(s.Bavail) * int64(s.Bsize), true
}
