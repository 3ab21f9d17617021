// Package s3server runs the local cloud's S3: versitygw's embedded gateway
// with its posix backend, SigV4 checked, buckets created at start.
//
// versitygw quirks this package absorbs or documents:
//   - embedgw.RunVersityGW blocks until its ctx is cancelled and then shuts
//     everything down; only one gateway may run per process (package globals).
//   - posix.New calls os.Chdir(root) and the backend then works with paths
//     relative to the working directory: starting a Server changes the
//     process's working directory to {DataDir}/s3 until Close, which
//     changes it back. Resolve relative paths before Start.
//   - The posix backend keeps metadata in user xattrs; where the filesystem
//     refuses them (some tmpfs, overlay mounts) a sidecar directory
//     {DataDir}/meta is used instead.
//   - The gateway's own event webhook is not used: v1.8.0 builds each event
//     from request buffers the HTTP server reuses for the next request, so
//     under load an event can name another request's key (and the race
//     detector reports it). The local cloud makes its events from what its
//     front door sees instead (package events).
//   - posix.New leaves the CopyObject/UploadPartCopy size limit at 0, which
//     refuses every copy; Start sets S3's 5 GiB.
//   - The gateway answers some requests before reading their body (a wrong
//     signature, a missing bucket) and then closes the connection; the
//     transport's connections let that answer reach the client (see
//     earlyAnswerConn) instead of a write error.
//   - Request bodies are streamed to disk (fiber's StreamRequestBody):
//     a 256 MiB multipart upload through the local cloud grew the
//     process's peak RSS by about 9 MiB.
package s3server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/versity/versitygw/auth"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/embedgw"
	"github.com/versity/versitygw/s3api"
)

// Config says where the gateway keeps data and listens.
type Config struct {
	// DataDir holds objects under DataDir/s3 (one directory per bucket).
	DataDir string
	// Addr is a TCP "host:port", or an abstract unix socket "@name"
	// (Linux), which needs no free port.
	Addr                         string
	AccessKey, SecretKey, Region string
	// Buckets are created (if missing) before Start returns.
	Buckets []string
	// Verbose logs every request and the startup banner.
	Verbose bool
}

// Server is a running gateway.
type Server struct {
	cfg    Config
	cancel context.CancelFunc
	done   chan struct{}
	tr     *http.Transport
	mu     sync.Mutex
	err    error
	wd     string // the working directory before Start, restored by Close
}

// startTimeout bounds how long Start waits for the gateway to listen.
const startTimeout = 15 * time.Second

// Start runs the gateway and returns once it serves requests and the
// configured buckets exist. Close stops it.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("start s3: access key and secret key are required")
	}
	root, err := filepath.Abs(filepath.Join(cfg.DataDir, "s3"))
	if err != nil {
		return nil, fmt.Errorf("start s3: %w", err)
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("start s3: %w", err)
	}
	ms, err := metaStore(root, filepath.Join(filepath.Dir(root), "meta"))
	if err != nil {
		return nil, fmt.Errorf("start s3: %w", err)
	}
	wd, _ := os.Getwd()
	// S3's own limit for CopyObject and UploadPartCopy sources: posix.New
	// leaves it 0 otherwise, which refuses every copy.
	be, err := posix.New(root, ms, posix.PosixOpts{CopyObjectThreshold: 5 << 30})
	if err != nil {
		_ = os.Chdir(wd)
		return nil, fmt.Errorf("start s3: posix backend: %w", err)
	}

	listening := make(chan struct{})
	var once sync.Once
	gw := &embedgw.Config{
		RootUserAccess: cfg.AccessKey,
		RootUserSecret: cfg.SecretKey,
		// The one account, given directly: the gateway would otherwise
		// print a line about choosing it on the user's terminal.
		IAMService: auth.NewIAMServiceSingle(auth.Account{
			Access: cfg.AccessKey, Secret: cfg.SecretKey, Role: auth.RoleAdmin,
		}),
		Region:            cfg.Region,
		Ports:             []string{cfg.Addr},
		MaxConnections:    1000,
		MaxRequests:       500,
		MultipartMaxParts: 10000,
		KeepAlive:         true,
		Quiet:             !cfg.Verbose,
		S3Options: []s3api.Option{s3api.WithOnListen(func() {
			once.Do(func() { close(listening) })
		})},
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Server{cfg: cfg, cancel: cancel, done: make(chan struct{}), tr: Transport(cfg.Addr), wd: wd}
	go func() {
		defer close(s.done)
		err := embedgw.RunVersityGW(runCtx, be, gw)
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
	}()

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-listening:
	case <-s.done:
		s.Close()
		return nil, fmt.Errorf("start s3 on %s: %w", cfg.Addr, s.Err())
	case <-timer.C:
		s.Close()
		return nil, fmt.Errorf("start s3 on %s: not listening after %s", cfg.Addr, startTimeout)
	case <-ctx.Done():
		s.Close()
		return nil, fmt.Errorf("start s3 on %s: %w", cfg.Addr, ctx.Err())
	}
	if err := s.createBuckets(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Err returns why the gateway stopped, nil while it runs or after Close.
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil && errors.Is(s.err, context.Canceled) {
		return nil
	}
	return s.err
}

// Done is closed when the gateway has stopped.
func (s *Server) Done() <-chan struct{} { return s.done }

// Close stops the gateway and waits for it to finish shutting down
// (versitygw drains in-flight requests for up to a few seconds). The
// shared transport's idle connections are closed first: the gateway would
// otherwise wait out its whole shutdown timeout for them.
func (s *Server) Close() error {
	s.tr.CloseIdleConnections()
	s.cancel()
	<-s.done
	_ = os.Chdir(s.wd) // a test binary starts and stops several in turn
	return s.Err()
}

// RoundTripper is the one transport every client of the gateway shares,
// so that Close can end its idle connections.
func (s *Server) RoundTripper() http.RoundTripper { return s.tr }

// Transport returns an HTTP transport that dials addr (TCP host:port or
// "@abstract" / path unix socket) for every request.
func Transport(addr string) *http.Transport {
	network := "tcp"
	if strings.HasPrefix(addr, "@") || strings.HasPrefix(addr, "/") {
		network = "unix"
	}
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return newEarlyAnswerConn(c), nil
		},
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		// Bodies are streamed: never let the transport decompress them.
		DisableCompression: true,
	}
}

// Client returns an S3 client signed with the root credentials that talks
// to the gateway directly.
func (s *Server) Client() *s3.Client {
	return NewClient(s.cfg.Addr, s.cfg.AccessKey, s.cfg.SecretKey, s.cfg.Region, s.tr)
}

// NewClient returns an S3 client for a gateway at addr (see Config.Addr).
func NewClient(addr, accessKey, secretKey, region string, tr http.RoundTripper) *s3.Client {
	cfg := aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		BaseEndpoint: aws.String("http://" + hostFor(addr)),
		HTTPClient:   &http.Client{Transport: tr},
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
}

// hostFor is the Host a client names for addr; for unix sockets it is a
// placeholder, as the transport ignores it.
func hostFor(addr string) string {
	if strings.HasPrefix(addr, "@") || strings.HasPrefix(addr, "/") {
		return "s3.localcloud.internal"
	}
	return addr
}

func (s *Server) createBuckets(ctx context.Context) error {
	c := s.Client()
	for _, b := range s.cfg.Buckets {
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
		var owned *types.BucketAlreadyOwnedByYou
		var exists *types.BucketAlreadyExists
		if err != nil && !errors.As(err, &owned) && !errors.As(err, &exists) {
			return fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	return nil
}
