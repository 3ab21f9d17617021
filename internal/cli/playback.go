package cli

import (
	"fmt"
	"path/filepath"

	"github.com/hlsflow/hlsflow/internal/playsign"
)

// playbackDir holds the signed-playback keys in the data dir.
const playbackDir = "playback"

// playbackKeys are the keys of --signed-playback (nil when it is off):
// the data dir's, made on first run, with the private key of --signing-key
// in place of its own when given.
func playbackKeys(data string, on bool, signingKey string) (*playsign.Keys, error) {
	if !on {
		if signingKey != "" {
			return nil, fmt.Errorf("%w: --signing-key needs --signed-playback", errUsage)
		}
		return nil, nil
	}
	k, err := playsign.LoadDir(filepath.Join(data, playbackDir))
	if err != nil {
		return nil, fmt.Errorf("signed playback keys: %w", err)
	}
	if signingKey != "" {
		priv, err := playsign.ReadPrivateKey(signingKey)
		if err != nil {
			return nil, fmt.Errorf("--signing-key: %w", err)
		}
		k.Private, k.KeyPairID = priv, playsign.LocalKeyPairID(&priv.PublicKey)
	}
	return &k, nil
}
