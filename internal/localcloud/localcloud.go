// Package localcloud runs the AWS parts hlsflow needs on one machine:
// S3 (embedded versitygw), S3 → Lambda notifications, the Lambda Invoke
// API, Secrets Manager's GetSecretValue and SQS's SendMessage (for
// functions run from their zips), all behind one address like LocalStack's 4566. The front door
// on that address routes by the SigV4 service, answers unknown access keys
// as S3 does, and makes the bucket event for every object it sees created
// (PUT, copy, multipart completion).
//
// Who may do what: S3 and the Invoke API accept one credential pair
// (Config.AccessKey/SecretKey), never taken from the environment, where a
// user's real AWS keys may be; `hlsflow up` picks it (test/test on
// loopback, random ones kept in the data dir when a listener is on the
// network: see internal/cli/creds.go). A request signed with another
// access key gets 403 InvalidAccessKeyId, a wrong signature 403
// SignatureDoesNotMatch, never 503: a request that waits for 100 Continue
// is judged before its body is sent, a client that sends it anyway has it
// read and dropped first (up to 32 MiB) so it sees the answer, and the
// gateway's own early answers are passed on. The front door answers only
// Host names of this server (Config.Hosts; others get 421 Misdirected
// Request), which stops DNS rebinding, and refuses what a browser sends
// for a page of another origin than Config.BrowserOrigins (form POSTs
// need no CORS preflight, and test/test are no secret). The data dir, and the directories
// the cloud makes in it, are 0700.
//
// Starting a Cloud changes the process's working directory to
// {DataDir}/s3 (versitygw's posix backend works relative to it): resolve
// relative paths before Start. Only one Cloud may run per process.
package localcloud

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hlsflow/hlsflow/internal/hostguard"
	"github.com/hlsflow/hlsflow/internal/localcloud/events"
	"github.com/hlsflow/hlsflow/internal/localcloud/invokeapi"
	"github.com/hlsflow/hlsflow/internal/localcloud/lambdas"
	"github.com/hlsflow/hlsflow/internal/localcloud/s3server"
)

// Function and Notification are re-exported so callers need only this
// package to configure a Cloud.
type (
	Function     = lambdas.Function
	Notification = events.Notification
)

// Defaults, as LocalStack's where one exists.
const (
	DefaultS3Addr = "127.0.0.1:4566"
	DefaultRegion = "us-east-1"
	DefaultKey    = "test"
)

// Buckets created at start unless Config.Buckets says otherwise (the
// local-mode contract).
var Buckets = []string{"uploads", "media"}

// Config configures a Cloud. Zero values take defaults.
type Config struct {
	// DataDir holds objects (DataDir/s3), dead letters
	// (DataDir/dead-letter) and metadata. Default "./.hlsflow".
	DataDir string
	// S3Addr is the one address for S3 and the Lambda Invoke API.
	S3Addr string
	// AccessKey/SecretKey are the one credential pair S3 and the Invoke
	// API accept; default test/test (LocalStack's). They are never taken
	// from the environment, where a user's real AWS keys may be.
	AccessKey, SecretKey string
	// Region defaults to AWS_REGION, AWS_DEFAULT_REGION, else us-east-1.
	Region string
	// Concurrency, QueueSize, Retries, Backoff: see lambdas.Config.
	Concurrency, QueueSize, Retries int
	Backoff                         []time.Duration
	// Buckets to create at start; default Buckets.
	Buckets       []string
	Functions     map[string]Function
	Notifications []Notification
	// Logger receives dead-letter and retry lines (default slog.Default).
	Logger *slog.Logger
	// Verbose makes versitygw log every request.
	Verbose bool
	// Hosts are the Host headers the front door answers (DNS rebinding
	// protection); others get 421. Default: loopback names and
	// addresses, and S3Addr's host.
	Hosts *hostguard.Guard
	// Secrets are Secrets Manager's, by name (SecretARN gives the ARN):
	// GetSecretValue only, for functions that read secrets as on AWS.
	Secrets map[string]string
	// Queues are SQS queues, by name (QueueURL gives the URL): SendMessage
	// only, each message handed to the queue's function and not kept
	// (sqs.go). Functions must not block.
	Queues map[string]func(body string)
	// BrowserOrigins are the origins whose pages may call S3 from a
	// browser (the web page's); a request with another Origin header is
	// refused with 403, preflights included. Default: none.
	BrowserOrigins []string
}

// Cloud is a running local cloud.
type Cloud struct {
	cfg      Config
	lambdas  *lambdas.Runtime
	receiver *events.Receiver
	s3       *s3server.Server
	front    *http.Server
	endpoint string
}

