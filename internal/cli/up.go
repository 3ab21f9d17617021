package cli

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hlsflow/hlsflow/internal/api"
	"github.com/hlsflow/hlsflow/internal/edge"
	"github.com/hlsflow/hlsflow/internal/lambdaspec"
	"github.com/hlsflow/hlsflow/internal/live/ingest"
	"github.com/hlsflow/hlsflow/internal/live/keys"
	"github.com/hlsflow/hlsflow/internal/localcloud"
	"github.com/hlsflow/hlsflow/internal/netpolicy"
	"github.com/hlsflow/hlsflow/internal/system"
	"github.com/hlsflow/hlsflow/internal/webhooks"
)

// runUp is `hlsflow up`: the flags become an internal/system Config, the
// system starts, and it runs until Ctrl-C or a part fails.
func runUp(ctx context.Context, env Env, args []string) error {
	var c Common
	fs := newFlagSet("up", env)
	c.register(fs)
	verbose := fs.Bool("verbose", false, "log every S3 request")
	udpStream := fs.String("udp-stream", "udp", "stream name that MPEG-TS over UDP publishes to")
	lowLatency := fs.Bool("low-latency", true, "serve live streams as Low-Latency HLS (fMP4 parts, blocking playlist reloads from the ingest through the edge); off: MPEG-TS segments and playlists from S3 alone")
	cacheMB := fs.Int64("edge-cache-mb", edge.DefaultCacheBytes>>20, "memory the edge may keep objects in, MiB (0: no cache)")
	lan := fs.Bool("lan", false, "listen on every interface (edge, S3, RTMP, SRT, UDP), so phones and other computers on this network can watch, upload and publish; S3 then gets random credentials")
	accessKey := fs.String("access-key", "", "S3 and Lambda access key (with --secret-key; saved in the data dir). Default: the data dir's, else test/test on loopback and random ones on the network; never the environment's")
	secretKey := fs.String("secret-key", "", "S3 and Lambda secret key (with --access-key)")
	var allow hostList
	publicLibrary := fs.Bool("public-library", false, "let anyone list the ready videos and live streams through the API (without file names or sources); off, the library needs the API token")
	udpAllow := fs.String("udp-allow", "", "sources (CIDRs or addresses, comma-separated) that may publish MPEG-TS over UDP; with --lan, UDP listens on the network only when this is given")
	functions := fs.String("functions", "in-process", "how the Lambda functions run: in-process, or zip (each from its built zip under the Lambda runtime interface emulator, as deployed; `make up-zip`)")
	functionsDir := fs.String("functions-dir", "dist/functions", "with --functions zip: the built functions (make build ARCH=x86_64)")
	layerZip := fs.String("layer", "dist/layers/ffmpeg-x86_64.zip", "with --functions zip: the FFmpeg layer zip (make layer)")
	rie := fs.String("rie", "", "with --functions zip: the aws-lambda-rie binary (make rie)")
	var fetchAllow prefixList
	fs.Var(&fetchAllow, "fetch-allow", "a range (CIDR or address) that uploads from a URL may fetch from although it is not public, e.g. 127.0.0.0/8 for a local test server; repeatable")
	signedPlayback := fs.Bool("signed-playback", false, "serve media only with a playback grant, as the stack's signedPlayback: the API mints grants (POST /api/videos/{id}/playback) with the key pair in the data dir's playback/ (made on first run) or --signing-key")
	signingKey := fs.String("signing-key", "", "with --signed-playback: the RSA private key (PEM) of the CloudFront key pair to sign with, instead of the data dir's")
	whipICE := fs.String("whip-ice", DefaultWHIPICE, "ICE port of WHIP (browsers publishing at the edge's /whip/{name}): UDP, and TCP on the same number; \"off\" disables WHIP")
	var webhookAllow prefixList
	fs.Var(&webhookAllow, "webhook-allow", "a non-public range (CIDR or address) webhook endpoints may be at, for development and tests; repeatable")
	perTitle := fs.String("per-title", "", "per-title ladders: on (each upload's bitrates from a complexity pass on a few slices of it) or off (the fixed ladder); default: the environment's PER_TITLE, else on")
	segments := fs.String("segments", "", "on-demand segment format: ts (MPEG-TS, every player) or cmaf (fragmented MP4 with EXT-X-MAP, and a DASH manifest over the same segments); default: the environment's SEGMENT_FORMAT, else ts")
	codecs := fs.String("codecs", "", "video codecs of on-demand ladders: h264, plus hevc and/or av1 on the top rungs (written as CMAF), e.g. h264,hevc,av1; an upload may choose its own; default: the environment's VIDEO_CODECS, else h264")
	fs.Var(&allow, "allow-host", "another host name the edge and S3 answer to (a tunnel's or proxy's), repeatable or comma-separated; others get 421")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("%w: up takes no arguments, got %q", errUsage, pos)
	}
	c.Region = cmp.Or(c.Region, localcloud.DefaultRegion)
	getenv, err := perTitleEnv(env.Getenv, *perTitle)
	if err != nil {
		return err
	}
	if getenv, err = segmentsEnv(getenv, *segments); err != nil {
		return err
	}
	if getenv, err = codecsEnv(getenv, *codecs); err != nil {
		return err
	}
	if *cacheMB < 0 {
		return fmt.Errorf("%w: --edge-cache-mb is %d; give 0 (no cache) or more", errUsage, *cacheMB)
	}
	zip, err := zipFunctions(*functions, *functionsDir, *layerZip, *rie)
	if err != nil {
		return err
	}
	if err := checkTools(); err != nil {
		return err
	}
	udpSources, err := netpolicy.ParseAllow(*udpAllow)
	if err != nil {
		return fmt.Errorf("%w: --udp-allow: %w", errUsage, err)
	}
	hookNets := []netip.Prefix(webhookAllow)
	if *lan {
		listenOnLAN(&c, len(udpSources) > 0)
		if *whipICE == DefaultWHIPICE {
			*whipICE = everyInterface(*whipICE)
		}
	}
	if *whipICE == "off" {
		*whipICE = ""
	}
	if zip != nil && onNetwork(&c) {
		// The API function, like the deployed one, has one set of
		// addresses (its environment): here they would be loopback ones.
		return fmt.Errorf("%w: --functions zip serves this machine only; drop --lan (and 0.0.0.0 listeners) or run in-process", errUsage)
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
	access, secret, credsFrom, err := upCredentials(data, *accessKey, *secretKey, exposed(&c))
	if err != nil {
		return err
	}
	signer, err := signerFor(data)
	if err != nil {
		return err
	}
	token, err := loadOrCreateToken(filepath.Join(data, tokenFileName))
	if err != nil {
		return err
	}
	if zip != nil {
		// The API from its zip signs stream keys with the same secret,
		// which it reads from the local Secrets Manager as on AWS.
		secret, err := keys.LoadOrCreateSecret(filepath.Join(data, keys.SecretFileName))
		if err != nil {
			return err
		}
		zip.StreamKeySecret = string(secret)
	}
	playback, err := playbackKeys(data, *signedPlayback, *signingKey)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	sys, err := system.New(system.Config{
		DataDir: data,
		S3Addr:  hostPort(c.S3), EdgeAddr: hostPort(c.Edge), RTMPAddr: hostPort(c.RTMP), SRTAddr: hostPort(c.SRT), UDPAddr: hostPort(c.UDP),
		WHIPAddr:   *whipICE,
		AllowHosts: allow, Region: c.Region, UploadsBucket: c.UploadsBucket, MediaBucket: c.MediaBucket,
		AccessKey: access, SecretKey: secret, Keys: signer,
		EdgeCacheBytes: cacheBytes,
		Getenv:         getenv,
		API:            api.Config{Token: token, PublicLibrary: *publicLibrary},
		Live:           ingest.Config{UDPStream: *udpStream, UDPAllow: udpSources, LowLatency: *lowLatency},
		FetchAllow:     fetchAllow,
		Playback:       playback,
		Webhooks:       webhooks.Config{Allow: hookNets},
		Zip:            zip,
		Verbose:        *verbose,
		Log:            log,
	})
	if err != nil {
		return err
	}
	if err := sys.Start(ctx); err != nil {
		return err
	}
	printEndpoints(env, &c, access, secret, credsFrom, data, token, *udpStream, *whipICE)
	if playback != nil {
		fmt.Fprintf(env.Stdout, "signed playback: media needs a grant (curl -XPOST -H 'Authorization: Bearer %s' %s/api/videos/{id}/playback); key pair %s in %s\n",
			token, httpURL(c.Edge), playback.KeyPairID, filepath.Join(data, playbackDir))
	}
	err = sys.Wait(ctx)
	if err == nil {
		fmt.Fprintln(env.Stderr, "stopping: finishing running jobs (Ctrl-C again to force)…")
	}
	// Not ctx, which Ctrl-C ended: each part gets its own grace.
	if cerr := sys.Close(context.Background()); cerr != nil {
		log.Error("stopping", "err", cerr)
	}
	return err
}

