package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUpCredentials(t *testing.T) {
	t.Run("loopback keeps test/test and saves nothing", func(t *testing.T) {
		dir := t.TempDir()
		a, s, _, err := upCredentials(dir, "", "", false)
		if err != nil || a != "test" || s != "test" {
			t.Fatalf("got %q/%q %v", a, s, err)
		}
		if _, err := os.Stat(filepath.Join(dir, CredentialsFileName)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a credentials file was written: %v", err)
		}
		if a, s, err := Credentials(dir); err != nil || a != "test" || s != "test" {
			t.Errorf("Credentials: %q/%q %v", a, s, err)
		}
	})
	t.Run("network gets random credentials, kept private and reused", func(t *testing.T) {
		dir := t.TempDir()
		a, s, _, err := upCredentials(dir, "", "", true)
		if err != nil {
			t.Fatal(err)
		}
		if a == "test" || s == "test" || len(a) != 20 || len(s) != 40 {
			t.Fatalf("weak credentials %q/%q", a, s)
		}
		st, err := os.Stat(filepath.Join(dir, CredentialsFileName))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("credentials file: %v %v, want mode 0600", st, err)
		}
		a2, s2, _, err := upCredentials(dir, "", "", true)
		if err != nil || a2 != a || s2 != s {
			t.Errorf("second start: %q/%q %v, want the first's", a2, s2, err)
		}
		// A later start on loopback and the other commands use them too.
		if a3, s3, _, _ := upCredentials(dir, "", "", false); a3 != a || s3 != s {
			t.Errorf("loopback start after a network one: %q/%q", a3, s3)
		}
		if a4, s4, err := Credentials(dir); err != nil || a4 != a || s4 != s {
			t.Errorf("Credentials: %q/%q %v", a4, s4, err)
		}
		other, _, _, _ := upCredentials(t.TempDir(), "", "", true)
		if other == a {
			t.Error("two data dirs got the same access key")
		}
	})
	t.Run("flags win and are saved", func(t *testing.T) {
		dir := t.TempDir()
		if _, _, _, err := upCredentials(dir, "", "", true); err != nil {
			t.Fatal(err)
		}
		a, s, _, err := upCredentials(dir, "studio", "a-long-enough-secret", true)
		if err != nil || a != "studio" || s != "a-long-enough-secret" {
			t.Fatalf("got %q/%q %v", a, s, err)
		}
		if a, s, err := Credentials(dir); err != nil || a != "studio" || s != "a-long-enough-secret" {
			t.Errorf("Credentials after flags: %q/%q %v", a, s, err)
		}
	})
	for _, c := range []struct {
		name, access, secret string
		exposed              bool
		want                 string
	}{
		{"only one", "studio", "", false, "both"},
		{"short secret on the network", "test", "test", true, "at least 16"},
		{"bad access key", "a/b", "a-long-enough-secret", false, "letters and digits"},
		{"space in secret", "studio", "a long enough secret", false, "without spaces"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, _, err := upCredentials(t.TempDir(), c.access, c.secret, c.exposed)
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want a usage error about %q", err, c.want)
			}
		})
	}
	t.Run("unreadable file is an error", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, CredentialsFileName), []byte("[default]\naws_access_key_id = x\n"), 0o600)
		if _, _, err := Credentials(dir); err == nil {
			t.Error("a file without a secret was accepted")
		}
		if _, _, _, err := upCredentials(dir, "", "", true); err == nil {
			t.Error("up started with a broken credentials file")
		}
	})
}

func TestPrivateDataDir(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	for _, d := range []string{data, filepath.Join(data, "s3"), filepath.Join(data, "queue")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{CredentialsFileName, tokenFileName, "stream-key.secret"} {
		os.WriteFile(filepath.Join(data, f), []byte("x"), 0o644)
	}
	if err := privateDataDir(data); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{"": 0o700, "s3": 0o700, "queue": 0o700,
		CredentialsFileName: 0o600, tokenFileName: 0o600, "stream-key.secret": 0o600}
	for name, mode := range want {
		st, err := os.Stat(filepath.Join(data, name))
		if err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: %v %v, want %v", name, st.Mode().Perm(), err, mode)
		}
	}
}

func TestExposed(t *testing.T) {
	loop := Common{Edge: "127.0.0.1:8080", S3: "localhost:4566", RTMP: "[::1]:1935", SRT: "127.0.0.1:8890", UDP: "127.0.0.2:9000"}
	if exposed(&loop) {
		t.Error("loopback listeners count as exposed")
	}
	for _, addr := range []string{"0.0.0.0:4566", ":4566", "192.168.1.20:4566", "studio.example:4566"} {
		c := loop
		c.S3 = addr
		if !exposed(&c) {
			t.Errorf("S3 on %s is not exposed", addr)
		}
	}
	srt := loop
	srt.SRT = "0.0.0.0:8890"
	if !exposed(&srt) {
		t.Error("SRT on every interface is not exposed")
	}
}

func TestHostList(t *testing.T) {
	var h hostList
	if err := h.Set("a.example, b.example"); err != nil || h.Set("c.example:8080") != nil || len(h) != 3 {
		t.Errorf("%q %v", h, err)
	}
	for _, bad := range []string{"http://x", "a b", ""} {
		if err := h.Set(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
