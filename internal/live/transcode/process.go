package transcode

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hlsflow/hlsflow/internal/media"
)

// Defaults for Process.
const (
	DefaultInputBuffer = 16 << 20
	DefaultPoll        = 100 * time.Millisecond
)

// Options configure Start.
type Options struct {
	FFmpeg string // binary; default media.FFmpegPath()
	Args   []string
	Dir    string   // the Args output folder
	Rungs  []string // rung names: sub-folders of Dir to watch
	// InputBuffer bounds the bytes queued for ffmpeg's stdin; a publisher
	// faster than the encoder loses data beyond it rather than stalling.
	InputBuffer int
	Poll        time.Duration
	Log         *slog.Logger
	// OnSegment is called, from one goroutine, for every finished segment
	// in order per rung. It must not block for long.
	OnSegment func(Segment)
	// Budget is set on ffmpeg right after it starts (see Budget); zero
	// fields mean no limit.
	Budget media.Budget
}

// Segment is a finished segment file.
type Segment struct {
	Rung     int    // index into Options.Rungs
	Path     string // local file, complete
	Index    int    // ffmpeg's number
	Duration time.Duration
	Ready    time.Time // when ffmpeg listed it as finished
}

// Stats are a process's counters.
type Stats struct {
	BytesIn      int64
	BytesDropped int64
	Frames       int64
	Speed        float64
	OutTime      time.Duration
}

// Process is one running ffmpeg.
type Process struct {
	opt   Options
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu      sync.Mutex
	queue   [][]byte
	queued  int
	closed  bool
	wake    chan struct{}
	dropLog time.Time

	bytesIn, dropped, frames atomic.Int64
	speed, outTime           atomic.Int64 // speed in 1/1000

	exited   chan struct{}
	waitErr  error
	stderr   *tail
	wg       sync.WaitGroup
	stopW    chan struct{}
	waitOnce sync.Once
	last     []int
	seen     []fs.FileInfo // playlists as last read, per rung
}

// Start runs ffmpeg in its own process group and starts feeding and
// watching it.
func Start(opt Options) (*Process, error) {
	if opt.FFmpeg == "" {
		opt.FFmpeg = media.FFmpegPath()
	}
	if opt.InputBuffer <= 0 {
		opt.InputBuffer = DefaultInputBuffer
	}
	if opt.Poll <= 0 {
		opt.Poll = DefaultPoll
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	cmd := exec.Command(opt.FFmpeg, opt.Args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("ffmpeg stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("ffmpeg stdout: %w", err)
	}
	p := &Process{
		opt: opt, cmd: cmd, stdin: stdin,
		wake: make(chan struct{}, 1), exited: make(chan struct{}),
		stderr: &tail{max: 20}, stopW: make(chan struct{}),
		last: make([]int, len(opt.Rungs)), seen: make([]fs.FileInfo, len(opt.Rungs)),
	}
	for i := range p.last {
		p.last[i] = -1
	}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start ffmpeg: %w", err)
	}
	if err := opt.Budget.Apply(cmd.Process.Pid); err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return nil, fmt.Errorf("start ffmpeg: %w", err)
	}
	p.wg.Go(func() { p.readProgress(stdout) })
	p.wg.Go(p.feed)
	p.wg.Go(p.watch)
	go func() {
		err := cmd.Wait()
		if err != nil {
			err = fmt.Errorf("ffmpeg: %w: %s", err, p.stderr.last())
		}
		p.waitErr = err
		close(p.exited)
	}()
	return p, nil
}

// Write queues b for ffmpeg's stdin without blocking. When the queue holds
// InputBuffer bytes, b is dropped and counted.
func (p *Process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, errors.New("ffmpeg input closed")
	}
	p.bytesIn.Add(int64(len(b)))
	if p.queued+len(b) > p.opt.InputBuffer {
		p.dropped.Add(int64(len(b)))
		if time.Since(p.dropLog) > 5*time.Second {
			p.dropLog = time.Now()
			p.opt.Log.Warn("live: transcoder input overflow, dropping data", "dir", p.opt.Dir,
				"queued", p.queued, "dropped_total", p.dropped.Load())
		}
		return len(b), nil
	}
	p.queue = append(p.queue, append([]byte(nil), b...))
	p.queued += len(b)
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return len(b), nil
}

