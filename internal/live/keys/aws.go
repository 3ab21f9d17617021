package keys

import (
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/hlsflow/hlsflow/internal/secret"
)

// SecretsManager returns a SecretFetcher that reads a secret's string value
// from AWS Secrets Manager (the ECS task's role needs
// secretsmanager:GetSecretValue on it).
func SecretsManager(cfg aws.Config) SecretFetcher {
	return SecretFetcher(secret.SecretsManager(cfg))
}
