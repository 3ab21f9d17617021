//go:build unix && !linux

package encoder

import "syscall"

// sysProcAttr puts ffmpeg in its own process group. Other systems have
// no parent-death signal: there, a killed hlsflow leaves its ffmpeg to
// finish on its own.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// waitExited waits for the child's pipes to close, which happens when it
// exits: other systems lack waitid(WNOWAIT), and the child stays unreaped
// until it is waited for either way.
func waitExited(_ int, pipesDone <-chan struct{}) { <-pipesDone }

// Apply does nothing where prlimit(2) does not exist (macOS, the
// BSDs): hlsflow up still runs there, with -max_pixels and -t as the only
// bounds.
func (Budget) Apply(int) error { return nil }
