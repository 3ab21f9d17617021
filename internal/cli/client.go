package cli

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hlsflow/hlsflow/internal/localcloud"
	"github.com/hlsflow/hlsflow/internal/store"
)

// target is the system a command talks to: its S3, buckets and edge.
type target struct {
	store                *store.Store
	uploads, media, edge string
	deployment           *deployment // nil for the local system
}

// connect resolves the flags into a target: a deployment on AWS with
// --outputs, else the local system, checked to be running.
func (c *Common) connect(ctx context.Context) (*target, error) {
	if c.Outputs != "" {
		d, err := readOutputs(c.Outputs)
		if err != nil {
			return nil, err
		}
		cfg, err := awsConfig(ctx, c.Region, d)
		if err != nil {
			return nil, err
		}
		return &target{store: store.New(cfg), uploads: d.uploadsBucket, media: d.mediaBucket, edge: d.edge, deployment: d}, nil
	}
	s, err := localStore(c)
	if err != nil {
		return nil, err
	}
	if err := checkReachable(ctx, "S3", "s3", c.S3); err != nil {
		return nil, err
	}
	return &target{store: s, uploads: c.UploadsBucket, media: c.MediaBucket, edge: httpURL(c.Edge)}, nil
}

// localStore builds an S3 client for the local system named by the flags,
// with the credentials `hlsflow up` uses for that data dir (Credentials):
// never the environment's AWS keys, which may be a real account's and
// which the local S3 would refuse anyway.
func localStore(c *Common) (*store.Store, error) {
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
		Region:       cmp.Or(c.Region, localcloud.DefaultRegion),
		Credentials:  credentials.NewStaticCredentialsProvider(access, secret, ""),
		BaseEndpoint: aws.String(httpURL(c.S3)),
	}), nil
}
