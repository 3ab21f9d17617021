package system

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hlsflow/hlsflow/internal/lambdarie"
	"github.com/hlsflow/hlsflow/internal/lambdaspec"
	"github.com/hlsflow/hlsflow/internal/localcloud"
	"github.com/hlsflow/hlsflow/internal/localcloud/lambdas"
)

// Zip runs the Lambda functions from what deploys (`hlsflow up --functions
// zip`): each function's built asset with its layers, under the Lambda
// Runtime Interface Emulator in a root shaped like provided.al2023
// (internal/lambdarie), with the memory, timeout and environment variables
// the stack gives it (internal/lambdaspec) and nothing more. As on AWS the
// API reads its token and the stream-key secret from Secrets Manager, and
// the functions queue their webhook deliveries on SQS (the local cloud's).
type Zip struct {
	// Dir holds the assets `make build` writes: Dir/NAME/bootstrap, for
	// this machine's architecture.
	Dir string
	// Layers are the layer zips of the ffmpeg functions (the FFmpeg
	// layer), unpacked under /opt.
	Layers []string
	// RIE is the aws-lambda-rie binary (static; `make rie` builds it).
	RIE string
	// StreamKeySecret is the secret Config.Keys was made from: the API
	// signs stream keys with it.
	StreamKeySecret string
}

// Secrets Manager names of the API's secrets in the local cloud.
const (
	apiTokenSecret  = "hlsflow-api-token"
	streamKeySecret = "hlsflow-stream-key"
)

// webhookQueue is the local cloud's queue the zipped functions send
// their webhook deliveries' messages to, as on AWS (WEBHOOK_QUEUE_URL).
// The deliveries themselves are in the media bucket; a message only
// tells the system's sender, which makes them, to look now.
const webhookQueue = "hlsflow-webhooks"

// queues are the local cloud's SQS queues: the webhooks' with Zip.
func (s *System) queues() map[string]func(string) {
	if s.cfg.Zip == nil {
		return nil
	}
	return map[string]func(string){webhookQueue: func(string) { s.hooks.Notify() }}
}

// functions are the functions the local cloud runs: in-process, or from
// their zips when cfg.Zip is set (then each pool is stopped after the
// local cloud, whose draining jobs still need them).
func (s *System) functions(concurrency int) (map[string]localcloud.Function, error) {
	if s.cfg.Zip == nil {
		return map[string]localcloud.Function{
			// An instance per concurrent invocation (lambdas.NewHandler):
			// the chunk encodes of a fan-out run at once.
			"transcode": {Handler: lambdas.NewHandler(s.transcode.Handle), Timeout: 15 * time.Minute},
			"api":       {Handler: s.api, Timeout: 30 * time.Second},
			"encode":    {Handler: lambdas.NewHandler(s.encode.EncodeChunk), Timeout: 15 * time.Minute},
			"fetch":     {Handler: lambdas.NewHandler(s.fetch.Handle), Timeout: lambdaspec.Fetch.Timeout},
		}, nil
	}
	cfg := &s.cfg
	ffmpeg := map[string]string{
		lambdaspec.UploadsBucket: cfg.UploadsBucket, lambdaspec.MediaBucket: cfg.MediaBucket,
		lambdaspec.FFmpegPath: lambdaspec.LayerFFmpeg, lambdaspec.FFprobePath: lambdaspec.LayerFFprobe,
		lambdaspec.X264Preset: cfg.Getenv(lambdaspec.X264Preset),
	}
	transcode := map[string]string{
		lambdaspec.EncodeFunction: lambdaspec.Encode.Name,
		// Chunks at once, as the in-process transcoder has them.
		lambdaspec.Parallelism:   strconv.Itoa(runtime.NumCPU()),
		lambdaspec.SourceMinutes: cfg.Getenv(lambdaspec.SourceMinutes),
		lambdaspec.EncodeMemory:  strconv.Itoa(lambdaspec.Encode.MemoryMB),
		lambdaspec.PerTitle:      cfg.Getenv(lambdaspec.PerTitle),
		lambdaspec.WebhookQueue:  localcloud.QueueURL(cfg.Region, webhookQueue),
		lambdaspec.SegmentFormat: cfg.Getenv(lambdaspec.SegmentFormat),
		lambdaspec.VideoCodecs:   cfg.Getenv(lambdaspec.VideoCodecs),
	}
	for k, v := range ffmpeg {
		transcode[k] = v
	}
	for _, f := range []struct {
		spec      lambdaspec.Spec
		env       map[string]string
		instances int
	}{
		{lambdaspec.Transcode, transcode, concurrency},
		{lambdaspec.Encode, ffmpeg, runtime.NumCPU()},
		{lambdaspec.Fetch, map[string]string{
			lambdaspec.UploadsBucket: cfg.UploadsBucket, lambdaspec.MediaBucket: cfg.MediaBucket,
			lambdaspec.FetchAllow: prefixList(cfg.FetchAllow),
		}, 2},
	} {
		if _, err := s.zipFunction(f.spec, f.env, cfg.Zip.Layers, f.instances); err != nil {
			return nil, err
		}
	}
	fns := map[string]localcloud.Function{}
	for _, z := range s.zipped {
		fns[z.spec.Name] = localcloud.Function{Handler: z.fn, Timeout: z.spec.Timeout}
		s.push("function "+z.spec.Name, 0, func(context.Context) error { return z.fn.Close() })
	}
	return fns, nil
}

