package cli

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hlsflow/hlsflow/internal/live/keys"
)

// The local system's own state lives in its data dir and belongs to
// `hlsflow up`: only it creates these files. Other commands read what they
// need or ask the running server, so they never invent a secret the server
// does not know.

// tokenFileName holds the local API token, so it survives restarts.
const tokenFileName = "api.token"

// minTokenLen is the shortest token taken from the file (16 random bytes
// hex-encoded are 32 characters; a shorter file is damaged).
const minTokenLen = 16

func signerFor(data string) (*keys.Signer, error) {
	secret, err := keys.LoadOrCreateSecret(filepath.Join(data, keys.SecretFileName))
	if err != nil {
		return nil, err
	}
	return keys.New(secret)
}

// loadOrCreateToken is hlsflow up's: the token in path, or a new one.
func loadOrCreateToken(path string) (string, error) {
	tok, err := readToken(path)
	if err == nil {
		return tok, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("make api token: %w", err)
	}
	tok = hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write api token %s: %w", path, err)
	}
	return tok, nil
}

// readToken reads the token hlsflow up keeps; a missing or too short file
// is fs.ErrNotExist.
func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("read api token %s: %w", path, err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < minTokenLen {
		return "", fmt.Errorf("api token %s is damaged: %w", path, fs.ErrNotExist)
	}
	return tok, nil
}

// apiToken is the token other commands send: --token, then HLSFLOW_TOKEN,
// then the file in the data dir of a local system.
func apiToken(env Env, flagValue, data string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if v := strings.TrimSpace(env.Getenv("HLSFLOW_TOKEN")); v != "" {
		return v, nil
	}
	path := filepath.Join(data, tokenFileName)
	tok, err := readToken(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no API token: %s does not exist — run this in the folder where `hlsflow up` runs (or give its --data DIR), or pass --token (HLSFLOW_TOKEN) with the token it printed", path)
	}
	return tok, err
}
