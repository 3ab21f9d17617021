// Package system is the composition root of the local system: S3 with its
// bucket events and the Lambda Invoke API (internal/localcloud), the
// functions in-process (transcode, encode, the API), the live ingest and
// the edge with the page. `hlsflow up` runs it, and so do the tests that
// need the whole system: New, Start, Wait, Close.
package system

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/hlsflow/hlsflow/internal/api"
	"github.com/hlsflow/hlsflow/internal/apigw"
	"github.com/hlsflow/hlsflow/internal/edge"
	"github.com/hlsflow/hlsflow/internal/fetch"
	"github.com/hlsflow/hlsflow/internal/hostguard"
	"github.com/hlsflow/hlsflow/internal/live/ingest"
	"github.com/hlsflow/hlsflow/internal/live/keys"
	"github.com/hlsflow/hlsflow/internal/localcloud"
	"github.com/hlsflow/hlsflow/internal/localcloud/lambdas"
	"github.com/hlsflow/hlsflow/internal/metrics"
	"github.com/hlsflow/hlsflow/internal/playsign"
	"github.com/hlsflow/hlsflow/internal/safefetch"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/vod"
	"github.com/hlsflow/hlsflow/internal/webhooks"
	"github.com/hlsflow/hlsflow/web"
)

// StopGrace bounds how long running jobs and live streams may take to
// finish when the system stops, before they are marked and cut off.
const StopGrace = 30 * time.Second

// Config is the local system: where it listens and keeps its state, who
// may use it, and its parts' settings.
type Config struct {
	// DataDir holds S3's objects, the Lambda queue and the live work
	// files; required. The caller keeps it private.
	DataDir string
	// Listen addresses, host:port; RTMP and UDP are off when empty. A
	// listener on every interface (0.0.0.0, [::]) makes the API name this
	// machine in the URLs it hands out as each client reached it.
	S3Addr, EdgeAddr, RTMPAddr, SRTAddr, UDPAddr string
	AllowHosts                                   []string     // other Host names the edge and S3 answer to (a tunnel's)
	Region                                       string       // default us-east-1
	UploadsBucket, MediaBucket                   string       // default uploads, media
	AccessKey, SecretKey                         string       // S3 and Lambda credentials; required
	Keys                                         *keys.Signer // stream keys for the API and the ingest; required
	EdgeCacheBytes                               int64        // 0: edge.DefaultCacheBytes, negative: no cache

	// WHIPAddr is the WHIP endpoint's ICE port (UDP, and TCP on the same
	// number); the edge serves the endpoint at /whip/{name}. "" = off.
	WHIPAddr string
	// Getenv gives the transcoder its settings as its Lambda reads them
	// (X264_PRESET, LADDER_RUNGS…); nil reads none.
	Getenv func(string) string
	// API and Live are those parts' own settings (the token, limits;
	// presets, UDP sources…); the system fills in what it wires (store,
	// buckets, keys, addresses, log). A ByHost given in API is kept.
	API  api.Config
	Live ingest.Config
	// FetchAllow lets uploads from a URL reach these non-public ranges
	// (development, tests); others are refused (internal/safefetch).
	FetchAllow []netip.Prefix
	// Playback, when set, turns signed playback on as the stack's
	// signedPlayback does: the edge serves media only with a grant made
	// with these keys, and the API mints grants and hands out no
	// unsigned URL.
	Playback *playsign.Keys
	// Webhooks are the webhook sender's settings (its allow list, retry
	// timing); the system fills in the store, the bucket and the log.
	// With Zip the sender also makes the deliveries the zipped functions
	// store (zip.go, webhookQueue).
	Webhooks webhooks.Config
	// Front, when set, wraps the edge's handler: what stands between
	// viewers and the edge (the browser tests put CloudFront's rewriting).
	Front func(http.Handler) http.Handler
	// Zip, when set, runs the functions from their built zips under the
	// Lambda emulator instead of in-process (zip.go).
	Zip     *Zip
	Verbose bool // log every S3 request
	// EMF receives the functions' and the ingest's metrics as the
	// CloudWatch embedded metric format lines they write on AWS; nil
	// writes none. The edge serves the same metrics at /metrics.
	EMF io.Writer
	Log *slog.Logger // default slog.Default()
}

