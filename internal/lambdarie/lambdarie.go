// Package lambdarie runs a built Lambda function — the asset `make build`
// writes, with its layers — under the AWS Lambda Runtime Interface
// Emulator (RIE), in a root that looks like provided.al2023 to it: the
// code at /var/task, the layers unpacked under /opt, only /tmp writable,
// a minimal /etc with the CA bundle where Amazon Linux keeps it, Lambda's
// user (uid 993) in a user namespace, its own PID namespace, and exactly Lambda's environment plus the variables the
// caller gives (the stack's). The root is made with bubblewrap (bwrap);
// the network is the host's, so the function reaches the local cloud on
// loopback.
//
// A Function is a lambda.Handler: the local cloud invokes it as it does
// an in-process handler. The RIE serves one invocation at a time, so a
// Function keeps a pool of emulators, each started on first use and
// started again after a crash, timeout or cancelled invocation (as Lambda
// replaces such a sandbox).
package lambdarie

import (
	"archive/zip"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

// Config is one function.
type Config struct {
	Name string
	// Code is the function's asset: a directory holding bootstrap (what
	// `make build` writes and CDK zips) or a .zip.
	Code string
	// Layers are layer zips, unpacked under /opt in this order (a later
	// one's files win, as on Lambda).
	Layers []string
	// Env is the function's own environment: what the stack sets.
	Env      map[string]string
	MemoryMB int
	Timeout  time.Duration
	Region   string
	// AccessKey and SecretKey become the function's credentials, as
	// Lambda passes its role's.
	AccessKey, SecretKey string
	// Endpoint is AWS_ENDPOINT_URL: where the function's AWS is (the local
	// cloud). It is the one variable no Lambda has.
	Endpoint string
	// Instances bounds the emulators running at once (default 1); more
	// invocations wait for one.
	Instances int
	// RIE is the aws-lambda-rie binary; it must be static, as nothing of
	// the host's libraries is in the root.
	RIE string
	// WorkDir is private to this function: the unpacked code and layers,
	// /etc, and each instance's /tmp.
	WorkDir string
	// Log gets the function's output line by line (default slog.Default).
	Log *slog.Logger
}

// rieInRoot is where the emulator sits in the root.
const rieInRoot = "/var/rapid/aws-lambda-rie"

// Function is a running pool of emulators for one function.
type Function struct {
	cfg             Config
	code, opt, etc  string
	slots           chan *instance
	mu              sync.Mutex
	closed          bool
	client          *http.Client
	instances       []*instance
	bwrap           string
	startupDeadline time.Duration
}

// New checks cfg, unpacks the code and layers and writes /etc; the
// emulators start on first use.
func New(cfg Config) (*Function, error) {
	if cfg.Name == "" || cfg.Code == "" || cfg.RIE == "" || cfg.WorkDir == "" || cfg.Endpoint == "" {
		return nil, errors.New("lambdarie: name, code, emulator, work dir and endpoint are required")
	}
	cfg.Instances = max(1, cfg.Instances)
	cfg.MemoryMB = cmp.Or(cfg.MemoryMB, 128)
	cfg.Timeout = cmp.Or(cfg.Timeout, 3*time.Second)
	cfg.Region = cmp.Or(cfg.Region, "us-east-1")
	cfg.Log = cmp.Or(cfg.Log, slog.Default())
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		return nil, errors.New("lambdarie: bwrap (bubblewrap) is not installed: apt-get install bubblewrap")
	}
	if err := checkStatic(cfg.RIE); err != nil {
		return nil, err
	}
	f := &Function{cfg: cfg, bwrap: bwrap, slots: make(chan *instance, cfg.Instances),
		client: &http.Client{}, startupDeadline: 10 * time.Second}
	if err := os.RemoveAll(cfg.WorkDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o700); err != nil {
		return nil, err
	}
	f.code = cfg.Code
	if fi, err := os.Stat(cfg.Code); err != nil {
		return nil, fmt.Errorf("function %s: %w", cfg.Name, err)
	} else if !fi.IsDir() {
		f.code = filepath.Join(cfg.WorkDir, "task")
		if err := unzip(cfg.Code, f.code); err != nil {
			return nil, fmt.Errorf("function %s: %w", cfg.Name, err)
		}
	}
	f.opt = filepath.Join(cfg.WorkDir, "opt")
	if err := os.MkdirAll(f.opt, 0o755); err != nil {
		return nil, err
	}
	for _, l := range cfg.Layers {
		if err := unzip(l, f.opt); err != nil {
			return nil, fmt.Errorf("function %s: layer: %w", cfg.Name, err)
		}
	}
	f.etc = filepath.Join(cfg.WorkDir, "etc")
	if err := writeEtc(f.etc); err != nil {
		return nil, err
	}
	for i := range cfg.Instances {
		in := &instance{f: f, tmp: filepath.Join(cfg.WorkDir, "tmp-"+strconv.Itoa(i))}
		f.instances = append(f.instances, in)
		f.slots <- in
	}
	return f, nil
}

