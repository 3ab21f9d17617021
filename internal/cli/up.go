package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/hlsflow/hlsflow/functions/api"
	"github.com/hlsflow/hlsflow/functions/encode"
	"github.com/hlsflow/hlsflow/functions/transcode"
	"github.com/hlsflow/hlsflow/internal/apigw"
	"github.com/hlsflow/hlsflow/internal/edge"
	"github.com/hlsflow/hlsflow/internal/live/ingest"
	"github.com/hlsflow/hlsflow/internal/live/keys"
	"github.com/hlsflow/hlsflow/internal/live/udp"
	"github.com/hlsflow/hlsflow/internal/localcloud"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/web"
)

// stopGrace bounds how long Ctrl-C waits for running jobs before they are
// marked and the process exits.
const stopGrace = 30 * time.Second

func runUp(ctx context.Context, env Env, args []string) error {
	var c Common
	fs := newFlagSet("up", env)
	c.register(fs)
	verbose := fs.Bool("verbose", false, "log every S3 request")
	udpStream := fs.String("udp-stream", "udp", "stream name that MPEG-TS over UDP publishes to")
	cacheMB := fs.Int64("edge-cache-mb", edge.DefaultCacheBytes>>20, "memory the edge may keep objects in, MiB (0: no cache)")
	lan := fs.Bool("lan", false, "listen on every interface (edge, S3, RTMP, SRT, UDP), so phones and other computers on this network can watch, upload and publish; S3 then gets random credentials")
	accessKey := fs.String("access-key", "", "S3 and Lambda access key (with --secret-key; saved in the data dir). Default: the data dir's, else test/test on loopback and random ones on the network; never the environment's")
	secretKey := fs.String("secret-key", "", "S3 and Lambda secret key (with --access-key)")
	var allow hostList
	publicLibrary := fs.Bool("public-library", false, "let anyone list the ready videos and live streams through the API (without file names or sources); off, the library needs the API token")
	udpAllow := fs.String("udp-allow", "", "sources (CIDRs or addresses, comma-separated) that may publish MPEG-TS over UDP; with --lan, UDP listens on the network only when this is given")
	fs.Var(&allow, "allow-host", "another host name the edge and S3 answer to (a tunnel's or proxy's), repeatable or comma-separated; others get 421")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("%w: up takes no arguments, got %q", errUsage, pos)
	}
	if *cacheMB < 0 {
		return fmt.Errorf("%w: --edge-cache-mb is %d; give 0 (no cache) or more", errUsage, *cacheMB)
	}
	if err := checkTools(); err != nil {
		return err
	}
	udpSources, err := udp.ParseAllow(*udpAllow)
	if err != nil {
		return fmt.Errorf("%w: --udp-allow: %w", errUsage, err)
	}
	if *lan {
		listenOnLAN(&c, len(udpSources) > 0)
	}
	cacheBytes := *cacheMB << 20
	if cacheBytes == 0 {
		cacheBytes = -1 // edge.Config: negative turns the cache off
	}
	// Starting the S3 server changes the working directory (versitygw's
	// posix backend works relative to it): make paths absolute first.
	data, err := filepath.Abs(c.Data)
	if err != nil {
		return fmt.Errorf("data dir %s: %w", c.Data, err)
	}
	if err := privateDataDir(data); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	// Claim the edge port before anything starts, so a busy port fails fast
	// with one line naming it.
	edgeLn, err := net.Listen("tcp", c.Edge)
	if err != nil {
		return listenError(c.Edge, err)
	}
	defer edgeLn.Close()

	access, secret, credsFrom, err := upCredentials(data, *accessKey, *secretKey, exposed(&c))
	if err != nil {
		return err
	}
	// This process's own clients reach S3 and the Invoke API on loopback.
	awsCfg := aws.Config{
		Region:       c.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(access, secret, ""),
		BaseEndpoint: aws.String("http://" + localAddr(c.S3)),
	}
	st := store.New(awsCfg)
	hosts := hostGuard(&c, allow)
	th := transcode.New(st, c.MediaBucket, c.UploadsBucket)
	th.Log = log.With("function", "transcode")
	if err := th.Configure(env.Getenv); err != nil {
		return fmt.Errorf("configure transcode: %w", err)
	}
	// Long videos fan out to "encode" through the Lambda Invoke API on the
	// S3 port, with the SDK's Lambda client as on AWS, in parallel up to the
	// cores this machine has (on AWS the account's concurrency is the limit).
	th.EncodeFunction = "encode"
	th.Invoker = transcode.LambdaInvoker{Client: lambdasvc.NewFromConfig(awsCfg)}
	th.Parallelism = runtime.NumCPU()

	eh := encode.New(st)
	eh.Log = log.With("function", "encode")

	signer, err := signerFor(data)
	if err != nil {
		return err
	}
	token, err := loadOrCreateToken(filepath.Join(data, tokenFileName))
	if err != nil {
		return err
	}
	apiCfg := api.Config{
		Store: st, UploadsBucket: c.UploadsBucket, MediaBucket: c.MediaBucket,
		PublicURL: httpURL(c.Edge), RTMPURL: "rtmp://" + hostPort(c.RTMP) + "/live",
		Token: token, Keys: signer, PublicLibrary: *publicLibrary,
	}
	if onEveryInterface(c.Edge) || onEveryInterface(c.S3) || onEveryInterface(c.RTMP) {
		apiCfg.ByHost = addressesByHost(&c)
	}
	apiH, err := api.New(apiCfg)
	if err != nil {
		return fmt.Errorf("configure api: %w", err)
	}

	cloud, err := localcloud.Start(ctx, localcloud.Config{
		DataDir:     data,
		S3Addr:      hostPort(c.S3),
		AccessKey:   access,
		SecretKey:   secret,
		Region:      c.Region,
		Buckets:     []string{c.UploadsBucket, c.MediaBucket},
		Concurrency: max(1, runtime.NumCPU()/2), // each job runs a multi-threaded ffmpeg
		Functions: map[string]localcloud.Function{
			"transcode": {Handler: lambda.NewHandler(th.Handle), Timeout: 15 * time.Minute},
			"api":       {Handler: lambda.NewHandler(apiH.Handle), Timeout: 30 * time.Second},
			"encode":    {Handler: lambda.NewHandler(eh.Handle), Timeout: 15 * time.Minute},
		},
		Notifications: []localcloud.Notification{
			{Bucket: c.UploadsBucket, Events: []string{"s3:ObjectCreated:*"}, Function: "transcode"},
		},
		Logger:         log.With("part", "localcloud"),
		Verbose:        *verbose,
		Hosts:          hosts,
		BrowserOrigins: edgeOrigins(&c, allow),
	})
	if err != nil {
		return err
	}
	closeCloud := func() {
		cctx, cancel := context.WithTimeout(context.Background(), stopGrace)
		defer cancel()
		if err := cloud.Close(cctx); err != nil {
			log.Error("stop local cloud", "err", err)
		}
	}

	// Browsers upload straight to the uploads bucket with presigned URLs,
	// as on AWS, where the CDK app sets the same rule.
	if err := allowBrowserUploads(ctx, st.Client, c.UploadsBucket, edgeOrigins(&c, allow)); err != nil {
		closeCloud()
		return err
	}

	if err := os.MkdirAll(filepath.Join(data, "live"), 0o700); err != nil {
		closeCloud()
		return fmt.Errorf("create live work dir: %w", err)
	}
	live, err := ingest.New(ingest.Config{
		Bucket:   c.MediaBucket,
		RTMPAddr: hostPort(c.RTMP), SRTAddr: hostPort(c.SRT), UDPAddr: hostPort(c.UDP), UDPStream: *udpStream, UDPAllow: udpSources,
		WorkDir: filepath.Join(data, "live"),
		// A recording should hold everything that was published, even
		// when a busy machine leaves the encoder behind real time.
		DrainTimeout: 2 * time.Minute,
	}, ingest.Deps{Store: st, Keys: signer, Log: log.With("part", "ingest")})
	if err == nil {
		err = live.Start(ctx)
	}
	if err != nil {
		closeCloud()
		return err
	}
	closeLive := func() {
		lctx, cancel := context.WithTimeout(context.Background(), stopGrace)
		defer cancel()
		if err := live.Close(lctx); err != nil {
			log.Error("stop live ingest", "err", err)
		}
	}

	e, err := edge.New(edge.Config{
		Store: st, Bucket: c.MediaBucket, Logger: log.With("part", "edge"), CacheBytes: cacheBytes,
		API: apigw.New(lambda.NewHandler(apiH.Handle)), Web: web.HandlerFor(pageOrigins(&c, apiCfg.ByHost)),
		Hosts: hosts,
	})
	if err != nil {
		closeLive()
		closeCloud()
		return err
	}
	// Idle keep-alive connections (players, browsers) are closed after a
	// while, as a CDN does, so they cannot pile up.
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	edgeErr := make(chan error, 1)
	go func() { edgeErr <- srv.Serve(edgeLn) }()

	printEndpoints(env, &c, access, secret, credsFrom, data, token, *udpStream)

	select {
	case <-ctx.Done():
		fmt.Fprintln(env.Stderr, "stopping: finishing running jobs (Ctrl-C again to force)…")
	case err = <-edgeErr:
		err = fmt.Errorf("edge: %w", err)
	case <-cloud.Stopped():
		err = fmt.Errorf("local cloud stopped: %w", cloud.Err())
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = srv.Shutdown(sctx)
	cancel()
	closeLive()
	closeCloud()
	return err
}

