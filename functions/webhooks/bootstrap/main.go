// Command bootstrap is the webhooks Lambda: the SQS FIFO queue of webhook
// deliveries (WEBHOOK_QUEUE_URL), each message one signed POST to an
// endpoint, its log kept in the media bucket (MEDIA_BUCKET); and, on a
// schedule, the sweep that queues again the deliveries whose message was
// never sent (webhooks.SweepInput). It only wires; the sender is
// internal/webhooks. Build with -tags lambda.norpc for provided.al2023.
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hlsflow/hlsflow/internal/lambdaspec"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/webhooks"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, err := build(context.Background(), log)
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	lambda.Start(h.Invoke)
}

func build(ctx context.Context, log *slog.Logger) (*webhooks.SQSHandler, error) {
	bucket, url := os.Getenv(lambdaspec.MediaBucket), os.Getenv(lambdaspec.WebhookQueue)
	if bucket == "" || url == "" {
		return nil, errors.New("MEDIA_BUCKET and WEBHOOK_QUEUE_URL are required")
	}
	awsCfg, err := store.LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	client := sqs.NewFromConfig(awsCfg)
	// The queue is for the sweep, which sends again the deliveries whose
	// message was never sent.
	hooks, err := webhooks.New(webhooks.Config{Store: store.New(awsCfg), Bucket: bucket, Log: log,
		Queue: webhooks.SQSQueue{Client: client, URL: url}})
	if err != nil {
		return nil, err
	}
	return &webhooks.SQSHandler{Hooks: hooks, Client: client, URL: url}, nil
}
