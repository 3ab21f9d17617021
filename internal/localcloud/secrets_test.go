package localcloud_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/localcloud"
	"github.com/hlsflow/hlsflow/internal/secret"
)

// Functions read their secrets with the SDK's Secrets Manager client, by
// ARN or name; an unknown secret or a wrong key is refused.
func TestSecretsManagerGetSecretValue(t *testing.T) {
	c := shared(t)
	ctx := context.Background()
	get := secret.SecretsManager(awsConfig(c, c.SecretKey()))
	for _, id := range []string{localcloud.SecretARN(c.Region(), "api-token"), "api-token"} {
		v, err := get(ctx, id)
		if err != nil || v != "s3cr3t" {
			t.Errorf("GetSecretValue(%s) = %q, %v", id, v, err)
		}
	}
	if _, err := get(ctx, "other"); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("an unknown secret: %v", err)
	}
	if v, err := secret.SecretsManager(awsConfig(c, "wrong"))(ctx, "api-token"); err == nil {
		t.Errorf("a wrong secret key read %q", v)
	}
}