func listenError(addr string, err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return fmt.Errorf("listen %s: %v", addr, unwrapSyscall(op.Err))
	}
	return fmt.Errorf("listen %s: %w", addr, err)
}

func unwrapSyscall(err error) error {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err
	}
	return err
}

func printEndpoints(env Env, c *Common, access, secret, credsFrom, data, token, udpStream string) {
	w := env.Stdout
	fmt.Fprintln(w, "hlsflow is up")
	fmt.Fprintf(w, "  web page         %s/\n", httpURL(c.Edge))
	fmt.Fprintf(w, "  S3 + Lambda API  %s   (buckets: %s, %s)\n", httpURL(c.S3), c.UploadsBucket, c.MediaBucket)
	fmt.Fprintf(w, "  credentials      AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=%s   (%s)\n", access, secret, c.Region, credsFrom)
	fmt.Fprintf(w, "  edge (CDN)       %s   playback: %s/vod/{id}/master.m3u8\n", httpURL(c.Edge), httpURL(c.Edge))
	fmt.Fprintf(w, "  API token        %s   (the page asks for it; every change through %s/api/ needs it; kept in %s)\n", token, httpURL(c.Edge), filepath.Join(data, tokenFileName))
	fmt.Fprintf(w, "  live RTMP        rtmp://%s/live/{stream key}   (hlsflow stream create NAME)\n", hostPort(c.RTMP))
	fmt.Fprintf(w, "  live SRT         srt://%s?streamid={stream key}   (MPEG-TS)\n", hostPort(c.SRT))
	fmt.Fprintf(w, "  live UDP         udp://%s   (MPEG-TS, published as live/%s)\n", hostPort(c.UDP), udpStream)
	fmt.Fprintf(w, "  data             %s\n", data)
	printLAN(w, c)
	fmt.Fprintf(w, "upload with:  hlsflow upload FILE --wait   or   aws --endpoint-url %s s3 cp FILE s3://%s/\n", httpURL(c.S3), c.UploadsBucket)
	fmt.Fprintln(w, "stop with Ctrl-C")
}

