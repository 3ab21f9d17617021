package lambdarie_test

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/hlsflow/hlsflow/internal/lambdarie"
)

// EnvRIE names the aws-lambda-rie binary the tests run (`make rie` builds
// it; `make test-lambda-zip` sets this). Without it the tests skip: the
// plain `go test ./...` of `make test` has no emulator, the zip pass after
// it does.
const EnvRIE = "HLSFLOW_RIE"

type probeResponse struct {
	Env      []string        `json:"env"`
	Root     []string        `json:"root"`
	Writable map[string]bool `json:"writable"`
	Output   string          `json:"output"`
	Procs    []string        `json:"procs"`
	UID      int             `json:"uid"`
}

// probe builds testdata/probe as a function asset and a layer holding one
// file, and returns a Function running it.
func probe(t *testing.T, mod func(*lambdarie.Config)) *lambdarie.Function {
	t.Helper()
	rie := os.Getenv(EnvRIE)
	if rie == "" {
		t.Skipf("%s is not set: `make test-lambda-zip` runs these tests with the emulator", EnvRIE)
	}
	dir := t.TempDir()
	code := filepath.Join(dir, "code")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", filepath.Join(code, "bootstrap"), "./testdata/probe")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build probe: %v\n%s", err, out)
	}
	layer := filepath.Join(dir, "layer.zip")
	writeZip(t, layer, map[string]string{"bin/note.txt": "from the layer"})
	cfg := lambdarie.Config{
		Name: "probe", Code: code, Layers: []string{layer},
		Env:      map[string]string{"UPLOADS_BUCKET": "uploads"},
		MemoryMB: 512, Timeout: 2 * time.Second, Region: "eu-west-1",
		AccessKey: "AK", SecretKey: "SK", Endpoint: "http://127.0.0.1:1",
		RIE: rie, WorkDir: filepath.Join(dir, "work"),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if testing.Verbose() {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if mod != nil {
		mod(&cfg)
	}
	f, err := lambdarie.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func writeZip(t *testing.T, path string, files map[string]string) {
	t.Helper()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(out)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	out.Close()
}

func invoke(t *testing.T, f *lambdarie.Function, req map[string]any) (*probeResponse, error) {
	t.Helper()
	b, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := f.Invoke(ctx, b)
	if err != nil {
		return nil, err
	}
	var r probeResponse
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("response %q: %v", out, err)
	}
	return &r, nil
}

func functionError(t *testing.T, err error, typ string) messages.InvokeResponse_Error {
	t.Helper()
	var fe messages.InvokeResponse_Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T), want a function error", err, err)
	}
	if typ != "" && fe.Type != typ {
		t.Fatalf("error type %q (%s), want %q", fe.Type, fe.Message, typ)
	}
	return fe
}

