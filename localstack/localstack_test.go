package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/testenv"
)

// hangGuard bounds each make target: the point of the one-line errors is
// that a missing LocalStack never hangs, so running into it is a failure.
const hangGuard = time.Minute

// cleanEnv is the test's environment without anything that would point
// the targets at a real LocalStack or deployment.
func cleanEnv(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "LOCALSTACK_") || strings.HasPrefix(k, "LS_") || strings.HasPrefix(k, "HLSFLOW_E2E_") ||
			strings.HasPrefix(k, "AWS_") || k == "DOCKER_HOST" {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

type result struct {
	code           int
	stdout, stderr string
}

// runTarget runs `make TARGET` at the repository root.
func runTarget(t *testing.T, target string, env map[string]string, limit time.Duration) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", target)
	cmd.Dir = testenv.RepoRoot(t)
	cmd.Env = cleanEnv(env)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("make %s did not stop within %s (it must never hang)\nstdout: %s\nstderr: %s", target, limit, &out, &errb)
	}
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run make %s: %v", target, err)
	}
	return r
}

var makeTrailer = regexp.MustCompile(`^make(\[\d+\])?: \*\*\* `)

// oneLine checks the contract of a failing target: non-zero exit, and on
// stderr exactly one line of its own (besides make's "make: *** ... Error"
// trailer), naming the target and saying what is missing.
func oneLine(t *testing.T, target string, r result, want string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("make %s exited 0; want a failure\nstdout: %s\nstderr: %s", target, r.stdout, r.stderr)
	}
	var own []string
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		// "make[1]: *** …" when the test itself runs under make.
		if makeTrailer.MatchString(l) || strings.TrimSpace(l) == "" {
			continue
		}
		own = append(own, l)
	}
	if len(own) != 1 {
		t.Fatalf("make %s printed %d lines on stderr, want 1:\n%s", target, len(own), r.stderr)
	}
	if !strings.HasPrefix(own[0], target+": ") || !strings.Contains(own[0], want) {
		t.Errorf("make %s said\n  %s\nwant a line starting %q that contains %q", target, own[0], target+": ", want)
	}
}

// closedEndpoint is a loopback URL where nothing listens.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// fakeLocalStack answers LocalStack's health and init endpoints as a
// starting or ready LocalStack does, HEAD on the listed buckets, and every
// other request (an AWS API call) with a CloudFormation-style 400, which
// is where a deploy against it must stop. LocalStack itself cannot run
// here (it needs Docker and an auth token).
type fakeLocalStack struct {
	*httptest.Server
	apiCalls atomic.Int64
}

