// Command bootstrap is the fetch Lambda: an upload from a URL (invoked
// asynchronously by the API) handed to internal/fetch. It only wires the
// environment and the clients. Build with -tags lambda.norpc for
// provided.al2023.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hlsflow/hlsflow/internal/fetch"
	"github.com/hlsflow/hlsflow/internal/store"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := fetch.ConfigFromEnv(os.Getenv)
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	st, err := store.FromEnv(context.Background())
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	h, err := fetch.New(cfg, st, log)
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