// The sandbox: Lambda's variables and the configured ones, none of this
// process's; the code at /var/task, the layer under /opt, only /tmp
// writable; Lambda's user; its own PID namespace.
func TestSandboxLooksLikeLambda(t *testing.T) {
	t.Setenv("HLSFLOW_HOST_ONLY", "leaked")
	f := probe(t, nil)
	r, err := invoke(t, f, map[string]any{"read": "/opt/bin/note.txt",
		"write": []string{"/tmp/x", "/var/task/x", "/opt/x", "/etc/x", "/x"}})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range r.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, v := range map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME": "probe", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "AWS_REGION": "eu-west-1",
		"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK", "LAMBDA_TASK_ROOT": "/var/task",
		"UPLOADS_BUCKET": "uploads", "AWS_ENDPOINT_URL": "http://127.0.0.1:1", "_HANDLER": "bootstrap",
	} {
		if env[k] != v {
			t.Errorf("%s=%q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["HLSFLOW_HOST_ONLY"]; ok {
		t.Errorf("the host's environment reached the function: %v", r.Env)
	}
	if env["AWS_LAMBDA_RUNTIME_API"] == "" {
		t.Errorf("no AWS_LAMBDA_RUNTIME_API: %v", r.Env)
	}
	if r.Output != "from the layer" {
		t.Errorf("/opt/bin/note.txt: %q", r.Output)
	}
	for p, want := range map[string]bool{"/tmp/x": true, "/var/task/x": false, "/opt/x": false, "/etc/x": false, "/x": false} {
		if r.Writable[p] != want {
			t.Errorf("%s writable: %v, want %v", p, r.Writable[p], want)
		}
	}
	for _, name := range r.Root {
		if !slices.Contains([]string{"dev", "etc", "opt", "proc", "tmp", "var"}, name) {
			t.Errorf("the root holds %q, which provided.al2023 code must not rely on (root: %v)", name, r.Root)
		}
	}
	if r.UID != 993 {
		t.Errorf("the function runs as uid %d, want Lambda's 993", r.UID)
	}
	// Its own PID namespace: bubblewrap's init, the emulator, the function.
	if len(r.Procs) > 3 {
		t.Errorf("the function sees processes %v: the sandbox does not have its own PID namespace", r.Procs)
	}
	for _, ca := range []string{"/etc/pki/tls/certs/ca-bundle.crt"} {
		if _, err := invoke(t, f, map[string]any{"read": ca}); err != nil {
			t.Errorf("CA bundle: %v", err)
		}
	}
}

// A function that reads a variable the configuration does not give it
// fails, even when the host process has it.
func TestUnsetVariableFails(t *testing.T) {
	t.Setenv("MEDIA_BUCKET", "media")
	f := probe(t, nil)
	if _, err := invoke(t, f, map[string]any{"require": "UPLOADS_BUCKET"}); err != nil {
		t.Fatalf("a configured variable: %v", err)
	}
	_, err := invoke(t, f, map[string]any{"require": "MEDIA_BUCKET"})
	if fe := functionError(t, err, ""); !strings.Contains(fe.Message, "MEDIA_BUCKET is not set") {
		t.Fatalf("error %q", fe.Message)
	}
}

// Errors come back as Lambda reports them; a crash or a timeout costs the
// sandbox, and the next invocation gets a new one.
func TestErrorsTimeoutsAndCrashes(t *testing.T) {
	f := probe(t, func(c *lambdarie.Config) { c.Timeout = time.Second })
	_, err := invoke(t, f, map[string]any{"fail": "no good"})
	if fe := functionError(t, err, "errorString"); fe.Message != "no good" {
		t.Fatalf("message %q", fe.Message)
	}
	_, err = invoke(t, f, map[string]any{"sleep": "5s"})
	functionError(t, err, "Sandbox.Timedout")
	if _, err := invoke(t, f, nil); err != nil {
		t.Fatalf("after a timeout: %v", err)
	}
	_, err = invoke(t, f, map[string]any{"exit": true})
	fe := functionError(t, err, "")
	if !strings.HasPrefix(fe.Type, "Runtime.") {
		t.Fatalf("a crash is %q: %s", fe.Type, fe.Message)
	}
	if _, err := invoke(t, f, nil); err != nil {
		t.Fatalf("after a crash: %v", err)
	}
}

// A bootstrap that is not there fails the invocation, naming no success.
func TestMissingBootstrapFails(t *testing.T) {
	f := probe(t, func(c *lambdarie.Config) { c.Code = t.TempDir() })
	_, err := invoke(t, f, nil)
	functionError(t, err, "")
}

// The function's memory size is a limit, as on Lambda: going over it ends
// the environment; the next invocation gets a new one. Where no memory
// cgroup can be made the limit is not enforced, and the test says so.
func TestMemorySizeIsEnforced(t *testing.T) {
	if err := lambdarie.CanLimitMemory(); err != nil {
		t.Skipf("no writable memory cgroup here (%v): the size is not enforced", err)
	}
	f := probe(t, func(c *lambdarie.Config) { c.MemoryMB = 128; c.Timeout = 10 * time.Second })
	if _, err := invoke(t, f, map[string]any{"alloc": 32}); err != nil {
		t.Fatalf("32 MiB in a 128 MiB function: %v", err)
	}
	_, err := invoke(t, f, map[string]any{"alloc": 400})
	fe := functionError(t, err, "")
	if !strings.HasPrefix(fe.Type, "Runtime.") {
		t.Fatalf("400 MiB in a 128 MiB function: %q %s, want a runtime failure", fe.Type, fe.Message)
	}
	if _, err := invoke(t, f, map[string]any{"alloc": 32}); err != nil {
		t.Fatalf("after running out of memory: %v", err)
	}
}

// /tmp holds the function's ephemeral storage size and no more.
func TestTmpHasItsSize(t *testing.T) {
	f := probe(t, func(c *lambdarie.Config) { c.TmpMB = 16; c.MemoryMB = 1024 })
	if _, err := invoke(t, f, map[string]any{"fill": 8}); err != nil {
		t.Fatalf("8 MiB in a 16 MiB /tmp: %v", err)
	}
	_, err := invoke(t, f, map[string]any{"fill": 32})
	if fe := functionError(t, err, ""); !strings.Contains(fe.Message, "no space left") {
		t.Fatalf("32 MiB in a 16 MiB /tmp: %s", fe.Message)
	}
}
