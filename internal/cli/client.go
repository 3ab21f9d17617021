package cli

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hlsflow/hlsflow/internal/store"
)

// storeFor builds an S3 client for the local system named by the flags,
// with the credentials `hlsflow up` uses for that data dir (Credentials):
// never the environment's AWS keys, which may be a real account's and
// which the local S3 would refuse anyway.
func storeFor(_ context.Context, _ Env, c *Common) (*store.Store, error) {
	if c.S3 == "" {
		return nil, fmt.Errorf("%w: --s3 is empty", errUsage)
	}
	data, err := filepath.Abs(c.Data)
	if err != nil {
		return nil, fmt.Errorf("data dir %s: %w", c.Data, err)
	}
	access, secret, err := Credentials(data)
	if err != nil {
		return nil, err
	}
	return store.New(aws.Config{
		Region:       c.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(access, secret, ""),
		BaseEndpoint: aws.String(httpURL(c.S3)),
	}), nil
}
