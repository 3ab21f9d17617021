package cli

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hlsflow/hlsflow/internal/store"
)

// credentialsFrom returns the access key pair: the environment's, or the
// local cloud's default test/test (as LocalStack uses).
func credentialsFrom(env Env) (access, secret string) {
	access, secret = env.Getenv("AWS_ACCESS_KEY_ID"), env.Getenv("AWS_SECRET_ACCESS_KEY")
	if access == "" || secret == "" {
		return "test", "test"
	}
	return access, secret
}

// storeFor builds an S3 client for the endpoint named by the flags.
func storeFor(_ context.Context, env Env, c *Common) (*store.Store, error) {
	if c.S3 == "" {
		return nil, fmt.Errorf("%w: --s3 is empty", errUsage)
	}
	return store.New(awsConfigFor(env, c)), nil
}

// awsConfigFor is the SDK configuration for the local cloud's endpoint:
// S3 and the Lambda Invoke API share it, as on LocalStack.
func awsConfigFor(env Env, c *Common) aws.Config {
	access, secret := credentialsFrom(env)
	return aws.Config{
		Region:       c.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(access, secret, ""),
		BaseEndpoint: aws.String(httpURL(c.S3)),
	}
}
