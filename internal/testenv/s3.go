package testenv

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/hlsflow/hlsflow/internal/store"
)

// Buckets every S3Env has, as in local mode.
const (
	BucketUploads = "uploads"
	BucketMedia   = "media"
)

// Credentials and region of the test S3.
const (
	AccessKey = "test"
	SecretKey = "test"
	Region    = "us-east-1"
)

// S3Env is a running S3 server with buckets "uploads" and "media".
type S3Env struct {
	Endpoint                     string // http://127.0.0.1:PORT
	Store                        *store.Store
	AccessKey, SecretKey, Region string
}

// Config returns an aws.Config for this server (static credentials,
// BaseEndpoint set); pass it to store.New or any SDK client, with
// path-style addressing for S3.
func (e *S3Env) Config() aws.Config {
	return aws.Config{
		Region:       e.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(e.AccessKey, e.SecretKey, ""),
		BaseEndpoint: aws.String(e.Endpoint),
	}
}

// Environ returns the variables that point the AWS SDK (and store.FromEnv,
// and the aws CLI) at this server; append them to a subprocess's Env.
func (e *S3Env) Environ() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + e.Endpoint,
		"AWS_ACCESS_KEY_ID=" + e.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + e.SecretKey,
		"AWS_REGION=" + e.Region,
		"AWS_DEFAULT_REGION=" + e.Region,
	}
}

// Setenv sets Environ's variables for the duration of the test (so code
// under test that calls store.FromEnv reaches this server). Like
// t.Setenv, it cannot be used in parallel tests.
func (e *S3Env) Setenv(t testing.TB) {
	t.Helper()
	for _, kv := range e.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	// A shared credentials file or profile must not win over the variables.
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_SESSION_TOKEN", "")
}

// The server runs in a child process (this test binary re-executed with
// childEnv set; see child.go) because versitygw allows one gateway per
// process and its posix backend changes the working directory, which
// would break every relative path in the tests.
const (
	childEnv    = "HLSFLOW_TESTENV_S3_CHILD"
	readyPrefix = "HLSFLOW_TESTENV_S3_READY "
	startWait   = 60 * time.Second
)

var (
	s3Once sync.Once
	s3Env  *S3Env
	s3Err  error
)

// S3 returns the test binary's S3 server, starting it on first use on a
// free 127.0.0.1 port with a temporary data dir, credentials test/test and
// region us-east-1. All tests of a binary share it: use keys unique to the
// test (e.g. under t.Name()). It stops when the test binary exits.
func S3(t testing.TB) *S3Env {
	t.Helper()
	s3Once.Do(func() { s3Env, s3Err = startS3() })
	if s3Err != nil {
		t.Fatalf("testenv: %v", s3Err)
	}
	return s3Env
}

func startS3() (*S3Env, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start test s3: %w", err)
	}
	dir, err := os.MkdirTemp("", "hlsflow-testenv-s3-")
	if err != nil {
		return nil, fmt.Errorf("start test s3: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = os.Stderr
	// The child exits when this pipe closes, which the kernel does when
	// this process ends however it ends. The write end is never closed:
	// cmd holds it, and the goroutine in cmd.Wait keeps cmd reachable.
	if _, err := cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("start test s3: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start test s3: %w", err)
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start test s3: %w", err)
	}

	ready := make(chan string, 1)
	var mu sync.Mutex
	var tail []string
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if ep, ok := strings.CutPrefix(line, readyPrefix); ok {
				ready <- ep
				continue
			}
			mu.Lock()
			tail = append(tail, line)
			if len(tail) > 20 {
				tail = tail[1:]
			}
			mu.Unlock()
		}
		io.Copy(io.Discard, stdout)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	var endpoint string
	select {
	case endpoint = <-ready:
	case err := <-exited:
		mu.Lock()
		defer mu.Unlock()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start test s3: child exited (%v): %s", err, strings.Join(tail, " | "))
	case <-time.After(startWait):
		cmd.Process.Kill()
		return nil, fmt.Errorf("start test s3: not ready after %s", startWait)
	}

	env := &S3Env{Endpoint: endpoint, AccessKey: AccessKey, SecretKey: SecretKey, Region: Region}
	env.Store = store.New(env.Config())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, b := range []string{BucketUploads, BucketMedia} {
		if err := env.Store.EnsureBucket(ctx, b); err != nil {
			return nil, fmt.Errorf("start test s3: %w", err)
		}
	}
	return env, nil
}