// System is the local system. Build it with New.
type System struct {
	cfg       Config
	store     *store.Store
	hosts     *hostguard.Guard
	transcode *vod.Pipeline
	encode    *vod.Worker
	fetch     *fetch.Handler
	api       lambda.Handler // the API as its Lambda runs it
	live      *ingest.Service
	edge      *edge.Edge
	hooks     *webhooks.Hooks

	zipped  []zipped                      // the functions from their zips (zip.go)
	closers []func(context.Context) error // what Start started; stopped last first
	cloud   *localcloud.Cloud
	served  chan error // the edge server's end
}

// New checks cfg, applies its defaults and builds the parts; nothing
// listens or runs before Start.
func New(cfg Config) (*System, error) {
	if cfg.DataDir == "" || cfg.S3Addr == "" || cfg.EdgeAddr == "" || cfg.AccessKey == "" || cfg.SecretKey == "" || cfg.Keys == nil {
		return nil, errors.New("system: data dir, S3 and edge addresses, credentials and stream keys are required")
	}
	cfg.Region = cmp.Or(cfg.Region, localcloud.DefaultRegion)
	cfg.UploadsBucket, cfg.MediaBucket = cmp.Or(cfg.UploadsBucket, "uploads"), cmp.Or(cfg.MediaBucket, "media")
	if cfg.Getenv == nil {
		cfg.Getenv = func(string) string { return "" }
	}
	// A recording should hold everything that was published, even when a
	// busy machine leaves the encoder behind real time.
	cfg.Live.DrainTimeout = cmp.Or(cfg.Live.DrainTimeout, 2*time.Minute)
	cfg.Log = cmp.Or(cfg.Log, slog.Default())
	s := &System{cfg: cfg, hosts: hostGuard(&cfg), served: make(chan error, 1)}
	m := metrics.New(metrics.Namespace, cfg.EMF)

	// This process's own clients reach S3 and the Invoke API on loopback.
	awsCfg := aws.Config{Region: cfg.Region, BaseEndpoint: aws.String("http://" + localAddr(cfg.S3Addr)),
		Credentials: credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")}
	s.store = store.New(awsCfg)
	hooksCfg := cfg.Webhooks
	hooksCfg.Store, hooksCfg.Bucket, hooksCfg.Log = s.store, cfg.MediaBucket, cfg.Log.With("part", "webhooks")
	hooks, err := webhooks.New(hooksCfg)
	if err != nil {
		return nil, err
	}
	s.hooks = hooks
	vodCfg, err := vod.ConfigFromEnv(cfg.Getenv)
	if err != nil {
		return nil, fmt.Errorf("configure transcode: %w", err)
	}
	vodCfg.MediaBucket, vodCfg.UploadsBucket = cfg.MediaBucket, cfg.UploadsBucket
	// Long videos fan out to "encode" through the Lambda Invoke API, as on
	// AWS, in parallel up to the cores this machine has.
	vodCfg.Parallelism = runtime.NumCPU()
	s.transcode, err = vod.New(vodCfg, vod.Deps{Store: s.store, Log: cfg.Log.With("function", "transcode"), Metrics: m, Events: s.hooks,
		Chunks: vod.LambdaEncoder{Client: lambdasvc.NewFromConfig(awsCfg), Function: "encode"}})
	if err != nil {
		return nil, fmt.Errorf("configure transcode: %w", err)
	}
	s.encode = vod.NewWorker(vodCfg, vod.Deps{Store: s.store, Log: cfg.Log.With("function", "encode")})

	apiCfg := cfg.API
	apiCfg.Store, apiCfg.UploadsBucket, apiCfg.MediaBucket, apiCfg.Keys = s.store, cfg.UploadsBucket, cfg.MediaBucket, cfg.Keys
	apiCfg.PublicURL, apiCfg.RTMPURL = "http://"+cfg.EdgeAddr, "rtmp://"+cfg.RTMPAddr+"/live"
	apiCfg.Webhooks = s.hooks
	if apiCfg.RestreamAllow == nil {
		apiCfg.RestreamAllow = cfg.Live.RestreamAllow // one allow list for both
	}
	if cfg.SRTAddr != "" {
		apiCfg.SRTURL, apiCfg.SRTPassphrase = "srt://"+cfg.SRTAddr, cfg.Live.SRTPassphrase
	}
	// Uploads from a URL: the API starts them, the fetch function (through
	// the Invoke API, asynchronously, as on AWS) does them.
	s.fetch, err = fetch.New(fetch.Config{UploadsBucket: cfg.UploadsBucket, MediaBucket: cfg.MediaBucket,
		Fetch: safefetch.Config{Allow: cfg.FetchAllow, MaxBytes: apiCfg.MaxUploadSize}}, s.store, cfg.Log.With("function", "fetch"))
	if err != nil {
		return nil, fmt.Errorf("configure fetch: %w", err)
	}
	if apiCfg.Fetches == nil {
		apiCfg.Fetches = fetch.Starter{Store: s.store, UploadsBucket: cfg.UploadsBucket, MediaBucket: cfg.MediaBucket,
			Client: lambdasvc.NewFromConfig(awsCfg), Function: "fetch"}
	}
	if cfg.WHIPAddr != "" {
		apiCfg.WHIPURL = apiCfg.PublicURL + "/whip"
	}
	if apiCfg.ByHost == nil && (OnEveryInterface(cfg.EdgeAddr) || OnEveryInterface(cfg.S3Addr) || OnEveryInterface(cfg.RTMPAddr) || OnEveryInterface(cfg.SRTAddr)) {
		apiCfg.ByHost = addressesByHost(&cfg)
	}
	var grants edge.Grants
	if cfg.Playback != nil {
		if cfg.Zip != nil {
			return nil, errors.New("system: signed playback needs the functions in-process (the API's zip has no signing key)")
		}
		if apiCfg.Grants, err = playsign.NewSigner(*cfg.Playback); err != nil {
			return nil, err
		}
		v, err := playsign.NewVerifier(*cfg.Playback)
		if err != nil {
			return nil, err
		}
		apiCfg.SignedPlayback, grants = true, v
	}
	apiH, err := api.New(apiCfg)
	if err != nil {
		return nil, fmt.Errorf("configure api: %w", err)
	}
	// An instance per concurrent request, as Lambda runs it.
	s.api = lambdas.NewHandler(apigw.Serve(apiH))
	if cfg.Zip != nil {
		if s.api, err = s.zipAPI(); err != nil {
			return nil, err
		}
	}

	liveCfg := cfg.Live
	liveCfg.Bucket = cfg.MediaBucket
	liveCfg.RTMPAddr, liveCfg.SRTAddr, liveCfg.UDPAddr = cfg.RTMPAddr, cfg.SRTAddr, cfg.UDPAddr
	// The edge serves the WHIP endpoint: no listener of its own.
	liveCfg.WHIPAddr, liveCfg.WHIPICEAddr, liveCfg.WHIPICETCPAddr = "", cfg.WHIPAddr, cfg.WHIPAddr
	liveCfg.WorkDir = filepath.Join(cfg.DataDir, "live")
	if liveCfg.LowLatency && liveCfg.HTTPAddr == "" {
		liveCfg.HTTPAddr = "127.0.0.1:0" // the edge's origin for LL-HLS playlists and parts
	}
	if s.live, err = ingest.New(liveCfg, ingest.Deps{Store: s.store, Keys: cfg.Keys, Log: cfg.Log.With("part", "ingest"), Metrics: m, Events: s.hooks}); err != nil {
		return nil, err
	}
	s.edge, err = edge.New(edge.Config{Store: s.store, Bucket: cfg.MediaBucket, CacheBytes: cfg.EdgeCacheBytes,
		API: apigw.New(s.api), Web: web.HandlerFor(pageOrigins(&cfg, apiCfg.ByHost)), Metrics: metricsHandler(m, apiCfg),
		WHIP:  s.live.WHIPHandler(),
		Hosts: s.hosts, Logger: cfg.Log.With("part", "edge"), Grants: grants, LiveOrigin: s.liveOrigin})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Start starts the parts, each after what it needs. The edge's port is
// claimed first, so a busy port fails fast with one line naming it; then
// S3 and the functions, the live ingest, and the edge. When a part fails
// to start, those started before are stopped again.
func (s *System) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			_ = s.Close(context.WithoutCancel(ctx))
		}
	}()
	cfg := &s.cfg
	edgeLn, err := net.Listen("tcp", cfg.EdgeAddr)
	if err != nil {
		return listenError(cfg.EdgeAddr, err)
	}
	s.push("edge port", 0, func(context.Context) error { edgeLn.Close(); return nil })

	concurrency := max(1, runtime.NumCPU()/2) // each job runs a multi-threaded ffmpeg
	fns, err := s.functions(concurrency)
	if err != nil {
		return err
	}
	s.cloud, err = localcloud.Start(ctx, localcloud.Config{
		DataDir: cfg.DataDir, S3Addr: cfg.S3Addr, AccessKey: cfg.AccessKey, SecretKey: cfg.SecretKey, Region: cfg.Region,
		Buckets:     []string{cfg.UploadsBucket, cfg.MediaBucket},
		Concurrency: concurrency,
		Functions:   fns,
		Secrets:     s.secrets(),
		Queues:      s.queues(),
		Notifications: []localcloud.Notification{
			{Bucket: cfg.UploadsBucket, Events: []string{"s3:ObjectCreated:*"}, Function: "transcode"},
		},
		Logger: cfg.Log.With("part", "localcloud"), Verbose: cfg.Verbose,
		Hosts: s.hosts, BrowserOrigins: edgeOrigins(cfg, s.hosts),
	})
	if err != nil {
		return err
	}
	s.push("local cloud", StopGrace, s.cloud.Close)
	// The webhook sender stops before S3, after the parts that emit.
	if err := s.hooks.Start(ctx); err != nil {
		return err
	}
	s.push("webhooks", 5*time.Second, s.hooks.Close)
	// Browsers upload straight to the uploads bucket, as on AWS.
	if err := s.store.AllowBrowserUploads(ctx, cfg.UploadsBucket, edgeOrigins(cfg, s.hosts)); err != nil {
		return err
	}

	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "live"), 0o700); err != nil {
		return fmt.Errorf("create live work dir: %w", err)
	}
	if err := s.live.Start(ctx); err != nil {
		return err
	}
	s.push("live ingest", StopGrace, s.live.Close)

	var h http.Handler = s.edge
	if cfg.Front != nil {
		h = cfg.Front(h)
	}
	// Idle keep-alive connections (players, browsers) are closed after a
	// while, as a CDN does, so they cannot pile up.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { s.served <- srv.Serve(edgeLn) }() // until Shutdown
	s.push("edge", 5*time.Second, func(ctx context.Context) error {
		// Responses still under way then (a player's download) are cut off.
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		return nil
	})
	return nil
}

