package vod

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/hlsflow/hlsflow/internal/chunk"
	"github.com/hlsflow/hlsflow/internal/localcloud/invokeapi"
	"github.com/hlsflow/hlsflow/internal/localcloud/lambdas"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// The chunked tests (chunked_test.go, progressive_test.go) run the fan-out
// through the Lambda Invoke API, as on AWS. The test S3 runs in a child
// process (internal/testenv); the Invoke API is the local cloud's own
// (invokeapi over a lambdas.Runtime, SigV4 checked) on an httptest
// server, with "encode" registered through lambda.NewHandler so requests
// and responses go through Lambda's JSON serialisation, and called with
// LambdaEncoder. (Not localcloud.Start in this process: versitygw's event
// webhook races with its own request contexts under -race.)
var (
	st      *store.Store
	worker  *Worker
	chunks  ChunkEncoder
	faults  = &faultPlan{}
	srcPath string // a 24 s 854x480 source, looped from testdata/media
	quiet   = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	setupOnce sync.Once
	setupErr  error
	cleanups  []func()
)

// setup starts S3 and the Invoke API, and makes the source, on first use.
func setup(t testing.TB) {
	t.Helper()
	env := testenv.S3(t)
	setupOnce.Do(func() {
		tmp, err := os.MkdirTemp("", "encode-test-")
		if err != nil {
			setupErr = err
			return
		}
		cleanups = append(cleanups, func() { os.RemoveAll(tmp) })
		if srcPath, setupErr = makeSource(tmp); setupErr != nil {
			return
		}
		fn := func(ctx context.Context, r chunk.Request) (*chunk.Response, error) {
			faults.wait(ctx, r)
			if err := faults.check(r); err != nil {
				return nil, err
			}
			return worker.EncodeChunk(ctx, r)
		}
		rt := lambdas.New(lambdas.Config{
			Functions: map[string]lambdas.Function{"encode": {Handler: lambda.NewHandler(fn), Timeout: 5 * time.Minute}},
			Region:    env.Region, Logger: quiet,
		})
		srv := httptest.NewServer(&invokeapi.Handler{Runtime: rt, AccessKey: env.AccessKey, SecretKey: env.SecretKey, Region: env.Region})
		cleanups = append(cleanups, srv.Close, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rt.Close(ctx)
		})
		st = env.Store
		worker = NewWorker(Config{}, Deps{Store: st, Log: quiet})
		cfg := env.Config()
		cfg.BaseEndpoint = aws.String(srv.URL)
		chunks = LambdaEncoder{Client: awslambda.NewFromConfig(cfg), Function: "encode"}
	})
	if setupErr != nil {
		t.Fatal(setupErr)
	}
}

// faultPlan fails chosen encode attempts, as a crashed or killed Lambda
// would look to the caller.
type faultPlan struct {
	mu    sync.Mutex
	fail  func(chunk.Request) bool
	fired int
	// hold, when set, returns a channel the invocation waits on first (nil:
	// no wait), to keep a chunk unfinished while a test looks.
	hold func(chunk.Request) <-chan struct{}
}

func (f *faultPlan) setHold(hold func(chunk.Request) <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hold = hold
}

func (f *faultPlan) wait(ctx context.Context, r chunk.Request) {
	f.mu.Lock()
	hold := f.hold
	f.mu.Unlock()
	if hold == nil {
		return
	}
	if c := hold(r); c != nil {
		select {
		case <-c:
		case <-ctx.Done():
		}
	}
}

func (f *faultPlan) set(fail func(chunk.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail, f.fired = fail, 0
}

func (f *faultPlan) check(r chunk.Request) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil && f.fail(r) {
		f.fired++
		return fmt.Errorf("injected failure of %s chunk %d attempt %d", r.Kind, r.Chunk.Index, r.Attempt)
	}
	return nil
}

func (f *faultPlan) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fired
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(benchChildEnv); spec != "" {
		os.Exit(benchChild(spec))
	}
	code := m.Run()
	for _, c := range cleanups {
		c()
	}
	os.Exit(code)
}

// makeSource loops the 5.3 s Big Buck Bunny clip to 24 s at 854x480, so
// the ladder has two rungs (480p, 360p) and 8 s chunks give three joins.
func makeSource(dir string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	in := filepath.Join(root, "testdata", "media", "01_bbb_720p_h264_aac51.mp4")
	out := filepath.Join(dir, "source.mp4")
	cmd := exec.Command("ffmpeg", "-v", "error", "-y", "-stream_loop", "4", "-i", in, "-t", "24",
		"-vf", "scale=854:480", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make source: %v: %s", err, b)
	}
	return out, nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("no go.mod above the test")
		}
	}
}
