// The harness: the system under test, started here or found by the
// environment.

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hlsflow/hlsflow/internal/store"
)

// Target is the system under test.
type Target struct {
	// S3Endpoint is the S3 API base URL; empty means AWS itself.
	S3Endpoint    string
	EdgeURL       string // playback base, e.g. http://127.0.0.1:8080 or https://dxxxx.cloudfront.net
	UploadsBucket string
	MediaBucket   string
	Region        string
	AccessKey     string
	SecretKey     string
	RTMPAddr      string // host:port; empty when the target has no live ingest
	UDPAddr       string
	SRTAddr       string // SRT ingest (UDP), local only
	// Local is set when the suite started the system itself.
	Local *LocalSystem
}

// Store returns an S3 client for the target.
func (t *Target) Store() *store.Store {
	cfg := aws.Config{Region: t.Region}
	if t.AccessKey != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(t.AccessKey, t.SecretKey, "")
	}
	if t.S3Endpoint != "" {
		cfg.BaseEndpoint = aws.String(t.S3Endpoint)
	}
	return store.New(cfg)
}

// Environment variables that point the suite at an existing deployment.
// Setting any of the first five selects that deployment instead of the
// embedded local cloud; localstack/README.md documents them.
const (
	EnvS3Endpoint = "HLSFLOW_E2E_S3_ENDPOINT"
	EnvEdgeURL    = "HLSFLOW_E2E_EDGE_URL"
	EnvUploads    = "HLSFLOW_E2E_UPLOADS_BUCKET"
	EnvMedia      = "HLSFLOW_E2E_MEDIA_BUCKET"
	EnvOutputs    = "HLSFLOW_E2E_CDK_OUTPUTS" // a `cdk deploy --outputs-file` JSON
	EnvRTMP       = "HLSFLOW_E2E_RTMP_ADDR"
	EnvUDP        = "HLSFLOW_E2E_UDP_ADDR"
	// EnvStack names the stack to read when the outputs file holds several.
	EnvStack = "HLSFLOW_E2E_STACK"
)

