package encoder

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// KillGrace is how long a process gets after SIGTERM before SIGKILL when
// it is stopped: ffmpeg finishes the file it writes on SIGTERM, but a stuck
// read (a dead HTTP source) must not hold the caller.
const KillGrace = 2 * time.Second

// stdinBuffer is the default Options.StdinBuffer; stderrLines is how many
// lines of ffmpeg's stderr RunError keeps.
const stdinBuffer, stderrLines = 16 << 20, 20

// Options configure Start.
type Options struct {
	FFmpeg string // binary; default media.FFmpegPath() is the caller's choice
	Args   []string
	// Budget is set on ffmpeg right after it starts; a zero field is no limit.
	Budget Budget
	// Stdin makes ffmpeg's stdin a pipe fed by Write (a live feed). At
	// most StdinBuffer bytes (default 16 MiB) are queued; a
	// writer faster than the encoder loses data beyond it rather than
	// stalling.
	Stdin       bool
	StdinBuffer int
	// OnProgress (may be nil) is called for every -progress block, in
	// order and never concurrently.
	OnProgress func(Progress)
	// Watch, when set, reports finished segments (see Watch).
	Watch *Watch
	Log   *slog.Logger // default slog.Default()
	// OnStderr (may be nil) is called for every line of ffmpeg's stderr,
	// in order, for runs whose result is in their log (MeasureComplexity).
	OnStderr func(string)
}

// Progress is one -progress report of ffmpeg.
type Progress struct {
	Frames  int64         // video frames written so far
	OutTime time.Duration // media time written so far
	Speed   float64       // times real time; 0 when ffmpeg does not know yet
	Done    bool          // the last report (progress=end)
	Bytes   int64         // total_size: bytes written to the output so far
}

// Stats are a process's counters.
type Stats struct {
	BytesIn, BytesDropped int64 // written to stdin; dropped when the queue was full
	Progress                    // the last report
}

// Process is one running ffmpeg in its own process group. It dies with
// us: its parent-death signal is SIGKILL (Linux), so even a kill -9 of
// this process leaves no ffmpeg running on.
type Process struct {
	opt    Options
	name   string
	cmd    *exec.Cmd
	ctx    context.Context // cancelled, with a cause, to stop ffmpeg
	cancel context.CancelCauseFunc
	parent context.Context

	*feeder // Write and CloseInput; nil without Options.Stdin

	mu       sync.Mutex
	exited   bool // the leader has exited: the group id may be reused once reaped
	progress atomic.Pointer[Progress]

	leaderExited chan struct{} // closed by the starter once ffmpeg has exited (unreaped)
	pipesDone    chan struct{} // stdout and stderr are at their end
	done         chan struct{} // closed once everything has stopped and err is set
	err          error
}

// Run runs ffmpeg until it exits or ctx is done (then the group gets
// SIGTERM, and SIGKILL after KillGrace). A failure is a *RunError with
// the last lines of stderr, a *LimitError when the Budget stopped it, an
// error wrapping media.ErrUnsupported when a decoder refused a picture
// larger than -max_pixels (ffmpeg would carry on without those frames;
// Run stops it at once), the error of Watch.OnSegment, or one wrapping
// ctx.Err() when cancelled.
func Run(ctx context.Context, opt Options) error {
	p, err := Start(ctx, opt)
	if err != nil {
		return err
	}
	return p.Wait(context.Background())
}

// Start starts ffmpeg; ctx bounds its whole run as for Run.
func Start(ctx context.Context, opt Options) (*Process, error) {
	name := filepath.Base(opt.FFmpeg)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("run %s: %w", name, err)
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	cmd := exec.Command(opt.FFmpeg, opt.Args...)
	cmd.SysProcAttr = sysProcAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", name, err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", name, err)
	}
	p := &Process{opt: opt, name: name, cmd: cmd, parent: ctx,
		leaderExited: make(chan struct{}), pipesDone: make(chan struct{}), done: make(chan struct{})}
	if opt.Stdin {
		w, err := cmd.StdinPipe()
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", name, err)
		}
		p.feeder = newFeeder(w, opt.StdinBuffer, opt.Log)
	}
	p.ctx, p.cancel = context.WithCancelCause(ctx)
	if err := p.start(); err != nil {
		p.cancel(nil)
		return nil, fmt.Errorf("run %s: %w", name, err)
	}
	go p.supervise(stdout, stderr)
	return p, nil
}

