package media

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Progress is one -progress report of ffmpeg.
type Progress struct {
	OutTime time.Duration // media time written so far
	Speed   float64       // times real time; 0 when ffmpeg does not know yet
	Done    bool          // the last report (progress=end)
}

// KillGrace is how long Run waits after SIGTERM before SIGKILL when its
// context ends: ffmpeg finishes the file it writes on SIGTERM, but a stuck
// read (a dead HTTP source) must not hold the caller.
const KillGrace = 2 * time.Second

// stderrLines is how many lines of ffmpeg's stderr RunError keeps.
const stderrLines = 20

// RunError is returned by Run when the process fails.
type RunError struct {
	Name     string   // base name of the binary
	ExitCode int      // -1 when killed by a signal
	Stderr   []string // the last lines of stderr
}

func (e *RunError) Error() string {
	status := fmt.Sprintf("%s exited with status %d", e.Name, e.ExitCode)
	if e.ExitCode < 0 {
		status = e.Name + " was killed"
	}
	if line := meaningfulLine(e.Stderr); line != "" {
		return status + ": " + line
	}
	return status
}

// meaningfulLine is the last stderr line that says something: ffmpeg ends
// with generic lines ("Conversion failed!") after the real cause.
func meaningfulLine(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || l == "Conversion failed!" || strings.HasPrefix(l, "Exiting normally") {
			continue
		}
		return l
	}
	return ""
}

// Run runs bin with args in its own process group until it exits or ctx is
// done. When ctx ends, the group gets SIGTERM, then SIGKILL after
// KillGrace; whatever happens, no process of the group outlives Run. With
// "-progress pipe:1" in args, onProgress (may be nil) is called for every
// progress block, in order and never concurrently, before Run returns. A failure is a
// *RunError holding the last lines of stderr; a cancelled run returns an
// error wrapping ctx.Err(). A decoder refusing a picture larger than
// -max_pixels (see InputArgs) stops the run at once with an error wrapping
// ErrUnsupported, even though ffmpeg would carry on without those frames.
func Run(ctx context.Context, bin string, args []string, onProgress func(Progress)) error {
	_, err := run(ctx, bin, args, Budget{}, onProgress)
	return err
}

// RunWithin is Run with b enforced on the process. When a limit stops it,
// the error is a *LimitError naming the limit.
func RunWithin(ctx context.Context, bin string, args []string, b Budget, onProgress func(Progress)) error {
	_, err := run(ctx, bin, args, b, onProgress)
	return err
}

// run is RunWithin that also returns the process state, for resource usage.
func run(parent context.Context, bin string, args []string, b Budget, onProgress func(Progress)) (*os.ProcessState, error) {
	if err := parent.Err(); err != nil {
		return nil, fmt.Errorf("run %s: %w", filepath.Base(bin), err)
	}
	// Cancelled with a cause when stderr shows a refused picture.
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", filepath.Base(bin), err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", filepath.Base(bin), err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", filepath.Base(bin), err)
	}
	pid := cmd.Process.Pid
	if err := b.Apply(pid); err != nil {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return nil, fmt.Errorf("run %s: %w", filepath.Base(bin), err)
	}

	// The group is signalled only while its leader is unreaped, so the
	// group id cannot have been reused by then.
	var mu sync.Mutex
	exited := false
	signalGroup := func(sig syscall.Signal) {
		mu.Lock()
		defer mu.Unlock()
		if !exited {
			_ = syscall.Kill(-pid, sig)
		}
	}
	stop := make(chan struct{})
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		select {
		case <-stop:
			return
		case <-ctx.Done():
		}
		signalGroup(syscall.SIGTERM)
		t := time.NewTimer(KillGrace)
		defer t.Stop()
		select {
		case <-stop:
		case <-t.C:
			signalGroup(syscall.SIGKILL)
		}
	}()

	var wg sync.WaitGroup
	var tail []string
	pipesDone := make(chan struct{})
	wg.Add(2)
	go func() {
		defer wg.Done()
		tail = lastLines(stderr, stderrLines, func(line string) {
			if err, ok := pictureGrew(line); ok {
				cancel(err)
			}
		})
	}()
	go func() {
		defer wg.Done()
		readProgress(stdout, onProgress)
	}()

	// Wait for the leader to exit without reaping it, then kill anything
	// left in its group (nothing, for ffmpeg, but a child must not outlive
	// us and hold the pipes open).
	go func() { wg.Wait(); close(pipesDone) }()
	waitExited(pid, pipesDone)
	mu.Lock()
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	exited = true
	mu.Unlock()
	close(stop)
	<-killerDone
	<-pipesDone
	waitErr := cmd.Wait()

	if parent.Err() != nil {
		return cmd.ProcessState, fmt.Errorf("run %s: %w", filepath.Base(bin), parent.Err())
	}
	if cause := context.Cause(ctx); cause != nil {
		return cmd.ProcessState, cause // a picture over -max_pixels
	}
	if waitErr != nil {
		var ee *exec.ExitError
		if errors.As(waitErr, &ee) {
			re := &RunError{Name: filepath.Base(bin), ExitCode: ee.ExitCode(), Stderr: tail}
			if le := limitHit(b, cmd.ProcessState, re); le != nil {
				return cmd.ProcessState, le
			}
			return cmd.ProcessState, re
		}
		return cmd.ProcessState, fmt.Errorf("run %s: %w", filepath.Base(bin), waitErr)
	}
	return cmd.ProcessState, nil
}

// lastLines reads r to the end and keeps its last n lines, calling each
// (may be nil) for every line as it comes.
func lastLines(r io.Reader, n int, each func(string)) []string {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var lines []string
	for sc.Scan() {
		if each != nil {
			each(sc.Text())
		}
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	// Drain whatever a too-long line left so the writer never blocks.
	_, _ = io.Copy(io.Discard, r)
	return lines
}

// readProgress parses ffmpeg's -progress key=value blocks, each ended by a
// progress=continue or progress=end line.
func readProgress(r io.Reader, on func(Progress)) {
	sc := bufio.NewScanner(r)
	var p Progress
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		switch k {
		case "out_time_us", "out_time_ms": // both are microseconds
			if us, err := strconv.ParseInt(v, 10, 64); err == nil && us >= 0 {
				p.OutTime = time.Duration(us) * time.Microsecond
			}
		case "speed":
			p.Speed, _ = strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), "x"), 64)
		case "progress":
			p.Done = v == "end"
			if on != nil {
				on(p)
			}
			p = Progress{OutTime: p.OutTime}
		}
	}
	_, _ = io.Copy(io.Discard, r)
}
