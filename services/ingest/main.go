// Command ingest is the live ingest ECS task: RTMP on :1935, SRT on :8890,
// MPEG-TS over UDP on :9000, health on :8081, live HLS to the media bucket. It only
// wires; the service is internal/live/ingest. See ingest.ConfigFromEnv for the
// environment it reads.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hlsflow/hlsflow/internal/ecsmeta"
	"github.com/hlsflow/hlsflow/internal/live/ingest"
	"github.com/hlsflow/hlsflow/internal/live/keys"
	"github.com/hlsflow/hlsflow/internal/metrics"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/taskip"
	"github.com/hlsflow/hlsflow/internal/webhooks"
)

func main() {
	// The image's HEALTHCHECK runs the binary itself: no curl in the image.
	if len(os.Args) > 1 && os.Args[1] == "-healthcheck" {
		os.Exit(healthcheck())
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("ingest failed", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	cfg, err := ingest.ConfigFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	// Other tasks reach this one at its own address (LIVE_ORIGIN_URL=ecs).
	if err := cfg.ResolveOrigin(ctx, func(ctx context.Context) (netip.Addr, error) {
		return ecsmeta.TaskIPv4(ctx, http.DefaultClient, os.Getenv(ecsmeta.EnvURI))
	}); err != nil {
		return err
	}
	awsCfg, err := store.LoadConfig(ctx)
	if err != nil {
		return err
	}
	// WHIP's candidates carry this task's own public IP
	// (WHIP_PUBLIC_IPS=ecs): the media goes to the task that answered.
	pub := &taskip.Finder{
		Network: func(ctx context.Context) (ecsmeta.Network, error) {
			return ecsmeta.TaskNetwork(ctx, http.DefaultClient, os.Getenv(ecsmeta.EnvURI))
		},
		EC2: ec2.NewFromConfig(awsCfg),
	}
	if err := cfg.ResolveWHIPPublic(ctx, pub.Find); err != nil {
		log.Error("whip: announcing the fallback addresses", "err", err)
	} else if cfg.WHIPPublicFromTask {
		log.Info("whip: announcing this task's public IP", "ip", cfg.WHIPPublicIPs)
	}
	secret, err := cfg.Secret.Load(ctx, keys.SecretsManager(awsCfg))
	if err != nil {
		return err
	}
	signer, err := keys.New(secret)
	if err != nil {
		return err
	}
	// EMF on stdout: the awslogs driver's log group turns it into metrics.
	deps := ingest.Deps{Store: store.New(awsCfg), Keys: signer, Log: log, Metrics: metrics.New(metrics.Namespace, os.Stdout)}
	// Stream events queued for the webhooks function, when the stack has it.
	hooks, err := webhooks.OnSQS(deps.Store, cfg.Bucket, os.Getenv("WEBHOOK_QUEUE_URL"), sqs.NewFromConfig(awsCfg), log)
	if err != nil {
		return err
	}
	if hooks != nil {
		deps.Events = hooks
	}
	svc, err := ingest.New(cfg, deps)
	if err != nil {
		return err
	}
	if err := svc.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("ingest stopping: finalising streams", "timeout", cfg.StopTimeout.String())
	closeCtx, cancel := context.WithTimeout(context.Background(), cfg.StopTimeout)
	defer cancel()
	return svc.Close(closeCtx)
}

func healthcheck() int {
	addr := os.Getenv("HEALTH_ADDR")
	if addr == "" {
		addr = ":8081"
	}
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	c := http.Client{Timeout: 2 * time.Second}
	res, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		return 1
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}