func printEndpoints(env Env, c *Common, access, secret, credsFrom, data, token, udpStream, whipICE string) {
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
	if whipICE != "" {
		fmt.Fprintf(w, "  live WHIP        %s/whip/{name}   (bearer token: the stream key; ICE on %s, UDP and TCP; the web page's Go live)\n", httpURL(c.Edge), whipICE)
	}
	fmt.Fprintf(w, "  data             %s\n", data)
	printLAN(w, c)
	fmt.Fprintf(w, "upload with:  hlsflow upload FILE --wait   or   aws --endpoint-url %s s3 cp FILE s3://%s/\n", httpURL(c.S3), c.UploadsBucket)
	fmt.Fprintln(w, "stop with Ctrl-C")
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

// zipFunctions is the --functions choice: nil runs the functions
// in-process. Paths are made absolute, as starting S3 changes the working
// directory.
func zipFunctions(mode, dir, layer, rie string) (*system.Zip, error) {
	switch mode {
	case "in-process":
		return nil, nil
	case "zip":
	default:
		return nil, fmt.Errorf("%w: --functions is %q; give in-process or zip", errUsage, mode)
	}
	if rie == "" {
		return nil, fmt.Errorf("%w: --functions zip needs --rie, the aws-lambda-rie binary (make up-zip builds and passes it)", errUsage)
	}
	z := &system.Zip{Layers: []string{layer}}
	for _, p := range []struct {
		dst *string
		src string
	}{{&z.Dir, dir}, {&z.Layers[0], layer}, {&z.RIE, rie}} {
		abs, err := filepath.Abs(p.src)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("--functions zip: %w (make up-zip builds the functions, the layer and the emulator)", err)
		}
		*p.dst = abs
	}
	return z, nil
}

// perTitleEnv is getenv with --per-title's choice as PER_TITLE, which the
// transcoder reads (in-process or from its zip).
func perTitleEnv(getenv func(string) string, perTitle string) (func(string) string, error) {
	switch perTitle {
	case "":
		return getenv, nil
	case "on", "off":
		return func(k string) string {
			if k == lambdaspec.PerTitle {
				return perTitle
			}
			return getenv(k)
		}, nil
	}
	return nil, fmt.Errorf("%w: --per-title is %q; give on or off", errUsage, perTitle)
}
