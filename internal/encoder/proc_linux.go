package encoder

import (
	"errors"
	"fmt"
	"math"
	"syscall"

	"github.com/hlsflow/hlsflow/internal/media"
	"golang.org/x/sys/unix"
)

// sysProcAttr puts ffmpeg in its own process group (so that stopping it
// stops anything it started) and has the kernel SIGKILL it when the thread
// that started it exits: see Process.start for why that thread lives as
// long as ffmpeg, and dies only with this process.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// waitExited blocks until process pid has exited, leaving it unreaped
// (WNOWAIT) so its pid and process group id stay reserved.
func waitExited(pid int, _ <-chan struct{}) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// Apply sets b on process pid with prlimit(2), right after it
// started. Go cannot set resource limits between fork and exec, and a
// wrapper (sh -c 'ulimit …; exec ffmpeg', util-linux prlimit, or re-running
// our own binary) needs a shell or tool the Lambda runtime may lack, or
// hooks in every main. When Start returns, the child has exec'd ffmpeg
// and is at most loading its libraries: it has read no input yet, so
// the limits are in place before anything a file controls is allocated.
// Lowering a child's limits needs no privilege; a failure is returned and
// the caller kills the child rather than run it unbounded.
func (b Budget) Apply(pid int) error {
	if b.Memory > 0 {
		lim := unix.Rlimit{Cur: uint64(b.Memory), Max: uint64(b.Memory)}
		if err := unix.Prlimit(pid, unix.RLIMIT_DATA, &lim, nil); err != nil {
			return fmt.Errorf("set memory limit (RLIMIT_DATA %s): %w", media.HumanBytes(b.Memory), err)
		}
	}
	if b.CPU > 0 {
		// Soft: SIGXCPU, which ffmpeg takes as a request to stop and
		// finish its files; hard, a few seconds later: SIGKILL.
		soft := uint64(math.Ceil(b.CPU.Seconds()))
		lim := unix.Rlimit{Cur: soft, Max: soft + 5}
		if err := unix.Prlimit(pid, unix.RLIMIT_CPU, &lim, nil); err != nil {
			return fmt.Errorf("set CPU time limit (RLIMIT_CPU %s): %w", b.CPU, err)
		}
	}
	return nil
}