// Wait returns nil when ctx ends, or the error of a part that stopped on
// its own (the edge server, S3). Call it after a successful Start, before
// Close.
func (s *System) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-s.served:
		return fmt.Errorf("edge: %w", err)
	case <-s.cloud.Stopped():
		return fmt.Errorf("local cloud stopped: %w", s.cloud.Err())
	}
}

// Close stops what Start started, the last started first, each part
// within its grace: the edge stops taking requests, live streams end and
// are recorded, running jobs finish and S3 stops. It returns every part's
// error, each naming its part.
func (s *System) Close(ctx context.Context) error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i](ctx))
	}
	s.closers = nil
	return errors.Join(errs...)
}

// Store is the system's own S3 client (on loopback, with its credentials).
// liveOrigin is where the edge sends live renditions' playlists and
// parts: the ingest's HTTP listener, when it serves Low-Latency HLS.
func (s *System) liveOrigin() string {
	if a := s.live.HTTPAddr(); a != "" && s.cfg.Live.LowLatency {
		return "http://" + a
	}
	return ""
}

func (s *System) Store() *store.Store { return s.store }

// push adds to the closer stack a part that close stops within grace (0:
// no bound but the caller's).
func (s *System) push(part string, grace time.Duration, close func(context.Context) error) {
	s.closers = append(s.closers, func(ctx context.Context) error {
		if grace > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, grace)
			defer cancel()
		}
		if err := close(ctx); err != nil {
			return fmt.Errorf("stop %s: %w", part, err)
		}
		return nil
	})
}

// listenError names the address and the plain cause: "listen
// 127.0.0.1:8080: address already in use".
func listenError(addr string, err error) error {
	var op *net.OpError
	if !errors.As(err, &op) || op.Err == nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	cause := op.Err
	var se *os.SyscallError
	if errors.As(cause, &se) {
		cause = se.Err
	}
	return fmt.Errorf("listen %s: %v", addr, cause)
}