// start starts ffmpeg from a goroutine locked to its OS thread, which
// stays until ffmpeg has exited. The kernel sends the parent-death signal
// when the *thread* that forked the child exits, not the process
// (prctl(2), PR_SET_PDEATHSIG; golang/go#27505), and the Go runtime ends
// a thread whenever a goroutine exits while locked to it: started from an
// ordinary goroutine, ffmpeg could be killed at any time by someone
// else's LockOSThread. The dedicated thread is never shared, so it lives
// exactly as long as ffmpeg, or until this process dies.
func (p *Process) start() error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		pid := p.cmd.Process.Pid
		if err := p.opt.Budget.Apply(pid); err != nil {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = p.cmd.Wait()
			started <- err
			return
		}
		started <- nil
		waitExited(pid, p.pipesDone)
		close(p.leaderExited)
	}()
	return <-started
}

// supervise reads ffmpeg's output, stops it when its context ends, and
// once it has exited stops everything else and sets p.err.
func (p *Process) supervise(stdout, stderr io.Reader) {
	pid := p.cmd.Process.Pid
	var pipes, wg sync.WaitGroup
	var tail []string
	pipes.Go(func() {
		tail = lastLines(stderr, stderrLines, func(line string) {
			if err, ok := pictureGrew(line); ok {
				p.cancel(err)
			}
			if p.opt.OnStderr != nil {
				p.opt.OnStderr(line)
			}
		})
	})
	pipes.Go(func() { readProgress(stdout, p.report) })
	go func() { pipes.Wait(); close(p.pipesDone) }()
	if p.feeder != nil {
		wg.Go(func() { p.feeder.run(p.leaderExited) })
	}
	var w *watcher
	if p.opt.Watch != nil {
		w = newWatcher(*p.opt.Watch, func(err error) { p.cancel(err) })
		wg.Go(func() { w.run(p.leaderExited) })
	}
	stopped := make(chan struct{})
	killer := make(chan struct{})
	go func() {
		defer close(killer)
		select {
		case <-p.leaderExited:
			return
		case <-p.ctx.Done():
		}
		p.signal(syscall.SIGTERM)
		t := time.NewTimer(KillGrace)
		defer t.Stop()
		select {
		case <-stopped:
		case <-t.C:
			p.signal(syscall.SIGKILL)
		}
	}()

	<-p.leaderExited
	// Kill anything left in the group (nothing, for ffmpeg, but a child
	// must not outlive it and hold the pipes open), then reap.
	p.mu.Lock()
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	p.exited = true
	p.mu.Unlock()
	close(stopped)
	<-killer
	<-p.pipesDone
	wg.Wait() // the watcher's last scan has reported the final segments
	waitErr := p.cmd.Wait()
	p.err = p.result(waitErr, tail)
	p.cancel(nil)
	close(p.done)
}

func (p *Process) result(waitErr error, tail []string) error {
	if p.parent.Err() != nil {
		return fmt.Errorf("run %s: %w", p.name, p.parent.Err())
	}
	if cause := context.Cause(p.ctx); cause != nil {
		return cause // a picture over -max_pixels, a failed segment, a stop
	}
	if waitErr == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(waitErr, &ee) {
		return fmt.Errorf("run %s: %w", p.name, waitErr)
	}
	re := &RunError{Name: p.name, ExitCode: ee.ExitCode(), Stderr: tail}
	if le := limitHit(p.opt.Budget, p.cmd.ProcessState, re); le != nil {
		return le
	}
	return re
}

// signal signals the group while its leader is unreaped, so the group id
// cannot belong to someone else.
func (p *Process) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.exited {
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

func (p *Process) report(pr Progress) {
	p.progress.Store(&pr)
	if p.opt.OnProgress != nil {
		p.opt.OnProgress(pr)
	}
}

// Wait waits for ffmpeg to exit and returns its failure (see Run). If ctx
// ends first, ffmpeg is stopped as when Start's context ends.
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.done:
	case <-ctx.Done():
		p.cancel(fmt.Errorf("run %s: stopped waiting: %w", p.name, ctx.Err()))
		<-p.done
	}
	return p.err
}

