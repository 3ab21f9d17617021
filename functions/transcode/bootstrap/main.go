// Command bootstrap is the transcode Lambda: it wires the environment to
// transcode.Handler. Build with -tags lambda.norpc for provided.al2023.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hlsflow/hlsflow/functions/transcode"
	"github.com/hlsflow/hlsflow/internal/store"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	st, err := store.FromEnv(context.Background())
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	mediaBucket := os.Getenv("MEDIA_BUCKET")
	if mediaBucket == "" {
		log.Error("start: MEDIA_BUCKET is not set")
		os.Exit(1)
	}
	h := transcode.New(st, mediaBucket, os.Getenv("UPLOADS_BUCKET"))
	h.Log = log
	if err := h.Configure(os.Getenv); err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
