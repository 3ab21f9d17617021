// Command bootstrap runs the API (internal/api) on AWS Lambda (HTTP API
// or function URL, payload format 2.0), each event made the HTTP request
// it describes by internal/apigw. It only wires: environment, clients,
// handler.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hlsflow/hlsflow/internal/api"
	"github.com/hlsflow/hlsflow/internal/apigw"
	"github.com/hlsflow/hlsflow/internal/fetch"
	"github.com/hlsflow/hlsflow/internal/lambdaspec"
	"github.com/hlsflow/hlsflow/internal/live/keys"
	"github.com/hlsflow/hlsflow/internal/playsign"
	"github.com/hlsflow/hlsflow/internal/secret"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/webhooks"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, err := build(context.Background())
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	// Failures become JSON error responses, never a Lambda error, so API
	// Gateway never answers with its own opaque 500.
	lambda.Start(apigw.Serve(h))
}

func build(ctx context.Context) (*api.Handler, error) {
	cfg, err := api.ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := store.LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	cfg.Store = store.New(awsCfg)
	// On AWS the token stays in Secrets Manager: the function gets only its
	// ARN and reads the value at run time, cached, so the environment holds
	// no secret and a rotation needs no redeploy.
	if arn := os.Getenv("API_TOKEN_SECRET_ARN"); arn != "" {
		cfg.TokenSource = secret.NewCached(arn, secret.SecretsManager(awsCfg), secret.DefaultTTL).Get
	}
	// Uploads from a URL run in the fetch function, invoked asynchronously:
	// this one must answer within seconds.
	if fn := os.Getenv(lambdaspec.FetchFunction); fn != "" {
		cfg.Fetches = fetch.Starter{Store: cfg.Store, UploadsBucket: cfg.UploadsBucket, MediaBucket: cfg.MediaBucket,
			Client: lambdasvc.NewFromConfig(awsCfg), Function: fn}
	}
	src := keys.Source{Value: os.Getenv("STREAM_KEY_SECRET"), File: os.Getenv("STREAM_KEY_SECRET_FILE"),
		ARN: os.Getenv("STREAM_KEY_SECRET_ARN")}
	if src != (keys.Source{}) {
		secret, err := src.Load(ctx, keys.SecretsManager(awsCfg))
		if err != nil {
			return nil, err
		}
		if cfg.Keys, err = keys.New(secret); err != nil {
			return nil, err
		}
	}
	if arn := os.Getenv(lambdaspec.PlaybackKeyARN); arn != "" {
		cfg.Grants = playbackSigner(awsCfg, arn, os.Getenv(lambdaspec.PlaybackTokenARN), os.Getenv(lambdaspec.PlaybackKeyPairID))
	}
	// Endpoints kept in the media bucket; redeliveries queued for the
	// webhooks function, when the stack has it.
	hooks, err := webhooks.OnSQS(cfg.Store, cfg.MediaBucket, os.Getenv(lambdaspec.WebhookQueue), sqs.NewFromConfig(awsCfg), nil)
	if err != nil {
		return nil, err
	}
	if hooks != nil {
		cfg.Webhooks = hooks
	}
	return api.New(cfg)
}

// playbackSigner signs grants with the keys in Secrets Manager, read at
// run time and cached: the operator puts the private key in after the
// first deploy, and rotations need no redeploy.
func playbackSigner(awsCfg aws.Config, keyARN, tokenARN, keyPairID string) playsign.Loaded {
	fetch := secret.SecretsManager(awsCfg)
	key := secret.NewCached(keyARN, fetch, secret.DefaultTTL)
	tok := secret.NewCached(tokenARN, fetch, secret.DefaultTTL)
	return func(ctx context.Context) (playsign.Keys, error) {
		pem, err := key.Get(ctx)
		if err != nil {
			return playsign.Keys{}, err
		}
		priv, err := playsign.ParsePrivateKey([]byte(pem))
		if err != nil {
			return playsign.Keys{}, err
		}
		t, err := tok.Get(ctx)
		if err != nil {
			return playsign.Keys{}, err
		}
		kid, tk, err := playsign.ParseTokenSecret(t)
		if err != nil {
			return playsign.Keys{}, err
		}
		return playsign.Keys{KeyPairID: keyPairID, Private: priv, TokenKeyID: kid, TokenKey: tk}, nil
	}
}