// Stop closes the input and waits for ffmpeg to finish the last segment
// and exit, stopping it if ctx ends first.
func (p *Process) Stop(ctx context.Context) error {
	p.CloseInput()
	return p.Wait(ctx)
}

// Kill kills the group now.
func (p *Process) Kill() { p.signal(syscall.SIGKILL) }

// Pid is ffmpeg's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// State is the exited process's state (resource usage), nil before Wait
// returns.
func (p *Process) State() *os.ProcessState {
	select {
	case <-p.done:
		return p.cmd.ProcessState
	default:
		return nil
	}
}

// Stats returns the counters so far.
func (p *Process) Stats() Stats {
	var s Stats
	if pr := p.progress.Load(); pr != nil {
		s.Progress = *pr
	}
	if p.feeder != nil {
		s.BytesIn, s.BytesDropped = p.feeder.bytesIn.Load(), p.feeder.dropped.Load()
	}
	return s
}

// feeder queues bytes for a pipe, so that a writer never waits for ffmpeg.
type feeder struct {
	w   io.WriteCloser
	max int
	log *slog.Logger

	mu      sync.Mutex
	queue   [][]byte
	queued  int
	closed  bool
	wake    chan struct{}
	dropLog time.Time

	bytesIn, dropped atomic.Int64
}

func newFeeder(w io.WriteCloser, max int, log *slog.Logger) *feeder {
	if max <= 0 {
		max = stdinBuffer
	}
	return &feeder{w: w, max: max, log: log, wake: make(chan struct{}, 1)}
}

// Write queues b for ffmpeg's stdin (Options.Stdin) without blocking.
// When the queue is full, b is dropped and counted.
func (f *feeder) Write(b []byte) (int, error) {
	if f == nil {
		return 0, errors.New("ffmpeg has no input pipe")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, errors.New("ffmpeg input closed")
	}
	f.bytesIn.Add(int64(len(b)))
	if f.queued+len(b) > f.max {
		f.dropped.Add(int64(len(b)))
		if time.Since(f.dropLog) > 5*time.Second {
			f.dropLog = time.Now()
			f.log.Warn("encoder: ffmpeg input overflow, dropping data", "queued", f.queued, "dropped_total", f.dropped.Load())
		}
		return len(b), nil
	}
	f.queue = append(f.queue, append([]byte(nil), b...))
	f.queued += len(b)
	f.poke()
	return len(b), nil
}

// CloseInput ends the input: ffmpeg finishes the last segment and exits.
func (f *feeder) CloseInput() {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		f.poke()
	}
}

func (f *feeder) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// run copies the queue to the pipe, and closes it once the input is
// closed and drained or ffmpeg has exited.
func (f *feeder) run(exited <-chan struct{}) {
	defer f.w.Close()
	for {
		f.mu.Lock()
		q, closed := f.queue, f.closed
		f.queue, f.queued = nil, 0
		f.mu.Unlock()
		// One write per wake-up rather than per chunk: fewer syscalls and
		// fewer wake-ups of ffmpeg's reader.
		if len(q) > 0 {
			if _, err := f.w.Write(bytes.Join(q, nil)); err != nil {
				return
			}
			continue
		}
		if closed {
			return
		}
		select {
		case <-f.wake:
		case <-exited:
			return
		}
	}
}

// RunError is returned when ffmpeg fails.
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
		v = strings.TrimSpace(v)
		switch k {
		case "frame":
			p.Frames, _ = strconv.ParseInt(v, 10, 64)
		case "out_time_us", "out_time_ms": // both are microseconds
			if us, err := strconv.ParseInt(v, 10, 64); err == nil && us >= 0 {
				p.OutTime = time.Duration(us) * time.Microsecond
			}
		case "speed":
			p.Speed, _ = strconv.ParseFloat(strings.TrimSuffix(v, "x"), 64)
		case "total_size":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				p.Bytes = n
			}
		case "progress":
			p.Done = v == "end"
			if on != nil {
				on(p)
			}
			p = Progress{Frames: p.Frames, OutTime: p.OutTime, Bytes: p.Bytes}
		}
	}
	_, _ = io.Copy(io.Discard, r)
}
