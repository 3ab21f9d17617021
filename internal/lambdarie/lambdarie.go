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
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
	Env map[string]string
	// MemoryMB is enforced where a memory cgroup can be made (see
	// memory.go); TmpMB is the size of /tmp (default 512, as Lambda's).
	MemoryMB, TmpMB int
	Timeout         time.Duration
	Region          string
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
	memoryOnce      sync.Once // warns once that memory is not enforced
}

// New checks cfg, unpacks the code and layers and writes /etc; the
// emulators start on first use.
func New(cfg Config) (*Function, error) {
	if cfg.Name == "" || cfg.Code == "" || cfg.RIE == "" || cfg.WorkDir == "" || cfg.Endpoint == "" {
		return nil, errors.New("lambdarie: name, code, emulator, work dir and endpoint are required")
	}
	cfg.Instances = max(1, cfg.Instances)
	cfg.MemoryMB = cmp.Or(cfg.MemoryMB, 128)
	cfg.TmpMB = cmp.Or(cfg.TmpMB, 512)
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
		in := &instance{f: f, name: fmt.Sprintf("hlsflow-%d-%s-%d", os.Getpid(), cfg.Name, i)}
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