// CloseInput ends the input: ffmpeg finishes the last segment and exits.
func (p *Process) CloseInput() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// feed copies the queue to stdin and closes stdin once the input is closed
// and drained.
func (p *Process) feed() {
	defer p.stdin.Close()
	for {
		p.mu.Lock()
		q, closed := p.queue, p.closed
		p.queue, p.queued = nil, 0
		p.mu.Unlock()
		// One write per wake-up rather than per chunk: fewer syscalls and
		// fewer wake-ups of ffmpeg's reader.
		if len(q) > 0 {
			if _, err := p.stdin.Write(bytes.Join(q, nil)); err != nil {
				return
			}
		}
		if closed && len(q) == 0 {
			return
		}
		if len(q) > 0 {
			continue
		}
		select {
		case <-p.wake:
		case <-p.exited:
			return
		}
	}
}

// Wait waits for ffmpeg to exit after CloseInput, reports the last
// segments, and stops the goroutines. If ctx ends first, the process group
// is killed. It returns ffmpeg's failure, if any.
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.exited:
	case <-ctx.Done():
		p.Kill()
		<-p.exited
	}
	p.waitOnce.Do(func() {
		close(p.stopW)
		p.wg.Wait()
	})
	return p.waitErr
}

// Stop closes the input and waits for ffmpeg to finish the last segment,
// killing it if ctx ends first.
func (p *Process) Stop(ctx context.Context) error {
	p.CloseInput()
	return p.Wait(ctx)
}

// Kill kills the process group now, unless it has exited (its group id
// could by then belong to someone else).
func (p *Process) Kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	if p.cmd.Process != nil {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// Pid is ffmpeg's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Stats returns the counters so far.
func (p *Process) Stats() Stats {
	return Stats{
		BytesIn:      p.bytesIn.Load(),
		BytesDropped: p.dropped.Load(),
		Frames:       p.frames.Load(),
		Speed:        float64(p.speed.Load()) / 1000,
		OutTime:      time.Duration(p.outTime.Load()) * time.Microsecond,
	}
}

func (p *Process) readProgress(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch k {
		case "frame":
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				p.frames.Store(n)
			}
		case "speed":
			if f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), "x"), 64); err == nil {
				p.speed.Store(int64(f * 1000))
			}
		case "out_time_us":
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				p.outTime.Store(n)
			}
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// watch polls ffmpeg's playlists for finished segments; after the process
// exits it scans once more for the final ones.
func (p *Process) watch() {
	t := time.NewTicker(p.opt.Poll)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			p.scan()
		case <-p.stopW:
			p.scan()
			return
		}
	}
}

func (p *Process) scan() {
	for i, name := range p.opt.Rungs {
		dir := filepath.Join(p.opt.Dir, name)
		pl := filepath.Join(dir, PlaylistName)
		// A stat per poll; the playlist is read and parsed only when ffmpeg
		// has replaced it, once per segment.
		st, err := os.Stat(pl)
		if err != nil || (p.seen[i] != nil && st.ModTime().Equal(p.seen[i].ModTime()) && st.Size() == p.seen[i].Size()) {
			continue
		}
		segs, ready, err := readPlaylist(pl)
		if err != nil {
			continue
		}
		p.seen[i] = st
		for _, s := range segs {
			if s.index <= p.last[i] {
				continue
			}
			p.last[i] = s.index
			if p.opt.OnSegment != nil {
				p.opt.OnSegment(Segment{Rung: i, Path: filepath.Join(dir, s.uri), Index: s.index,
					Duration: s.duration, Ready: ready})
			}
		}
	}
}

// tail keeps the last lines written to it.
type tail struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  string
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.part + string(b)
	parts := strings.Split(s, "\n")
	t.part = parts[len(parts)-1]
	for _, l := range parts[:len(parts)-1] {
		if l = strings.TrimSpace(l); l != "" {
			t.lines = append(t.lines, l)
		}
	}
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
	if len(t.part) > 4096 {
		t.part = t.part[:4096]
	}
	return len(b), nil
}

func (t *tail) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return strings.TrimSpace(t.part)
	}
	return t.lines[len(t.lines)-1]
}
