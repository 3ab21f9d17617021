package system

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hlsflow/hlsflow/internal/lambdarie"
	"github.com/hlsflow/hlsflow/internal/lambdaspec"
	"github.com/hlsflow/hlsflow/internal/localcloud"
)

// Zip runs the Lambda functions from what deploys (`hlsflow up --functions
// zip`): each function's built asset with its layers, under the Lambda
// Runtime Interface Emulator in a root shaped like provided.al2023
// (internal/lambdarie), with the memory, timeout and environment variables
// the stack gives it (internal/lambdaspec) and nothing more.
type Zip struct {
	// Dir holds the assets `make build` writes: Dir/NAME/bootstrap, for
	// this machine's architecture.
	Dir string
	// Layers are the layer zips of the ffmpeg functions (the FFmpeg
	// layer), unpacked under /opt.
	Layers []string
	// RIE is the aws-lambda-rie binary (static; `make rie` builds it).
	RIE string
}

// functions are the functions the local cloud runs: in-process, or from
// their zips when cfg.Zip is set (then each pool is stopped after the
// local cloud, whose draining jobs still need them).
func (s *System) functions(concurrency int) (map[string]localcloud.Function, error) {
	if s.cfg.Zip == nil {
		return map[string]localcloud.Function{
			"transcode": {Handler: lambda.NewHandler(s.transcode.Handle), Timeout: 15 * time.Minute},
			"api":       {Handler: s.api, Timeout: 30 * time.Second},
			"encode":    {Handler: lambda.NewHandler(s.encode.Handle), Timeout: 15 * time.Minute},
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
	}
	for k, v := range ffmpeg {
		transcode[k] = v
	}
	fns := map[string]localcloud.Function{}
	for _, f := range []struct {
		spec      lambdaspec.Spec
		env       map[string]string
		layers    []string
		instances int
	}{
		{lambdaspec.Transcode, transcode, cfg.Zip.Layers, concurrency},
		{lambdaspec.Encode, ffmpeg, cfg.Zip.Layers, runtime.NumCPU()},
	} {
		env := map[string]string{}
		for k, v := range f.env {
			if !f.spec.Sets(k) {
				return nil, fmt.Errorf("function %s: the stack does not set %s (internal/lambdaspec)", f.spec.Name, k)
			}
			if v != "" {
				env[k] = v
			}
		}
		fn, err := lambdarie.New(lambdarie.Config{
			Name: f.spec.Name, Code: filepath.Join(cfg.Zip.Dir, f.spec.Name), Layers: f.layers,
			Env: env, MemoryMB: f.spec.MemoryMB, Timeout: f.spec.Timeout, Region: cfg.Region,
			AccessKey: cfg.AccessKey, SecretKey: cfg.SecretKey, Endpoint: "http://" + localAddr(cfg.S3Addr),
			Instances: f.instances, RIE: cfg.Zip.RIE,
			WorkDir: filepath.Join(cfg.DataDir, "lambda", f.spec.Name),
			Log:     cfg.Log.With("function", f.spec.Name),
		})
		if err != nil {
			return nil, err
		}
		s.push("function "+f.spec.Name, 0, func(context.Context) error { return fn.Close() })
		fns[f.spec.Name] = localcloud.Function{Handler: fn, Timeout: f.spec.Timeout}
	}
	// The API still runs in-process: its token and stream-key secret come
	// from Secrets Manager on AWS, which the local cloud does not serve.
	fns[lambdaspec.API.Name] = localcloud.Function{Handler: s.api, Timeout: 30 * time.Second}
	return fns, nil
}