// zipped is a function running from its zip.
type zipped struct {
	spec lambdaspec.Spec
	fn   *lambdarie.Function
}

// zipAPI is the API function from its zip: what the edge calls, as
// CloudFront calls the function URL.
func (s *System) zipAPI() (lambda.Handler, error) {
	cfg := &s.cfg
	env := map[string]string{
		lambdaspec.UploadsBucket: cfg.UploadsBucket, lambdaspec.MediaBucket: cfg.MediaBucket,
		lambdaspec.StreamSecretARN: localcloud.SecretARN(cfg.Region, streamKeySecret),
	}
	if cfg.API.Token != "" {
		env[lambdaspec.APITokenARN] = localcloud.SecretARN(cfg.Region, apiTokenSecret)
	}
	if cfg.RTMPAddr != "" {
		env[lambdaspec.RTMPURL] = "rtmp://" + cfg.RTMPAddr + "/live"
	}
	if cfg.SRTAddr != "" {
		env[lambdaspec.SRTURL] = "srt://" + cfg.SRTAddr
	}
	if cfg.WHIPAddr != "" {
		env[lambdaspec.WHIPURL] = "http://" + cfg.EdgeAddr + "/whip" // the edge serves it
	}
	if cfg.API.PublicLibrary {
		env[lambdaspec.PublicLibrary] = "true"
	}
	if cfg.API.SignedPlayback {
		env[lambdaspec.SignedPlayback] = "true"
	}
	env[lambdaspec.FetchFunction] = lambdaspec.Fetch.Name
	env[lambdaspec.WebhookQueue] = localcloud.QueueURL(cfg.Region, webhookQueue)
	// Requests of one page come at once; each emulator takes one.
	return s.zipFunction(lambdaspec.API, env, nil, 4)
}

// secrets are what the local cloud's Secrets Manager holds: the API's.
func (s *System) secrets() map[string]string {
	if s.cfg.Zip == nil {
		return nil
	}
	return map[string]string{apiTokenSecret: s.cfg.API.Token, streamKeySecret: s.cfg.Zip.StreamKeySecret}
}

// zipFunction makes the pool of emulators for one function; none starts
// before its first invocation. Only variables the stack sets are passed,
// and those with no local value are left out.
func (s *System) zipFunction(spec lambdaspec.Spec, vars map[string]string, layers []string, instances int) (*lambdarie.Function, error) {
	cfg := &s.cfg
	env := map[string]string{}
	for k, v := range vars {
		if !spec.Sets(k) {
			return nil, fmt.Errorf("function %s: the stack does not set %s (internal/lambdaspec)", spec.Name, k)
		}
		if v != "" {
			env[k] = v
		}
	}
	fn, err := lambdarie.New(lambdarie.Config{
		Name: spec.Name, Code: filepath.Join(cfg.Zip.Dir, spec.Name), Layers: layers,
		Env: env, MemoryMB: spec.MemoryMB, TmpMB: spec.TmpMB, Timeout: spec.Timeout, Region: cfg.Region,
		AccessKey: cfg.AccessKey, SecretKey: cfg.SecretKey, Endpoint: "http://" + localAddr(cfg.S3Addr),
		Instances: instances, RIE: cfg.Zip.RIE,
		WorkDir: filepath.Join(cfg.DataDir, "lambda", spec.Name),
		Log:     cfg.Log.With("function", spec.Name),
	})
	if err != nil {
		return nil, err
	}
	s.zipped = append(s.zipped, zipped{spec, fn})
	return fn, nil
}

// prefixList is prefixes as FETCH_ALLOW_NETS reads them.
func prefixList(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}
