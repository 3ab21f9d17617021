package media

import (
	"errors"

	"golang.org/x/sys/unix"
)

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
