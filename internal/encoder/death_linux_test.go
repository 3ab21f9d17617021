package encoder

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/media"
)

// endless is an ffmpeg that runs until it is stopped, at almost no cost.
var endless = []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "color=s=16x16:r=5", "-f", "null", "-"}

// childEnv makes the test binary, run again, the process whose death is
// tested (TestChildProcess).
const childEnv = "HLSFLOW_ENCODER_TEST_CHILD"

// TestChildProcess is not a test: run as a child with childEnv set, it
// starts an endless ffmpeg, prints its pid and waits to be killed.
func TestChildProcess(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("only run as the child of TestFFmpegDiesWithUs")
	}
	p, err := Start(context.Background(), Options{FFmpeg: media.FFmpegPath(), Args: endless})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("ffmpeg", p.Pid())
	time.Sleep(time.Hour)
}

// TestFFmpegDiesWithUs: a kill -9 of the process that started ffmpeg
// (hlsflow up, a Lambda runtime) takes ffmpeg with it.
func TestFFmpegDiesWithUs(t *testing.T) {
	child := exec.Command(os.Args[0], "-test.run=^TestChildProcess$", "-test.count=1")
	child.Env = append(os.Environ(), childEnv+"=1")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(line), "ffmpeg "))
	if err != nil {
		t.Fatalf("child said %q", line)
	}
	if !running(pid) {
		t.Fatalf("ffmpeg %d is not running before the kill", pid)
	}
	defer syscall.Kill(pid, syscall.SIGKILL) // should the test fail

	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for running(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("ffmpeg %d still runs 10 s after its parent was killed with SIGKILL", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFFmpegOutlivesItsStartingThread: the parent-death signal follows
// the thread that started ffmpeg, so ffmpeg must not be started from a
// thread that may exit before it; here the caller's thread exits (a
// goroutine locked to it returns) and ffmpeg runs on.
func TestFFmpegOutlivesItsStartingThread(t *testing.T) {
	started := make(chan *Process, 1)
	release := make(chan struct{})
	defer close(release)
	var tid int
	var try func()
	try = func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if syscall.Gettid() == os.Getpid() {
			// The main thread is parked rather than ended: hold it, and
			// start from another.
			go try()
			<-release
			return
		}
		tid = syscall.Gettid()
		p, err := Start(context.Background(), Options{FFmpeg: media.FFmpegPath(), Args: endless})
		if err != nil {
			t.Error(err)
		}
		started <- p
	}
	go try()
	p := <-started
	if p == nil {
		return
	}
	defer p.Kill()
	time.Sleep(time.Second)
	if _, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", tid)); err == nil {
		t.Fatalf("the calling thread %d did not exit", tid)
	}
	if st := p.State(); st != nil || !running(p.Pid()) {
		p.Kill()
		t.Fatalf("ffmpeg died with the caller's thread: %v", p.Wait(context.Background()))
	}
	p.Kill()
	if err := p.Wait(context.Background()); err == nil {
		t.Error("killed ffmpeg reported success")
	}
}

// running says whether pid is a live process (not gone, not a zombie
// waiting to be reaped).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) STATE ...; comm may hold spaces and parentheses.
	s := string(b)
	rest := s[strings.LastIndexByte(s, ')')+1:]
	return !strings.HasPrefix(strings.TrimSpace(rest), "Z")
}
