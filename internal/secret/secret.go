// Package secret reads secrets at run time instead of from configuration:
// a value kept in AWS Secrets Manager and cached for a short time, so a
// function holds no secret in its environment and a rotation takes effect
// without a redeploy.
package secret

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// DefaultTTL is how long a fetched value is used before it is fetched
// again: a rotated secret is picked up within this time, and a busy
// function asks Secrets Manager at most once per TTL.
const DefaultTTL = 5 * time.Minute

// Fetcher reads the current string value of the secret named by id (an
// ARN or name).
type Fetcher func(ctx context.Context, id string) (string, error)

// ErrEmpty is returned when the secret's value is empty or blank: a blank
// token would let an empty credential through.
var ErrEmpty = errors.New("secret is empty")

// SecretsManager returns a Fetcher that reads from AWS Secrets Manager with
// cfg (the caller's role needs secretsmanager:GetSecretValue on the secret).
func SecretsManager(cfg aws.Config) Fetcher {
	client := secretsmanager.NewFromConfig(cfg)
	return func(ctx context.Context, id string) (string, error) {
		out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &id})
		if err != nil {
			return "", err
		}
		if out.SecretString == nil {
			return "", errors.New("secret has no string value")
		}
		return *out.SecretString, nil
	}
}

// Cached is one secret, fetched on first use and again once its value is
// older than TTL. A failed fetch is not cached: the next call tries again,
// and the last good value is never used past its TTL, so a rotated-away
// value stops working within TTL even while Secrets Manager is unreachable.
type Cached struct {
	id    string
	fetch Fetcher
	ttl   time.Duration
	now   func() time.Time

	mu      sync.Mutex
	value   string
	fetched time.Time
}

// NewCached caches the secret id read through fetch for ttl (DefaultTTL
// when ttl <= 0).
func NewCached(id string, fetch Fetcher, ttl time.Duration) *Cached {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Cached{id: id, fetch: fetch, ttl: ttl, now: time.Now}
}

// Get returns the secret's value, trimmed of surrounding white space.
// Callers that run at once share one fetch.
func (c *Cached) Get(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.value != "" && now.Sub(c.fetched) < c.ttl {
		return c.value, nil
	}
	v, err := c.fetch(ctx, c.id)
	if err != nil {
		c.value = ""
		return "", fmt.Errorf("read secret %s: %w", c.id, err)
	}
	v = strings.TrimSpace(v)
	if v == "" {
		c.value = ""
		return "", fmt.Errorf("read secret %s: %w", c.id, ErrEmpty)
	}
	c.value, c.fetched = v, now
	return v, nil
}