func newFakeLocalStack(t *testing.T, ready bool, buckets ...string) *fakeLocalStack {
	t.Helper()
	state := "running"
	if !ready {
		state = "initializing"
	}
	health := fmt.Sprintf(`{"services": {"cloudformation": "available", "s3": %q, "lambda": "available", "sqs": "running", "iam": "available", "logs": "available"}, "edition": "pro", "version": "4.14.0"}`, state)
	f := &fakeLocalStack{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/_localstack/health":
			fmt.Fprint(w, health)
		case r.URL.Path == "/_localstack/init/ready":
			fmt.Fprintf(w, `{"completed": %t, "scripts": []}`, ready)
		case r.Method == http.MethodHead && slices.Contains(buckets, strings.Trim(r.URL.Path, "/")):
			w.WriteHeader(http.StatusOK)
		case r.Method == http.MethodHead:
			w.WriteHeader(http.StatusNotFound)
		default:
			f.apiCalls.Add(1)
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>hlsflow test: this endpoint is not LocalStack</Message></Error><RequestId>1</RequestId></ErrorResponse>`)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func TestTargetsFailWithOneLine(t *testing.T) {
	notLocalStack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "AccessDenied", http.StatusForbidden) // what an S3 server such as `hlsflow up` answers
	}))
	defer notLocalStack.Close()
	starting := newFakeLocalStack(t, false)
	ready := newFakeLocalStack(t, true, "hlsflow-uploadsbucket-present")
	work := t.TempDir()
	outputs := filepath.Join(work, "outputs.json")
	if err := os.WriteFile(outputs, []byte(`{"Hlsflow": {"UploadsBucketName": "hlsflow-uploadsbucket-gone", "MediaBucketName": "m"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	noDocker := "Docker is not running"
	if _, err := exec.LookPath("docker"); err != nil {
		noDocker = "docker is not installed"
	}
	deadDocker := "unix://" + filepath.Join(work, "no-docker.sock")

	cases := []struct {
		name, target string
		env          map[string]string
		want         string
	}{
		{"up without an auth token", "localstack-up", map[string]string{}, "LOCALSTACK_AUTH_TOKEN is not set"},
		{"up without Docker", "localstack-up", map[string]string{"LOCALSTACK_AUTH_TOKEN": "t", "DOCKER_HOST": deadDocker}, noDocker},
		{"down without Docker", "localstack-down", map[string]string{"DOCKER_HOST": deadDocker}, noDocker},
		{"deploy with nothing on the port", "localstack-deploy", map[string]string{"LOCALSTACK_ENDPOINT": closedEndpoint(t)}, "LocalStack is not answering at http://127.0.0.1:"},
		{"deploy with another server on the port", "localstack-deploy", map[string]string{"LOCALSTACK_ENDPOINT": notLocalStack.URL}, "answers HTTP 403 to /_localstack/health, so it is not LocalStack"},
		{"deploy before LocalStack is ready", "localstack-deploy", map[string]string{"LOCALSTACK_ENDPOINT": starting.URL}, "is not ready (s3=initializing init-hooks=running)"},
		{"wait gives up", "localstack-wait", map[string]string{"LOCALSTACK_ENDPOINT": starting.URL, "LOCALSTACK_WAIT": "2"}, "did not become ready in 2 s (s3=initializing init-hooks=running)"},
		{"test before a deploy", "localstack-test", map[string]string{"LS_OUTPUTS": filepath.Join(work, "absent.json")}, "no stack outputs at " + filepath.Join(work, "absent.json") + ": deploy first with make localstack-deploy"},
		{"test with LocalStack gone", "localstack-test", map[string]string{"LS_OUTPUTS": outputs, "LOCALSTACK_ENDPOINT": closedEndpoint(t)}, "LocalStack is not answering"},
		{"test after LocalStack lost the stack", "localstack-test", map[string]string{"LS_OUTPUTS": outputs, "LOCALSTACK_ENDPOINT": ready.URL}, "bucket hlsflow-uploadsbucket-gone from " + outputs + " is not on LocalStack (HEAD: 404"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.env["LS_WORK"] = t.TempDir()
			oneLine(t, c.target, runTarget(t, c.target, c.env, hangGuard), c.want)
		})
	}
	if n := ready.apiCalls.Load() + starting.apiCalls.Load(); n != 0 {
		t.Errorf("targets made %d AWS API calls before their checks passed", n)
	}
}

// compose resolves docker-compose.yml as `docker compose config` would,
// with compose-go (composecheck/), and returns the project as JSON.
func compose(t *testing.T, env map[string]string) (map[string]any, error) {
	t.Helper()
	root := testenv.RepoRoot(t)
	cmd := exec.Command("go", "run", ".", filepath.Join(root, "localstack", "docker-compose.yml"))
	cmd.Dir = filepath.Join(root, "localstack", "composecheck")
	cmd.Env = cleanEnv(env)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, &errb)
	}
	var p map[string]any
	if err := json.Unmarshal(out.Bytes(), &p); err != nil {
		return nil, fmt.Errorf("composecheck output: %v", err)
	}
	return p, nil
}

