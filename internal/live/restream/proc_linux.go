package restream

import "syscall"

// sysProcAttr puts a destination's ffmpeg in its own process group and has
// the kernel kill it when the thread that started it exits
// (Forwarder.loop keeps that thread), so an
// ingest that dies leaves no restream running on.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
