// Command bootstrap is the transcode Lambda: S3 ObjectCreated events of
// the uploads bucket, handed to vod.Pipeline. It only wires the
// environment and the clients. Build with -tags lambda.norpc for
// provided.al2023.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hlsflow/hlsflow/internal/lambdaspec"
	"github.com/hlsflow/hlsflow/internal/metrics"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/vod"
	"github.com/hlsflow/hlsflow/internal/webhooks"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	p, err := build(context.Background(), log)
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	lambda.Start(p.Handle)
}

func build(ctx context.Context, log *slog.Logger) (*vod.Pipeline, error) {
	cfg, err := vod.ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := store.LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	// EMF on stdout: Lambda's log group turns it into CloudWatch metrics.
	deps := vod.Deps{Store: store.New(awsCfg), Log: log, Metrics: metrics.New(metrics.Namespace, os.Stdout)}
	if fn := os.Getenv("ENCODE_FUNCTION"); fn != "" {
		// Long sources fan out to the encode function. The same config as
		// the store, so AWS_ENDPOINT_URL reaches the local cloud's Invoke
		// API too.
		deps.Chunks = vod.LambdaEncoder{Client: awslambda.NewFromConfig(awsCfg), Function: fn}
	}
	// Events queued for the webhooks function, when the stack has it.
	hooks, err := webhooks.OnSQS(deps.Store, cfg.MediaBucket, os.Getenv(lambdaspec.WebhookQueue), sqs.NewFromConfig(awsCfg), log)
	if err != nil {
		return nil, err
	}
	if hooks != nil {
		deps.Events = hooks
	}
	return vod.New(cfg, deps)
}