// allowBrowserUploads sets the uploads bucket's CORS rule: PUT from the
// page's origins only, exposing ETag (multipart completion needs each
// part's). A page on another site cannot read or write the bucket through
// a visitor's browser.
func allowBrowserUploads(ctx context.Context, client *s3.Client, bucket string, origins []string) error {
	_, err := client.PutBucketCors(ctx, &s3.PutBucketCorsInput{
		Bucket: aws.String(bucket),
		CORSConfiguration: &s3types.CORSConfiguration{CORSRules: []s3types.CORSRule{{
			AllowedMethods: []string{"PUT", "GET", "HEAD"},
			AllowedOrigins: origins,
			AllowedHeaders: []string{"*"},
			ExposeHeaders:  []string{"ETag"},
			MaxAgeSeconds:  aws.Int32(3600),
		}}},
	})
	if err != nil {
		return fmt.Errorf("set CORS on bucket %s: %w", bucket, err)
	}
	return nil
}

// hostPort strips a scheme and trailing slash: listeners want host:port.
func hostPort(addr string) string {
	if i := strings.Index(addr, "://"); i >= 0 {
		addr = addr[i+3:]
	}
	return strings.TrimRight(addr, "/")
}

// privateDataDir creates the data dir, or makes an existing one private:
// it, and the directories in it, 0700; the secrets in it, 0600. (Objects
// deeper down need not change: nobody else can reach them any more.)
func privateDataDir(data string) error {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if err := os.Chmod(data, 0o700); err != nil {
		return fmt.Errorf("data dir %s: %w", data, err)
	}
	entries, err := os.ReadDir(data)
	if err != nil {
		return fmt.Errorf("data dir %s: %w", data, err)
	}
	for _, e := range entries {
		mode := os.FileMode(0o600)
		switch {
		case e.IsDir():
			mode = 0o700
		case !slices.Contains([]string{CredentialsFileName, tokenFileName, keys.SecretFileName}, e.Name()):
			continue
		}
		if err := os.Chmod(filepath.Join(data, e.Name()), mode); err != nil {
			return fmt.Errorf("data dir %s: %w", data, err)
		}
	}
	return nil
}

// hostList is a flag that collects host names, repeated or
// comma-separated.
type hostList []string

func (h *hostList) String() string { return strings.Join(*h, ",") }

func (h *hostList) Set(v string) error {
	for n := range strings.SplitSeq(v, ",") {
		n = strings.TrimSpace(n)
		if n == "" || strings.ContainsAny(n, "/ @?#") {
			return fmt.Errorf("%q is not a host name or address", n)
		}
		*h = append(*h, n)
	}
	return nil
}
