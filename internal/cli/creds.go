package cli

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hlsflow/hlsflow/internal/localcloud"
)

// The local cloud's S3 and Lambda credentials follow one rule.
//
// `hlsflow up` never takes them from the environment: AWS_ACCESS_KEY_ID
// there may be the user's real AWS keys, which it would then accept,
// print, and hand to everyone on the network with --lan. It uses, first
// match wins:
//  1. --access-key and --secret-key, when given (both); they are saved in
//     the credentials file so the other commands and the next start find
//     them;
//  2. the data dir's credentials file, when there is one;
//  3. when a listener is reachable from other machines (--lan, or a
//     non-loopback address), new random credentials, saved there;
//  4. otherwise test/test, LocalStack's convention, saved nowhere.
//
// The other commands use Credentials: the file's when present, else
// test/test. The file is an AWS shared credentials file (profile
// "default", mode 0600), so AWS_SHARED_CREDENTIALS_FILE=.hlsflow/credentials
// points the aws CLI at it.

// CredentialsFileName is the credentials file in the data dir.
const CredentialsFileName = "credentials"

// minExposedSecret is the shortest secret accepted from --secret-key when
// S3 is reachable from the network.
const minExposedSecret = 16

// Credentials returns the access key pair of the local cloud whose data
// dir is dataDir: the credentials file's when it exists, else test/test.
// A file that exists but cannot be read or parsed is an error, not a
// silent fallback.
func Credentials(dataDir string) (accessKey, secretKey string, err error) {
	accessKey, secretKey, found, err := readCredentials(filepath.Join(dataDir, CredentialsFileName))
	switch {
	case err != nil:
		return "", "", err
	case !found:
		return localcloud.DefaultKey, localcloud.DefaultKey, nil
	}
	return accessKey, secretKey, nil
}

// upCredentials applies the rule above for `hlsflow up` and says where
// the pair came from, for the banner.
func upCredentials(dataDir, flagAccess, flagSecret string, exposed bool) (access, secret, source string, err error) {
	path := filepath.Join(dataDir, CredentialsFileName)
	switch {
	case flagAccess != "" || flagSecret != "":
		if err := checkGiven(flagAccess, flagSecret, exposed); err != nil {
			return "", "", "", err
		}
		if err := writeCredentials(path, flagAccess, flagSecret, true); err != nil {
			return "", "", "", err
		}
		return flagAccess, flagSecret, "from --access-key/--secret-key, saved in " + path, nil
	}
	access, secret, found, err := readCredentials(path)
	switch {
	case err != nil:
		return "", "", "", err
	case found:
		return access, secret, "from " + path, nil
	case !exposed:
		return localcloud.DefaultKey, localcloud.DefaultKey, "LocalStack's; only this machine can reach S3", nil
	}
	access, secret, err = randomCredentials()
	if err != nil {
		return "", "", "", err
	}
	if err := writeCredentials(path, access, secret, false); errors.Is(err, fs.ErrExist) {
		// Another start made them first: use those.
		access, secret, _, err = readCredentials(path)
		return access, secret, "from " + path, err
	} else if err != nil {
		return "", "", "", err
	}
	return access, secret, "generated, saved in " + path, nil
}

func checkGiven(access, secret string, exposed bool) error {
	switch {
	case access == "" || secret == "":
		return fmt.Errorf("%w: give both --access-key and --secret-key, or neither", errUsage)
	case len(access) > 128 || strings.IndexFunc(access, func(r rune) bool {
		return !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9')
	}) >= 0:
		return fmt.Errorf("%w: --access-key takes up to 128 letters and digits", errUsage)
	case len(secret) > 128 || strings.IndexFunc(secret, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return fmt.Errorf("%w: --secret-key takes up to 128 characters without spaces", errUsage)
	case exposed && len(secret) < minExposedSecret:
		return fmt.Errorf("%w: S3 is reachable from the network: --secret-key needs at least %d characters (or leave both out to get random ones)", errUsage, minExposedSecret)
	}
	return nil
}

// randomCredentials makes a pair shaped like AWS's: a 20-character access
// key and a 40-character secret.
func randomCredentials() (access, secret string, err error) {
	b := make([]byte, 10+30)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("make credentials: %w", err)
	}
	access = "HLSF" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:10])[:16]
	return access, base64.RawURLEncoding.EncodeToString(b[10:]), nil
}

// readCredentials reads an AWS shared credentials file's default profile
// (or its only keys); found is false when the file does not exist.
func readCredentials(path string) (access, secret string, found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("read credentials: %w", err)
	}
	profile := "default"
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			profile = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || profile != "default" {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			access = strings.TrimSpace(v)
		case "aws_secret_access_key":
			secret = strings.TrimSpace(v)
		}
	}
	if access == "" || secret == "" {
		return "", "", false, fmt.Errorf("read credentials: %s has no aws_access_key_id and aws_secret_access_key in [default]: fix it or delete it", path)
	}
	return access, secret, true, nil
}

// writeCredentials writes the file whole under a temporary name (mode
// 0600), then links it into place, failing with fs.ErrExist if it exists,
// or, with replace, renames it over the old one: nobody ever reads a
// half-written file.
func writeCredentials(path, access, secret string, replace bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".credentials-*") // mode 0600
	if err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = fmt.Fprintf(f, "# hlsflow up: the local cloud's S3 and Lambda credentials\n[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", access, secret)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if replace {
			err = os.Rename(f.Name(), path)
		} else {
			err = os.Link(f.Name(), path)
		}
	}
	if err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	return nil
}