// Start starts S3, the event dispatcher and the Invoke API, and returns
// once uploads are accepted. A busy address fails with
// "listen ADDR: address already in use".
func Start(ctx context.Context, cfg Config) (*Cloud, error) {
	cfg = withDefaults(cfg)
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir %s: %w", cfg.DataDir, err)
	}
	cfg.DataDir = dataDir
	// Objects, queued events and dead letters are nobody else's
	// business: an existing data dir is made private too.
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := os.Chmod(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}

	front, err := listen(cfg.S3Addr)
	if err != nil {
		return nil, err
	}
	hosts := cfg.Hosts
	if hosts == nil {
		hosts = hostguard.New(hostguard.Config{Hosts: []string{cfg.S3Addr, front.Addr().String()}})
	}

	c := &Cloud{cfg: cfg, endpoint: "http://" + front.Addr().String()}
	c.lambdas = lambdas.New(lambdas.Config{
		Functions: cfg.Functions, Region: cfg.Region,
		Concurrency: cfg.Concurrency, QueueSize: cfg.QueueSize, Retries: cfg.Retries,
		Backoff: cfg.Backoff, DeadLetterDir: c.DeadLetterDir(), Logger: cfg.Logger,
		// Events a crash or kill cut short run again at the next start.
		QueueDir: filepath.Join(dataDir, "queue"),
	})
	gwAddr := internalAddr()
	var gwClient *s3.Client // set once the gateway runs, before any event
	c.receiver = events.NewReceiver(events.Config{
		Region: cfg.Region, Notifications: cfg.Notifications, Invoker: c.lambdas,
		DeadLetterDir: c.DeadLetterDir(), Logger: cfg.Logger,
		ObjectSize: func(ctx context.Context, bucket, key string) (int64, error) {
			out, err := gwClient.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
			if err != nil {
				return 0, err
			}
			return aws.ToInt64(out.ContentLength), nil
		},
	})

	buckets := cfg.Buckets
	if len(buckets) == 0 {
		buckets = Buckets
	}
	c.s3, err = s3server.Start(ctx, s3server.Config{
		DataDir: dataDir, Addr: gwAddr,
		AccessKey: cfg.AccessKey, SecretKey: cfg.SecretKey, Region: cfg.Region,
		Buckets: buckets, Verbose: cfg.Verbose,
	})
	if err != nil {
		front.Close()
		c.lambdas.Close(ctx)
		return nil, err
	}
	gwClient = c.s3.Client()

	c.front = &http.Server{
		Handler: newRouter(c.s3.RoundTripper(), &invokeapi.Handler{
			Runtime: c.lambdas, AccessKey: cfg.AccessKey, SecretKey: cfg.SecretKey, Region: cfg.Region,
		}, map[string]http.Handler{"secretsmanager": &secretsHandler{
			secrets: cfg.Secrets, accessKey: cfg.AccessKey, secretKey: cfg.SecretKey, region: cfg.Region,
		}, "sqs": newSQSHandler(cfg.Queues, cfg.AccessKey, cfg.SecretKey, cfg.Region)}, cfg.AccessKey, cfg.SecretKey, hosts, cfg.BrowserOrigins, c.receiver.Observe),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute, // idle SDK connections do not pile up
	}
	go c.front.Serve(front)
	return c, nil
}

func withDefaults(cfg Config) Config {
	if cfg.DataDir == "" {
		cfg.DataDir = ".hlsflow"
	}
	if cfg.S3Addr == "" {
		cfg.S3Addr = DefaultS3Addr
	}
	if cfg.AccessKey == "" && cfg.SecretKey == "" {
		cfg.AccessKey, cfg.SecretKey = DefaultKey, DefaultKey
	}
	// Clients configured from the environment sign for AWS_REGION; the
	// gateway must expect the same region or it refuses them.
	for _, v := range []string{cfg.Region, os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"), DefaultRegion} {
		if v != "" {
			cfg.Region = v
			break
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

// listen binds addr, naming the address in a one-line error when busy.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("listen %s: address already in use", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}

// internalAddr is where versitygw itself listens: an abstract unix socket
// on Linux (no port to find or to collide), else a socket file.
func internalAddr() string {
	name := fmt.Sprintf("hlsflow-s3-%d-%s", os.Getpid(), randomHex(6))
	if runtime.GOOS == "linux" {
		return "@" + name
	}
	return filepath.Join(os.TempDir(), name+".sock")
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Endpoint is the URL of S3 and the Invoke API (AWS_ENDPOINT_URL).
func (c *Cloud) Endpoint() string { return c.endpoint }

// AccessKey, SecretKey and Region are the credentials clients must sign with.
func (c *Cloud) AccessKey() string { return c.cfg.AccessKey }

// SecretKey: see AccessKey.
func (c *Cloud) SecretKey() string { return c.cfg.SecretKey }

// Region: see AccessKey.
func (c *Cloud) Region() string { return c.cfg.Region }

// DataDir is the absolute data directory.
func (c *Cloud) DataDir() string { return c.cfg.DataDir }

// DeadLetterDir is where failed async invocations are recorded.
func (c *Cloud) DeadLetterDir() string { return filepath.Join(c.cfg.DataDir, "dead-letter") }

// Environ returns the variables that point AWS SDKs and the aws CLI here.
func (c *Cloud) Environ() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + c.endpoint,
		"AWS_ACCESS_KEY_ID=" + c.cfg.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + c.cfg.SecretKey,
		"AWS_REGION=" + c.cfg.Region,
		"AWS_DEFAULT_REGION=" + c.cfg.Region,
	}
}

// Stopped is closed if the S3 gateway stops on its own (it should not);
// Err then says why.
func (c *Cloud) Stopped() <-chan struct{} { return c.s3.Done() }

// Err is why the S3 gateway stopped, nil while it runs.
func (c *Cloud) Err() error { return c.s3.Err() }

// Close shuts down in the order that lets work finish: new bucket events
// are dead-lettered (marked, to replay), running and retrying invocations
// get until ctx ends (they still reach S3; those cut short stay in the
// queue directory and run again at the next start), then in-flight S3
// requests finish and S3 stops. It returns the first error.
func (c *Cloud) Close(ctx context.Context) error {
	c.receiver.Close()
	errs := []error{c.lambdas.Close(ctx)}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := c.front.Shutdown(shut); err != nil {
		errs = append(errs, fmt.Errorf("stop s3 front door: %w", err))
	}
	c.receiver.Wait() // the last events are dead-lettered, not lost
	errs = append(errs, c.s3.Close())
	return errors.Join(errs...)
}
