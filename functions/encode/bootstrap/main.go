// Command bootstrap is the encode Lambda: it wires the environment to
// encode.Handler. Build with -tags lambda.norpc for provided.al2023.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hlsflow/hlsflow/functions/encode"
	"github.com/hlsflow/hlsflow/internal/store"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	st, err := store.FromEnv(context.Background())
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	h := encode.New(st)
	h.Log = log
	h.TmpDir = os.Getenv("TMPDIR")
	lambda.Start(h.Handle)
}
