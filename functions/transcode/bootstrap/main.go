// Command bootstrap is the transcode Lambda: it wires the environment to
// transcode.Handler. Build with -tags lambda.norpc for provided.al2023.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/hlsflow/hlsflow/functions/transcode"
	"github.com/hlsflow/hlsflow/internal/store"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := store.LoadConfig(context.Background())
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	mediaBucket := os.Getenv("MEDIA_BUCKET")
	if mediaBucket == "" {
		log.Error("start: MEDIA_BUCKET is not set")
		os.Exit(1)
	}
	h := transcode.New(store.New(cfg), mediaBucket, os.Getenv("UPLOADS_BUCKET"))
	h.Log = log
	if err := h.Configure(os.Getenv); err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	if h.EncodeFunction != "" {
		// The same config as the store, so AWS_ENDPOINT_URL reaches the
		// local cloud's Invoke API too.
		h.Invoker = transcode.LambdaInvoker{Client: awslambda.NewFromConfig(cfg)}
	}
	lambda.Start(h.Handle)
}
