package keys

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// SecretFileName is the secret's file in the local data dir.
const SecretFileName = "stream-key.secret"

// LoadOrCreateSecret reads the secret at path, creating it (32 random bytes,
// hex, mode 0600) when it does not exist. Two processes racing to create it
// agree on one file: it is written whole under a temporary name and then
// hard-linked into place, which fails if the name exists, so nobody ever
// reads a secret that is still being written.
func LoadOrCreateSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return parseSecret(path, b)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read stream key secret %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create stream key secret %s: %w", path, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("create stream key secret: %w", err)
	}
	enc := []byte(hex.EncodeToString(raw) + "\n")
	f, err := os.CreateTemp(filepath.Dir(path), ".stream-key-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("create stream key secret %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(enc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write stream key secret %s: %w", path, err)
	}
	if err := os.Link(f.Name(), path); errors.Is(err, fs.ErrExist) {
		return LoadOrCreateSecret(path) // another process won: use its secret
	} else if err != nil {
		return nil, fmt.Errorf("create stream key secret %s: %w", path, err)
	}
	return parseSecret(path, enc)
}

func parseSecret(path string, b []byte) ([]byte, error) {
	b = bytes.TrimSpace(b)
	if len(b) < MinSecretLen {
		return nil, fmt.Errorf("stream key secret %s: too short", path)
	}
	return b, nil
}

// SecretFetcher reads a secret's value from a secret store (AWS Secrets
// Manager on AWS) by ARN or name.
type SecretFetcher func(ctx context.Context, arn string) (string, error)

// Source says where the secret lives; the first non-empty field wins, in the
// order Value, File, ARN.
type Source struct {
	Value string // STREAM_KEY_SECRET
	File  string // STREAM_KEY_SECRET_FILE (created when missing)
	ARN   string // STREAM_KEY_SECRET_ARN
}

// Load returns the secret from src, fetching an ARN with fetch.
func (src Source) Load(ctx context.Context, fetch SecretFetcher) ([]byte, error) {
	switch {
	case src.Value != "":
		v := strings.TrimSpace(src.Value)
		if len(v) < MinSecretLen {
			return nil, errors.New("stream key secret too short")
		}
		return []byte(v), nil
	case src.File != "":
		return LoadOrCreateSecret(src.File)
	case src.ARN != "":
		if fetch == nil {
			return nil, errors.New("stream key secret arn given but no secret store client")
		}
		v, err := fetch(ctx, src.ARN)
		if err != nil {
			return nil, fmt.Errorf("fetch stream key secret %s: %w", src.ARN, err)
		}
		v = strings.TrimSpace(v)
		if len(v) < MinSecretLen {
			return nil, fmt.Errorf("stream key secret %s: too short", src.ARN)
		}
		return []byte(v), nil
	default:
		return nil, errors.New("no stream key secret configured (value, file or arn)")
	}
}