// TargetFromEnv returns the deployment named by the environment, or nil
// when none is (and the suite should start its own). Explicit variables win
// over the CDK outputs file. The S3 endpoint falls back to the SDK's own
// AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (what LocalStack users set), and
// with an endpoint but no playback output (a `local=true` stack has no
// CloudFront) the playback base is the media bucket, path-style, on it.
func TargetFromEnv(getenv func(string) string) (*Target, error) {
	selected := false
	for _, k := range []string{EnvS3Endpoint, EnvEdgeURL, EnvUploads, EnvMedia, EnvOutputs} {
		selected = selected || getenv(k) != ""
	}
	if !selected {
		// AWS_ENDPOINT_URL alone does not select a target: a developer may
		// have it set for other tools while running `make test`.
		return nil, nil
	}
	t := &Target{
		S3Endpoint:    strings.TrimRight(getenv(EnvS3Endpoint), "/"),
		EdgeURL:       strings.TrimRight(getenv(EnvEdgeURL), "/"),
		UploadsBucket: getenv(EnvUploads),
		MediaBucket:   getenv(EnvMedia),
		RTMPAddr:      getenv(EnvRTMP),
		UDPAddr:       getenv(EnvUDP),
		Region:        firstSet(getenv, "AWS_REGION", "AWS_DEFAULT_REGION"),
		AccessKey:     getenv("AWS_ACCESS_KEY_ID"),
		SecretKey:     getenv("AWS_SECRET_ACCESS_KEY"),
	}
	if path := getenv(EnvOutputs); path != "" {
		if err := t.readOutputs(path, getenv(EnvStack)); err != nil {
			return nil, err
		}
	}
	if t.S3Endpoint == "" {
		t.S3Endpoint = strings.TrimRight(firstSet(getenv, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"), "/")
	}
	if t.EdgeURL == "" && t.S3Endpoint != "" && t.MediaBucket != "" {
		t.EdgeURL = t.S3Endpoint + "/" + t.MediaBucket
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{EnvEdgeURL, t.EdgeURL}, {EnvUploads, t.UploadsBucket}, {EnvMedia, t.MediaBucket}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("e2e target from environment is incomplete: set %s (or %s)", strings.Join(missing, ", "), EnvOutputs)
	}
	if t.Region == "" {
		t.Region = "us-east-1"
	}
	return t, nil
}

func firstSet(getenv func(string) string, keys ...string) string {
	for _, k := range keys {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return ""
}

// CDK output keys the suite reads (infra/stack.go outputs()). Keys are
// matched by suffix so a prefixed construct path still matches.
const (
	outUploads     = "UploadsBucketName"
	outMedia       = "MediaBucketName"
	outPlayback    = "PlaybackBaseUrl" // not emitted by the stack: lets a hand-written file name any base
	outVODPattern  = "VodPlaybackUrlPattern"
	outCloudFront  = "CloudFrontDomain"
	outS3Endpoint  = "S3Endpoint" // not emitted by the stack either
	outRTMPURL     = "RtmpUrl"
	outRTMPAddress = "RtmpAddress"
	outUDP         = "UdpAddress"
	vodPatternTail = "/vod/{id}/master.m3u8"
)

// readOutputs fills unset fields from a CDK outputs file: {"Stack": {"Key": "value"}}.
// The playback base comes from PlaybackBaseUrl, else VodPlaybackUrlPattern
// (its part before /vod/), else https://CloudFrontDomain.
func (t *Target) readOutputs(path, stack string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read cdk outputs: %w", err)
	}
	var stacks map[string]map[string]string
	if err := json.Unmarshal(b, &stacks); err != nil {
		return fmt.Errorf("read cdk outputs %s: %w", path, err)
	}
	outs, err := pickStack(stacks, stack)
	if err != nil {
		return fmt.Errorf("read cdk outputs %s: %w", path, err)
	}
	get := func(name string) string {
		for k, v := range outs {
			if strings.HasSuffix(k, name) {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&t.UploadsBucket, get(outUploads))
	set(&t.MediaBucket, get(outMedia))
	set(&t.S3Endpoint, strings.TrimRight(get(outS3Endpoint), "/"))
	edge := strings.TrimRight(get(outPlayback), "/")
	if p := get(outVODPattern); edge == "" && p != "" {
		if !strings.HasSuffix(p, vodPatternTail) {
			return fmt.Errorf("read cdk outputs %s: %s %q does not end in %s", path, outVODPattern, p, vodPatternTail)
		}
		edge = strings.TrimSuffix(p, vodPatternTail)
	}
	if d := get(outCloudFront); edge == "" && d != "" {
		edge = "https://" + strings.TrimRight(d, "/")
	}
	set(&t.EdgeURL, edge)
	if u := get(outRTMPURL); u != "" {
		addr, err := hostPort(u, "1935")
		if err != nil {
			return fmt.Errorf("read cdk outputs %s: %s: %w", path, outRTMPURL, err)
		}
		set(&t.RTMPAddr, addr)
	}
	set(&t.RTMPAddr, strings.TrimPrefix(strings.TrimPrefix(get(outRTMPAddress), "rtmp://"), "tcp://"))
	set(&t.UDPAddr, strings.TrimPrefix(get(outUDP), "udp://"))
	return nil
}

// pickStack returns the named stack's outputs, or the only stack that has
// an uploads bucket output.
func pickStack(stacks map[string]map[string]string, name string) (map[string]string, error) {
	if name != "" {
		outs, ok := stacks[name]
		if !ok {
			return nil, fmt.Errorf("no stack %q (%s)", name, EnvStack)
		}
		return outs, nil
	}
	var found []string
	for n, outs := range stacks {
		for k := range outs {
			if strings.HasSuffix(k, outUploads) {
				found = append(found, n)
				break
			}
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("no stack has an output ending in %s", outUploads)
	case 1:
		return stacks[found[0]], nil
	}
	slices.Sort(found)
	return nil, fmt.Errorf("stacks %s all have %s: set %s to one of them", strings.Join(found, ", "), outUploads, EnvStack)
}

// hostPort turns rtmp://host[:port]/app into host:port.
func hostPort(raw, defPort string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%q is not a URL with a host", raw)
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), defPort), nil
	}
	return u.Host, nil
}

// LocalSystem is a `hlsflow up` the suite started as a child process.
type LocalSystem struct {
	Bin     string
	DataDir string
	cmd     *exec.Cmd
	logPath string
	done    chan error
}

// LocalOptions varies what StartLocalWith runs.
type LocalOptions struct {
	// Bin is an already built hlsflow binary; empty builds one into dir.
	Bin string
	// UpArgs are more flags for `hlsflow up` (ZipArgs: the functions
	// from their zips).
	UpArgs []string
}

// Environment variables that run the local system's functions from their
// built zips under the Lambda emulator (`make test-lambda-zip` sets them):
// EnvFunctions=zip, and where the functions, the layer and the emulator are.
const (
	EnvFunctions    = "HLSFLOW_E2E_FUNCTIONS"
	EnvFunctionsDir = "HLSFLOW_FUNCTIONS_DIR"
	EnvLayerZip     = "HLSFLOW_LAYER_ZIP"
	EnvRIE          = "HLSFLOW_RIE"
)

// ZipArgs are the `hlsflow up` flags that EnvFunctions asks for: nil when
// it is unset (the functions run in-process), an error when it is set but
// incomplete.
func ZipArgs(getenv func(string) string) ([]string, error) {
	switch getenv(EnvFunctions) {
	case "", "in-process":
		return nil, nil
	case "zip":
	default:
		return nil, fmt.Errorf("%s=%q: want zip or in-process", EnvFunctions, getenv(EnvFunctions))
	}
	args := []string{"--functions", "zip"}
	for _, f := range []struct{ env, flag string }{{EnvFunctionsDir, "--functions-dir"}, {EnvLayerZip, "--layer"}, {EnvRIE, "--rie"}} {
		v := getenv(f.env)
		if v == "" {
			return nil, fmt.Errorf("%s=zip needs %s", EnvFunctions, f.env)
		}
		args = append(args, f.flag, v)
	}
	return args, nil
}

// StartLocalWith is StartLocal with options.
func StartLocalWith(ctx context.Context, repoRoot, dir string, o LocalOptions) (*Target, error) {
	bin := o.Bin
	if bin == "" {
		bin = filepath.Join(dir, "hlsflow")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/hlsflow")
		build.Dir = repoRoot
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build hlsflow: %v\n%s", err, out)
		}
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	udp, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	srt, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	whip, err := freeUDPTCPPort() // ICE: UDP, and TCP on the same number
	if err != nil {
		return nil, err
	}
	t := &Target{
		S3Endpoint:    "http://" + ports[0],
		EdgeURL:       "http://" + ports[1],
		RTMPAddr:      ports[2],
		UDPAddr:       udp,
		SRTAddr:       srt,
		UploadsBucket: "uploads",
		MediaBucket:   "media",
		Region:        "us-east-1",
		AccessKey:     "test",
		SecretKey:     "test",
	}
	data := filepath.Join(dir, "data")
	logPath := filepath.Join(dir, "hlsflow-up.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}
	cmd := exec.Command(bin, append([]string{"up", "--data", data, "--s3", ports[0], "--edge", ports[1], "--rtmp", ports[2], "--udp", udp, "--srt", srt, "--whip-ice", whip}, o.UpArgs...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start hlsflow up: %w", err)
	}
	ls := &LocalSystem{Bin: bin, DataDir: data, cmd: cmd, logPath: logPath, done: make(chan error, 1)}
	go func() { ls.done <- cmd.Wait(); logf.Close() }()
	t.Local = ls
	if err := waitUp(ctx, t, ls); err != nil {
		_ = ls.Stop(5 * time.Second)
		return nil, err
	}
	return t, nil
}

func waitUp(ctx context.Context, t *Target, ls *LocalSystem) error {
	deadline := time.Now().Add(60 * time.Second)
	s := t.Store()
	for time.Now().Before(deadline) {
		select {
		case err := <-ls.done:
			ls.done <- err
			return fmt.Errorf("hlsflow up exited early (%v); log:\n%s", err, ls.Log())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if _, err := s.List(ctx, t.UploadsBucket, "none/"); err != nil {
			continue
		}
		resp, err := http.Get(t.EdgeURL + "/")
		if err != nil {
			continue
		}
		resp.Body.Close()
		return nil
	}
	return fmt.Errorf("hlsflow up not ready after 60 s; log:\n%s", ls.Log())
}

// Log returns what `hlsflow up` printed so far.
func (ls *LocalSystem) Log() string {
	b, _ := os.ReadFile(ls.logPath)
	return string(b)
}

// Stop sends SIGINT (Ctrl-C) and waits up to grace for a clean exit, then
// kills the process group.
func (ls *LocalSystem) Stop(grace time.Duration) error {
	_ = ls.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-ls.done:
		ls.done <- err
		return err
	case <-time.After(grace):
		_ = syscall.Kill(-ls.cmd.Process.Pid, syscall.SIGKILL)
		err := <-ls.done
		ls.done <- err
		return errors.Join(errors.New("hlsflow up did not stop on SIGINT in time"), err)
	}
}

func freePorts(n int) ([]string, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

func freeUDPPort() (string, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free udp port: %w", err)
	}
	defer c.Close()
	return c.LocalAddr().String(), nil
}

// freeUDPTCPPort finds a port free for both UDP and TCP (WHIP's ICE
// listens on both with one number): a port only checked for UDP was
// once taken for TCP by another test process, and hlsflow up failed.
func freeUDPTCPPort() (string, error) {
	for range 20 {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("find a free udp port: %w", err)
		}
		addr := c.LocalAddr().String()
		l, err := net.Listen("tcp", addr)
		c.Close()
		if err == nil {
			l.Close()
			return addr, nil
		}
	}
	return "", errors.New("no port free for both udp and tcp in 20 tries")
}