// checkStatic refuses a dynamically linked emulator with one line: it
// could not start in the root, and the error would be obscure.
func checkStatic(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("lambdarie: the emulator: %w (make rie builds it)", err)
	}
	if bytes.Contains(b, []byte("/lib64/ld-linux")) || bytes.Contains(b, []byte("/lib/ld-linux")) {
		return fmt.Errorf("lambdarie: %s is dynamically linked; build it with CGO_ENABLED=0", path)
	}
	return nil
}

// Env is the environment the function sees: Lambda's own variables for a
// provided.al2023 function, then the configured ones.
func (f *Function) env() []string {
	c := &f.cfg
	vars := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        c.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(c.MemoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + c.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      "local/[$LATEST]" + c.Name,
		"AWS_REGION":                      c.Region,
		"AWS_DEFAULT_REGION":              c.Region,
		"AWS_ACCESS_KEY_ID":               c.AccessKey,
		"AWS_SECRET_ACCESS_KEY":           c.SecretKey,
		"AWS_ENDPOINT_URL":                c.Endpoint,
		"_HANDLER":                        "bootstrap",
		"LAMBDA_TASK_ROOT":                "/var/task",
		"LAMBDA_RUNTIME_DIR":              "/var/runtime",
		"LANG":                            "en_US.UTF-8",
		"TZ":                              ":UTC",
		"PATH":                            "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
		"LD_LIBRARY_PATH":                 "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
		// Read by the emulator itself, which passes its environment on.
		"AWS_LAMBDA_FUNCTION_TIMEOUT": strconv.Itoa(int(max(1, c.Timeout.Round(time.Second)/time.Second))),
	}
	for k, v := range c.Env {
		vars[k] = v
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out
}

// Invoke runs one invocation on a free emulator, waiting for one. A
// function error comes back as messages.InvokeResponse_Error (the local
// cloud's X-Amz-Function-Error), as from an in-process handler.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var in *instance
	select {
	case in = <-f.slots:
	default:
		// All busy: say so once if it lasts, as Lambda would throttle.
		busy := time.NewTimer(5 * time.Second)
		defer busy.Stop()
	wait:
		for {
			select {
			case in = <-f.slots:
				break wait
			case <-busy.C:
				f.cfg.Log.Warn("every emulator is busy; the invocation waits", "instances", f.cfg.Instances)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	defer func() { f.slots <- in }()
	if err := in.ensure(ctx); err != nil {
		in.stop()
		f.cfg.Log.Warn("emulator did not start", "err", err)
		return nil, messages.InvokeResponse_Error{Type: "Runtime.StartFailed", Message: fmt.Sprintf("function %s: %v", f.cfg.Name, err)}
	}
	// The function's timeout bounds every invocation, whoever calls (the
	// edge calls the API directly): a stuck one frees its emulator.
	bounded, cancel := context.WithTimeout(ctx, f.cfg.Timeout+time.Second)
	defer cancel()
	out, err := in.invoke(bounded, payload)
	if err != nil && ctx.Err() == nil && bounded.Err() != nil {
		err = messages.InvokeResponse_Error{Type: "Sandbox.Timedout", Message: fmt.Sprintf("Task timed out after %.2f seconds", f.cfg.Timeout.Seconds())}
	}
	var fe messages.InvokeResponse_Error
	if err != nil && !(errors.As(err, &fe) && fe.Type != "Sandbox.Timedout" && !strings.HasPrefix(fe.Type, "Runtime.")) {
		// Anything but a handled function error leaves the sandbox in
		// doubt: the next invocation gets a new one.
		f.cfg.Log.Warn("sandbox replaced", "err", err)
		in.stop()
	}
	return out, err
}

// Close stops every emulator.
func (f *Function) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	for _, in := range f.instances {
		in.stop()
	}
	return nil
}

// instance is one emulator; only the goroutine holding its slot uses it.
type instance struct {
	f    *Function
	tmp  string
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
	if err := os.RemoveAll(in.tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(in.tmp, 0o1777); err != nil {
		return err
	}
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
		"--bind", in.tmp, "/tmp",
		"--dev", "/dev", "--proc", "/proc",
		"--dir", "/var/runtime",
		"--remount-ro", "/",
		"--chdir", "/var/task",
		rieInRoot, "--log-level", "error",
		"--runtime-interface-emulator-address", ports[0], "--runtime-api-address", ports[1],
	}
	cmd := exec.Command(f.bwrap, args...)
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
		return fmt.Errorf("start bwrap: %w", err)
	}
	done := make(chan struct{})
	in.cmd, in.done = cmd, done
	in.mu.Unlock()
	go func() { _ = cmd.Wait(); w.flush(); close(done) }()
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

// writeEtc writes the root's /etc: names, the resolver (the host's, as
// the network is the host's) and the CA bundle at Amazon Linux's path.
func writeEtc(dir string) error {
	files := map[string]string{
		"passwd":      "root:x:0:0:root:/root:/sbin/nologin\nsbx_user1051:x:993:990::/home/sbx_user1051:/sbin/nologin\n",
		"group":       "root:x:0:\nsbx_user1051:x:990:\n",
		"hosts":       "127.0.0.1 localhost\n::1 localhost\n",
		"os-release":  "NAME=\"Amazon Linux\"\nVERSION=\"2023\"\nID=\"amzn\"\nVERSION_ID=\"2023\"\n",
		"resolv.conf": "",
	}
	if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		files["resolv.conf"] = string(b)
	}
	for _, ca := range []string{"/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/cert.pem"} {
		if b, err := os.ReadFile(ca); err == nil {
			files["pki/tls/certs/ca-bundle.crt"] = string(b)
			break
		}
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// unzip extracts a zip into dir with the modes it records, refusing names
// that would land outside dir.
func unzip(path, dir string) error {
	r, err := zip.OpenReader(path)
	if err != nil {
		return err
	}
	defer r.Close()
	for _, zf := range r.File {
		name := filepath.Clean(zf.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("%s: %q is outside the archive's folder", path, zf.Name)
		}
		dst := filepath.Join(dir, name)
		if zf.FileInfo().IsDir() {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := extract(zf, dst); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

func extract(zf *zip.File, dst string) error {
	src, err := zf.Open()
	if err != nil {
		return err
	}
	defer src.Close()
	mode := zf.Mode().Perm()
	if mode == 0 {
		mode = 0o644
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, src); err != nil {
		out.Close()
		return err
	}
	return out.Close()
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

// lineLogger logs what the sandbox prints, one record per line (as
// CloudWatch keeps it).
type lineLogger struct {
	log *slog.Logger
	mu  sync.Mutex
	buf []byte
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *lineLogger) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = nil
	}
}

func (w *lineLogger) emit(line []byte) {
	s := strings.TrimRight(string(line), "\r")
	if strings.TrimSpace(s) != "" {
		w.log.Info(s)
	}
}
