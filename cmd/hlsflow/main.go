// Command hlsflow runs the local cloud (`hlsflow up`) and talks to it:
// uploads, status, live stream keys. See `hlsflow help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hlsflow/hlsflow/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, a second one gets the default behaviour:
	// it kills the process at once.
	go func() { <-ctx.Done(); stop() }()
	code := cli.Main(ctx, cli.Env{Stdout: os.Stdout, Stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}