// lookup walks a decoded JSON document: lookup(p, "services", "localstack").
func lookup(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func TestComposeFile(t *testing.T) {
	ffmpegDir := t.TempDir()
	full := map[string]string{"LOCALSTACK_AUTH_TOKEN": "ls-test-token", "HLSFLOW_FFMPEG_BIN": ffmpegDir}
	t.Run("resolves", func(t *testing.T) {
		p, err := compose(t, full)
		if err != nil {
			t.Fatal(err)
		}
		svc := lookup(p, "services", "localstack")
		if img, _ := lookup(svc, "image").(string); !regexp.MustCompile(`^localstack/localstack(-pro)?:\d+\.\d+\.\d+$`).MatchString(img) {
			t.Errorf("image %q is not pinned to an exact LocalStack version", img)
		}
		env, _ := lookup(svc, "environment").(map[string]any)
		if env["LOCALSTACK_AUTH_TOKEN"] != "ls-test-token" {
			t.Errorf("LOCALSTACK_AUTH_TOKEN is not passed through: %v", env["LOCALSTACK_AUTH_TOKEN"])
		}
		if f, _ := env["LAMBDA_DOCKER_FLAGS"].(string); !strings.Contains(f, "-v "+ffmpegDir+":/opt/bin") {
			t.Errorf("LAMBDA_DOCKER_FLAGS %q does not mount the ffmpeg folder at /opt/bin", f)
		}
		mounts := map[string]string{}
		vols, _ := lookup(svc, "volumes").([]any)
		for _, v := range vols {
			src, _ := lookup(v, "source").(string)
			dst, _ := lookup(v, "target").(string)
			mounts[dst] = src
		}
		if mounts["/var/run/docker.sock"] != "/var/run/docker.sock" {
			t.Errorf("the Docker socket is not mounted (Lambdas run as sibling containers): %v", mounts)
		}
		hooks := mounts["/etc/localstack/init/ready.d"]
		scripts, _ := filepath.Glob(filepath.Join(hooks, "*.sh"))
		if len(scripts) == 0 {
			t.Errorf("no ready hook in %q", hooks)
		}
		for _, s := range scripts {
			if fi, err := os.Stat(s); err != nil || fi.Mode()&0o111 == 0 {
				t.Errorf("ready hook %s is not executable (LocalStack skips it)", s)
			}
			if out, err := exec.Command("sh", "-n", s).CombinedOutput(); err != nil {
				t.Errorf("ready hook %s: %v %s", s, err, out)
			}
		}
		if test, _ := lookup(svc, "healthcheck", "test").([]any); len(test) == 0 {
			t.Errorf("no health check")
		}
		gateway := false
		ports, _ := lookup(svc, "ports").([]any)
		for _, pt := range ports {
			if lookup(pt, "target") == float64(4566) {
				gateway = true
				if ip := lookup(pt, "host_ip"); ip != "127.0.0.1" {
					t.Errorf("gateway published on %v, want 127.0.0.1 only", ip)
				}
			}
		}
		if !gateway {
			t.Errorf("port 4566 is not published")
		}
	})
	for _, c := range []struct{ name, unset, want string }{
		{"stops without an auth token", "LOCALSTACK_AUTH_TOKEN", "required variable LOCALSTACK_AUTH_TOKEN is missing"},
		{"stops without the ffmpeg folder", "HLSFLOW_FFMPEG_BIN", "required variable HLSFLOW_FFMPEG_BIN is missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range full {
				if k != c.unset {
					env[k] = v
				}
			}
			_, err := compose(t, env)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	t.Run("docker compose config", func(t *testing.T) {
		if err := exec.Command("docker", "compose", "version").Run(); err != nil {
			t.Skipf("the docker compose plugin is not installed here (%v); compose-go above checked the file", err)
		}
		cmd := exec.Command("docker", "compose", "-f", filepath.Join(testenv.RepoRoot(t), "localstack", "docker-compose.yml"), "config", "--quiet")
		cmd.Env = cleanEnv(full)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("docker compose config: %v\n%s", err, out)
		}
	})
}

// serviceOf maps a CloudFormation resource type to the LocalStack service
// that must be listed in SERVICES to create it.
var serviceOf = map[string]string{
	"IAM": "iam", "Lambda": "lambda", "S3": "s3", "SQS": "sqs", "Logs": "logs", "CloudWatch": "cloudwatch",
	"SSM": "ssm", "ECR": "ecr", "SNS": "sns", "Events": "events", "KMS": "kms",
}

// TestDeployRunsSynthThenStopsWithOneLine drives `make localstack-deploy`
// against a fake LocalStack that is ready but refuses every AWS call: the
// real cdklocal synthesises the real app with `local=true` (offline), then
// bootstrap fails against the endpoint and the target says so in one line.
func TestDeployRunsSynthThenStopsWithOneLine(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the functions and the CDK app and runs cdklocal synth (about a minute)")
	}
	fake := newFakeLocalStack(t, true)
	work := t.TempDir()
	// Generous: the first build of the functions and the CDK app for this
	// architecture compiles the AWS SDK and CDK bindings from scratch.
	// Only transcode (the one function the stack requires) keeps the build short.
	env := map[string]string{"LOCALSTACK_ENDPOINT": fake.URL, "LS_WORK": work, "LS_FUNCTIONS": "transcode"}
	r := runTarget(t, "localstack-deploy", env, 20*time.Minute)
	oneLine(t, "localstack-deploy", r, "cdklocal bootstrap failed on LocalStack at "+fake.URL)
	t.Logf("make localstack-deploy said: %s", strings.TrimSpace(r.stderr))
	if fake.apiCalls.Load() == 0 {
		t.Errorf("cdklocal never called the LocalStack endpoint (it would have gone to AWS)")
	}
	if !strings.Contains(r.stdout, "cdklocal synth -c local=true") {
		t.Errorf("stdout does not show the synth step:\n%s", r.stdout)
	}

	b, err := os.ReadFile(filepath.Join(work, ".cdk.out", "Hlsflow.template.json"))
	if err != nil {
		t.Fatalf("cdklocal synth left no template: %v\nstdout: %s", err, r.stdout)
	}
	var tpl struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
		Outputs map[string]any
	}
	if err := json.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"UploadsBucketName", "MediaBucketName"} {
		if _, ok := tpl.Outputs[o]; !ok {
			t.Errorf("the local stack has no %s output, which the suite reads", o)
		}
	}
	p, err := compose(t, map[string]string{"LOCALSTACK_AUTH_TOKEN": "t", "HLSFLOW_FFMPEG_BIN": work})
	if err != nil {
		t.Fatal(err)
	}
	services, _ := lookup(p, "services", "localstack", "environment", "SERVICES").(string)
	listed := strings.Split(services, ",")
	wantArch := "x86_64"
	if runtime.GOARCH == "arm64" {
		wantArch = "arm64"
	}
	for id, res := range tpl.Resources {
		parts := strings.Split(res.Type, "::")
		if parts[0] != "AWS" || res.Type == "AWS::CDK::Metadata" {
			continue // custom resources run as Lambdas
		}
		svc, known := serviceOf[parts[1]]
		switch {
		case !known:
			t.Errorf("%s is a %s: not expected in the local stack (paid in LocalStack, or add it to serviceOf and SERVICES)", id, res.Type)
		case !slices.Contains(listed, svc):
			t.Errorf("%s is a %s, but SERVICES in docker-compose.yml (%s) lacks %s", id, res.Type, services, svc)
		}
		if res.Type == "AWS::Lambda::Function" {
			if _, ok := res.Properties["Layers"]; ok {
				t.Errorf("function %s uses a layer (a paid LocalStack feature)", id)
			}
			if res.Properties["Runtime"] != "provided.al2023" {
				continue // CDK's own handlers (bucket notifications)
			}
			if arch := fmt.Sprint(res.Properties["Architectures"]); arch != "["+wantArch+"]" && !(arch == "<nil>" && wantArch == "x86_64") {
				t.Errorf("function %s architecture %s, want %s (this machine's, so LocalStack needs no emulation)", id, arch, wantArch)
			}
		}
	}
}
