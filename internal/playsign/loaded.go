package playsign

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Loaded signs with keys it loads for each grant: on AWS from cached
// Secrets Manager reads, so a key the operator puts in after the deploy,
// or a rotated one, takes effect without a redeploy. A failed load
// refuses to sign.
type Loaded func(ctx context.Context) (Keys, error)

// loadTimeout bounds one load (a Secrets Manager call on a cold cache).
const loadTimeout = 5 * time.Second

// Grant loads the keys and mints the grant as Signer.Grant does.
func (l Loaded) Grant(base string, scope Scope, file string, expires time.Time) (*Grant, error) {
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	k, err := l(ctx)
	if err != nil {
		return nil, err
	}
	s, err := NewSigner(k)
	if err != nil {
		return nil, err
	}
	return s.Grant(base, scope, file, expires)
}

// ParseTokenSecret reads the token key secret as the stack generates it:
// {"kid": "k1", "key": "…"}; the key is used as text, as the function's
// key value store holds it.
func ParseTokenSecret(v string) (kid string, key []byte, err error) {
	var s struct {
		KID string `json:"kid"`
		Key string `json:"key"`
	}
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return "", nil, errors.New("playsign: token key secret is not {\"kid\", \"key\"} JSON")
	}
	if !validKeyID(s.KID) || len(s.Key) < 32 {
		return "", nil, errors.New("playsign: token key secret needs a kid of 1-32 letters, digits, - or _ and a key of 32 characters or more")
	}
	return s.KID, []byte(s.Key), nil
}
