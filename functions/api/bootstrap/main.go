// Command bootstrap runs the API handler on AWS Lambda (HTTP API or
// function URL, payload format 2.0). It only wires: environment, clients,
// handler.
package main

import (
	"context"
	"log"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hlsflow/hlsflow/functions/api"
	"github.com/hlsflow/hlsflow/internal/live/keys"
	"github.com/hlsflow/hlsflow/internal/secret"
	"github.com/hlsflow/hlsflow/internal/store"
)

func main() {
	ctx := context.Background()
	awsCfg, err := store.LoadConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	s := store.New(awsCfg)
	cfg := api.Config{
		Store:         s,
		UploadsBucket: env("UPLOADS_BUCKET", "uploads"),
		MediaBucket:   env("MEDIA_BUCKET", "media"),
		PublicURL:     os.Getenv("PUBLIC_URL"),
		RTMPURL:       os.Getenv("RTMP_URL"),
		Token:         os.Getenv("API_TOKEN"),
		// Set by the stack from its publicLibrary and signedPlayback
		// parameters (infra/api.go).
		PublicLibrary:  os.Getenv("PUBLIC_LIBRARY") == "true",
		SignedPlayback: os.Getenv("SIGNED_PLAYBACK") == "true",
	}
	// On AWS the token stays in Secrets Manager: the function gets only its
	// ARN and reads the value at run time, cached, so the environment holds
	// no secret and a rotation needs no redeploy.
	if arn := os.Getenv("API_TOKEN_SECRET_ARN"); arn != "" {
		cfg.TokenSource = secret.NewCached(arn, secret.SecretsManager(awsCfg), secret.DefaultTTL).Get
	}
	if v := os.Getenv("MAX_UPLOAD_BYTES"); v != "" {
		if cfg.MaxUploadSize, err = strconv.ParseInt(v, 10, 64); err != nil {
			log.Fatalf("MAX_UPLOAD_BYTES: %v", err)
		}
	}
	src := keys.Source{Value: os.Getenv("STREAM_KEY_SECRET"), File: os.Getenv("STREAM_KEY_SECRET_FILE"),
		ARN: os.Getenv("STREAM_KEY_SECRET_ARN")}
	if src != (keys.Source{}) {
		secret, err := src.Load(ctx, keys.SecretsManager(awsCfg))
		if err != nil {
			log.Fatal(err)
		}
		if cfg.Keys, err = keys.New(secret); err != nil {
			log.Fatal(err)
		}
	}
	h, err := api.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h.Handle)
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
