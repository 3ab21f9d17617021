package keys

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretsManager returns a SecretFetcher that reads a secret's string value
// from AWS Secrets Manager (the ECS task's role needs
// secretsmanager:GetSecretValue on it).
func SecretsManager(cfg aws.Config) SecretFetcher {
	client := secretsmanager.NewFromConfig(cfg)
	return func(ctx context.Context, arn string) (string, error) {
		out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn})
		if err != nil {
			return "", err
		}
		if out.SecretString == nil {
			return "", errors.New("secret has no string value")
		}
		return *out.SecretString, nil
	}
}
