package playsign

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Keys are what signs and checks grants.
type Keys struct {
	// KeyPairID names Public to CloudFront (the ID of the CloudFront
	// public key in the trusted key group); locally LocalKeyPairID.
	KeyPairID string
	Private   *rsa.PrivateKey // signing only
	Public    *rsa.PublicKey  // checking; Private's when nil
	// TokenKeyID names TokenKey in tokens, so the function finds it in
	// its key value store; TokenKey signs path tokens.
	TokenKeyID string
	TokenKey   []byte
	// OldTokenKeys are earlier token keys still accepted while grants
	// they signed may live (rotation), by id.
	OldTokenKeys map[string][]byte
}

func (k *Keys) publicKey(id string) *rsa.PublicKey {
	if id == "" || id != k.KeyPairID {
		return nil
	}
	if k.Public != nil {
		return k.Public
	}
	if k.Private != nil {
		return &k.Private.PublicKey
	}
	return nil
}

func (k *Keys) tokenKey(id string) []byte {
	if id == k.TokenKeyID && len(k.TokenKey) > 0 {
		return k.TokenKey
	}
	if b := k.OldTokenKeys[id]; len(b) > 0 {
		return b
	}
	return nil
}

// Files in a key directory (LoadDir).
const (
	PrivateKeyFile = "private.pem" // PKCS#8, or PKCS#1 when given
	PublicKeyFile  = "public.pem"  // what CloudFront's public key takes
	TokenKeyFile   = "token.key"   // the token key: 64 hex digits, used as text
	localTokenID   = "local"
)

// LoadDir reads the keys kept in dir, first making a 2048-bit RSA key
// pair and a token key when dir has none (hlsflow up's first run). The
// Key-Pair-Id is made from the public key, as CloudFront's are opaque.
func LoadDir(dir string) (Keys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Keys{}, err
	}
	privPath := filepath.Join(dir, PrivateKeyFile)
	if _, err := os.Stat(privPath); errors.Is(err, os.ErrNotExist) {
		if err := create(dir); err != nil {
			return Keys{}, err
		}
	}
	priv, err := ReadPrivateKey(privPath)
	if err != nil {
		return Keys{}, err
	}
	tk, err := os.ReadFile(filepath.Join(dir, TokenKeyFile))
	if err != nil {
		return Keys{}, err
	}
	// The key is the text itself, as CloudFront's key value store holds it.
	key := []byte(strings.TrimSpace(string(tk)))
	if len(key) < 32 {
		return Keys{}, fmt.Errorf("playsign: %s: want at least 32 characters", filepath.Join(dir, TokenKeyFile))
	}
	return Keys{KeyPairID: LocalKeyPairID(&priv.PublicKey), Private: priv, TokenKeyID: localTokenID, TokenKey: key}, nil
}

// create writes a new key pair and token key into dir, each file private
// to its owner, the public key readable (it goes into the stack).
func create(dir string) error {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	pub, err := PublicPEM(&priv.PublicKey)
	if err != nil {
		return err
	}
	tk := make([]byte, 32)
	if _, err := rand.Read(tk); err != nil {
		return err
	}
	// The private key last: LoadDir takes its presence for a complete set.
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{TokenKeyFile, []byte(hex.EncodeToString(tk) + "\n"), 0o600},
		{PublicKeyFile, pub, 0o644},
		{PrivateKeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600},
	} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// ReadPrivateKey reads an RSA private key in PEM (PKCS#8 or PKCS#1, what
// openssl genrsa and the CloudFront guide make).
func ReadPrivateKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParsePrivateKey(b)
}

// ParsePrivateKey parses an RSA private key in PEM (PKCS#8 or PKCS#1).
func ParsePrivateKey(b []byte) (*rsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("playsign: private key is not PEM")
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("playsign: private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("playsign: private key is not RSA (CloudFront takes RSA 2048)")
	}
	return rk, nil
}

// PublicPEM is pub as CloudFront's public key takes it (PKIX, "PUBLIC KEY").
func PublicPEM(pub *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// LocalKeyPairID names a public key locally, in CloudFront's style (K and
// 13 upper-case letters and digits), from its fingerprint.
func LocalKeyPairID(pub *rsa.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(der)
	return "K" + strings.ToUpper(hex.EncodeToString(sum[:]))[:13]
}
