package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/hlsflow/hlsflow/internal/secret"
)

// A deployment on AWS is named by the outputs file `make deploy` writes
// (cdk deploy --outputs-file): its buckets, playback domain and the API
// token's secret. Against it the commands use the SDK's default credential
// chain (AWS_PROFILE, shared config and credentials files, SSO, session
// tokens, instance roles), as the aws CLI does: unlike the local system's,
// these are the user's own AWS credentials, meant for this.

// The stack's output names (infra/stack.go, outputs).
const (
	outUploadsBucket  = "UploadsBucketName"
	outMediaBucket    = "MediaBucketName"
	outCloudFront     = "CloudFrontDomain"
	outAPITokenSecret = "ApiTokenSecretArn"
	// outSigningKey is output only by a stack with signedPlayback.
	outSigningKey = "PlaybackSigningKeySecretArn"
)

// deployment is what the commands need from the outputs file.
type deployment struct {
	path                       string
	uploadsBucket, mediaBucket string
	// edge is the playback and API base URL, https://{CloudFrontDomain}.
	edge string
	// tokenSecret is the API token's secret ARN; empty when the stack
	// has none (then only --token works).
	tokenSecret string
	// region is the stack's, taken from the secret's ARN when there is
	// one; empty leaves it to the SDK's chain (AWS_REGION, the profile).
	region string
	// signedPlayback: the edge serves media only with a grant.
	signedPlayback bool
}

// readOutputs reads a `cdk deploy --outputs-file` JSON, {"Stack": {"Name":
// "value", …}}, holding exactly one stack. Every error is one line that
// says what to do.
func readOutputs(path string) (*deployment, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("--outputs %s does not exist: run `make deploy` first (it writes the stack's outputs there), or give the file cdk deploy --outputs-file wrote", path)
	}
	if err != nil {
		return nil, fmt.Errorf("--outputs: %w", err)
	}
	var stacks map[string]map[string]string
	if err := json.Unmarshal(b, &stacks); err != nil {
		return nil, fmt.Errorf("--outputs %s is not a cdk outputs file ({\"Stack\": {\"Output\": \"value\"}}): %v", path, err)
	}
	if len(stacks) != 1 {
		return nil, fmt.Errorf("--outputs %s holds %d stacks, want the one hlsflow stack", path, len(stacks))
	}
	var out map[string]string
	for _, o := range stacks {
		out = o
	}
	for _, k := range []string{outUploadsBucket, outMediaBucket, outCloudFront} {
		if strings.TrimSpace(out[k]) == "" {
			return nil, fmt.Errorf("--outputs %s has no %s: is it an hlsflow stack's (deployed without local=true)? `make deploy` writes it again", path, k)
		}
	}
	d := &deployment{
		path:          path,
		uploadsBucket: out[outUploadsBucket],
		mediaBucket:   out[outMediaBucket],
		edge:          "https://" + strings.TrimRight(out[outCloudFront], "/"),
		tokenSecret:   out[outAPITokenSecret],

		signedPlayback: out[outSigningKey] != "",
	}
	if d.tokenSecret != "" {
		a, err := arn.Parse(d.tokenSecret)
		if err != nil {
			return nil, fmt.Errorf("--outputs %s: %s %q is not an ARN", path, outAPITokenSecret, d.tokenSecret)
		}
		d.region = a.Region
	}
	return d, nil
}

// awsConfig is the SDK's default configuration for the deployment: its
// credential chain, the region from --region, else the stack's, else the
// chain's. Credentials are fetched once here, so a missing login is one
// line now rather than an error chain after the SDK's retries.
func awsConfig(ctx context.Context, region string, d *deployment) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if r := cmp.Or(region, d.region); r != "" {
		opts = append(opts, config.WithRegion(r))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, fmt.Errorf("%w: no AWS region: set AWS_REGION or pass --region", errUsage)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, fmt.Errorf("no AWS credentials from the SDK's default chain (AWS_PROFILE, ~/.aws/credentials, `aws sso login`, AWS_ACCESS_KEY_ID…): %s", firstLine(err.Error()))
	}
	return cfg, nil
}

// deploymentToken is the API token for a deployment: --token, then
// HLSFLOW_TOKEN, then the stack's secret, read with the default chain
// (awsConfig with region).
func deploymentToken(ctx context.Context, env Env, flagValue string, d *deployment, region string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if v := strings.TrimSpace(env.Getenv("HLSFLOW_TOKEN")); v != "" {
		return v, nil
	}
	if d.tokenSecret == "" {
		return "", fmt.Errorf("no API token: --outputs %s has no %s; pass --token (HLSFLOW_TOKEN)", d.path, outAPITokenSecret)
	}
	cfg, err := awsConfig(ctx, region, d)
	if err != nil {
		return "", err
	}
	tok, err := secret.SecretsManager(cfg)(ctx, d.tokenSecret)
	if err == nil && strings.TrimSpace(tok) == "" {
		err = secret.ErrEmpty
	}
	if err != nil {
		return "", fmt.Errorf("read the API token from %s (needs secretsmanager:GetSecretValue; or pass --token): %s", d.tokenSecret, firstLine(err.Error()))
	}
	return strings.TrimSpace(tok), nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
