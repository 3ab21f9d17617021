package lambdarie

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

// instance is one emulator; only the goroutine holding its slot uses it.
type instance struct {
	f    *Function
	name string // of its memory cgroup
	addr string
	mu   sync.Mutex // cmd and done: Close stops instances in use
	cmd  *exec.Cmd
	done chan struct{}
}

// ensure starts the emulator if it is not running and waits until it
// takes requests.
func (in *instance) ensure(ctx context.Context) error {
	in.f.mu.Lock()
	closed := in.f.closed
	in.f.mu.Unlock()
	if closed {
		return errors.New("closed")
	}
	in.mu.Lock()
	running := in.cmd != nil
	if running {
		select {
		case <-in.done:
			in.cmd, running = nil, false
		default:
		}
	}
	in.mu.Unlock()
	if running {
		return nil
	}
	f := in.f
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	in.addr = ports[0]
	args := []string{
		"--die-with-parent", "--new-session",
		"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", "localhost",
		// Lambda's user, not root: a function that needs root fails here.
		"--unshare-user", "--uid", "993", "--gid", "990",
		"--ro-bind", f.code, "/var/task",
		"--ro-bind", f.opt, "/opt",
		"--ro-bind", f.etc, "/etc",
		"--ro-bind", f.cfg.RIE, rieInRoot,
		// /tmp is Lambda's ephemeral storage: a fresh one of the
		// function's size for each environment.
		"--size", strconv.FormatInt(int64(f.cfg.TmpMB)<<20, 10), "--tmpfs", "/tmp",
		"--dev", "/dev", "--proc", "/proc",
		"--dir", "/var/runtime",
		"--remount-ro", "/",
		"--chdir", "/var/task",
		rieInRoot, "--log-level", "error",
		"--runtime-interface-emulator-address", ports[0], "--runtime-api-address", ports[1],
	}
	cmd := exec.Command(f.bwrap, args...)
	removeCgroup := func() {}
	if procs, remove, err := newMemoryLimit(in.name, f.cfg.MemoryMB); err != nil {
		f.memoryOnce.Do(func() {
			f.cfg.Log.Warn("the function's memory size is not enforced: no memory cgroup to write to", "function", f.cfg.Name, "err", err)
		})
	} else {
		// The shell joins the cgroup before it becomes bwrap, so every
		// process of the sandbox is under the limit from the start.
		removeCgroup = remove
		cmd = exec.Command("/bin/sh", append([]string{"-c", `echo $$ > "$0" && exec "$@"`, procs, f.bwrap}, args...)...)
	}
	cmd.Env = f.env() // bwrap passes its environment on, and so does the emulator
	w := &lineLogger{log: f.cfg.Log}
	cmd.Stdout, cmd.Stderr = w, w
	// Its own process group: Ctrl-C in a terminal reaches hlsflow, which
	// drains and then stops the functions itself.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	in.mu.Lock()
	f.mu.Lock()
	closed = f.closed // Close stops instances under in.mu: none starts after it
	f.mu.Unlock()
	if closed {
		in.mu.Unlock()
		return errors.New("closed")
	}
	if err := cmd.Start(); err != nil {
		in.mu.Unlock()
		removeCgroup()
		return fmt.Errorf("start bwrap: %w", err)
	}
	done := make(chan struct{})
	in.cmd, in.done = cmd, done
	in.mu.Unlock()
	go func() { _ = cmd.Wait(); w.flush(); removeCgroup(); close(done) }()
	deadline := time.Now().Add(f.startupDeadline)
	for {
		c, err := net.DialTimeout("tcp", in.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("the emulator exited at start (%v); its output is in the log", cmd.ProcessState)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the emulator did not listen on %s within %v", in.addr, f.startupDeadline)
		}
	}
}

func (in *instance) invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+in.addr+"/2015-03-31/functions/function/invocations", bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	resp, err := in.f.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, messages.InvokeResponse_Error{Type: "Runtime.Unknown", Message: fmt.Sprintf("function %s: %v", in.f.cfg.Name, err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return result(resp.StatusCode, body)
}

// result reads the emulator's answer. It drops the error-type header the
// runtime sent, so a function error is told apart as SAM CLI does: a JSON
// object with errorMessage and errorType and nothing else a Go handler
// would send. A timeout is a plain text line; a runtime that exited or
// failed to start answers with a 5xx.
func result(status int, body []byte) ([]byte, error) {
	if status == http.StatusOK && bytes.HasPrefix(body, []byte("Task timed out after")) {
		return nil, messages.InvokeResponse_Error{Type: "Sandbox.Timedout", Message: string(body)}
	}
	var fe struct {
		Message *string         `json:"errorMessage"`
		Type    *string         `json:"errorType"`
		Stack   json.RawMessage `json:"stackTrace"`
	}
	isErr := false
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		var keys map[string]json.RawMessage
		if json.Unmarshal(body, &keys) == nil && json.Unmarshal(body, &fe) == nil && fe.Message != nil && fe.Type != nil {
			isErr = len(keys) == 2 || (len(keys) == 3 && fe.Stack != nil)
		}
	}
	switch {
	case status == http.StatusOK && isErr:
		return nil, messages.InvokeResponse_Error{Type: *fe.Type, Message: *fe.Message}
	case status == http.StatusOK:
		return body, nil
	case isErr:
		// An init failure keeps Lambda's type: Runtime.ExitError and such.
		t := *fe.Type
		if !strings.HasPrefix(t, "Runtime.") {
			t = "Runtime." + t
		}
		return nil, messages.InvokeResponse_Error{Type: t, Message: *fe.Message}
	default:
		return nil, messages.InvokeResponse_Error{Type: "Runtime.Unknown",
			Message: fmt.Sprintf("the emulator answered %d: %s", status, strings.TrimSpace(string(body)))}
	}
}

// stop kills the emulator, and with it the sandbox and all in it.
func (in *instance) stop() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cmd == nil {
		return
	}
	_ = syscall.Kill(-in.cmd.Process.Pid, syscall.SIGKILL)
	<-in.done
	in.cmd = nil
}

func freePorts(n int) ([]string, error) {
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}
