// Package keys issues and verifies live stream keys without a database: a
// key is the public stream name plus an HMAC of it under a secret only the
// ingest holds, so knowing a name (which appears in playback URLs) does not
// let anyone publish to it.
package keys

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/hlsflow/hlsflow/internal/catalog"
)

// MinSecretLen is the shortest secret accepted: 128 bits.
const MinSecretLen = 16

// macLen is how many bytes of the HMAC a key carries (128 bits); enough
// against online guessing, short enough to paste.
const macLen = 16

// ErrInvalidName is returned when a stream name is not a valid id.
var ErrInvalidName = errors.New("invalid stream name (lowercase letters, digits, single dashes)")

// Signer issues and verifies keys with one secret.
type Signer struct {
	secret []byte
}

// New returns a Signer for secret, which must be at least MinSecretLen bytes.
func New(secret []byte) (*Signer, error) {
	if len(secret) < MinSecretLen {
		return nil, errors.New("stream key secret too short")
	}
	return &Signer{secret: append([]byte(nil), secret...)}, nil
}

// Key returns the secret publish key for the stream name:
// name + "." + base64url(HMAC-SHA256(secret, name)[:16]).
func (s *Signer) Key(name string) (string, error) {
	if !catalog.ValidID(name) {
		return "", ErrInvalidName
	}
	return name + "." + base64.RawURLEncoding.EncodeToString(s.mac(name)), nil
}

// Verify returns the stream name a key publishes to, and whether the key is
// genuine. Comparison is constant-time.
func (s *Signer) Verify(key string) (string, bool) {
	name, sig, ok := strings.Cut(key, ".")
	if !ok || !catalog.ValidID(name) {
		return "", false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || len(got) != macLen {
		return "", false
	}
	if !hmac.Equal(got, s.mac(name)) {
		return "", false
	}
	return name, true
}

func (s *Signer) mac(name string) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("hlsflow-live-v1:" + name))
	return m.Sum(nil)[:macLen]
}
