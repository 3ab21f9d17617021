package cli

import (
	"context"
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

// tokenFileName holds the local API token, so it survives restarts.
const tokenFileName = "api.token"

func signerFor(data string) (*keys.Signer, error) {
	secret, err := keys.LoadOrCreateSecret(filepath.Join(data, keys.SecretFileName))
	if err != nil {
		return nil, err
	}
	return keys.New(secret)
}

func loadOrCreateToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 16 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read api token %s: %w", path, err)
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("make api token: %w", err)
	}
	tok := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write api token %s: %w", path, err)
	}
	return tok, nil
}

func runStream(_ context.Context, env Env, args []string) error {
	var c Common
	fs := newFlagSet("stream", env)
	c.register(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || pos[0] != "create" {
		return fmt.Errorf("%w: want `stream create NAME`", errUsage)
	}
	name := pos[1]
	data, err := filepath.Abs(c.Data)
	if err != nil {
		return fmt.Errorf("data dir %s: %w", c.Data, err)
	}
	signer, err := signerFor(data)
	if err != nil {
		return err
	}
	key, err := signer.Key(name)
	if err != nil {
		return fmt.Errorf("stream %q: %w", name, err)
	}
	fmt.Fprintf(env.Stdout, "stream:   %s\npublish:  rtmp://%s/live/%s\nplayback: %s/live/%s/master.m3u8\n",
		name, hostPort(c.RTMP), key, httpURL(c.Edge), name)
	fmt.Fprintln(env.Stderr, "keep the publish URL secret: anyone who has it can broadcast as this stream")
	return nil
}
