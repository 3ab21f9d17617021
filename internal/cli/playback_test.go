package cli

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hlsflow/hlsflow/internal/playsign"
)

// --signed-playback keeps its keys in the data dir across runs; a given
// --signing-key replaces the private key; bad combinations are refused.
func TestPlaybackKeys(t *testing.T) {
	data := t.TempDir()
	if k, err := playbackKeys(data, false, ""); k != nil || err != nil {
		t.Errorf("off: %v %v", k, err)
	}
	if _, err := playbackKeys(data, false, "key.pem"); !errors.Is(err, errUsage) {
		t.Errorf("--signing-key alone: %v, want a usage error", err)
	}
	a, err := playbackKeys(data, true, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := playbackKeys(data, true, "")
	if err != nil || b.KeyPairID != a.KeyPairID {
		t.Fatalf("second run: %v, key pair %s then %s", err, a.KeyPairID, b.KeyPairID)
	}
	if _, err := os.Stat(filepath.Join(data, playbackDir, playsign.PublicKeyFile)); err != nil {
		t.Errorf("no public key for the stack: %v", err)
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		key := filepath.Join(t.TempDir(), "cf.pem")
		if out, err := exec.Command("openssl", "genrsa", "-out", key, "2048").CombinedOutput(); err != nil {
			t.Fatalf("openssl: %v %s", err, out)
		}
		c, err := playbackKeys(data, true, key)
		if err != nil || c.KeyPairID == a.KeyPairID {
			t.Errorf("with --signing-key: %v, key pair %s", err, c.KeyPairID)
		}
	}
	if _, err := playbackKeys(data, true, filepath.Join(data, "missing.pem")); err == nil {
		t.Error("a missing --signing-key is accepted")
	}
}
