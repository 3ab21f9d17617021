// Command bootstrap is the encode Lambda: one chunk.Request (invoked by
// the transcode Lambda's fan-out) handed to vod.Worker. It only wires the
// environment and the clients. Build with -tags lambda.norpc for
// provided.al2023.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/vod"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := vod.ConfigFromEnv(os.Getenv)
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	st, err := store.FromEnv(context.Background())
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	lambda.Start(vod.NewWorker(cfg, vod.Deps{Store: st, Log: log}).EncodeChunk)
}
