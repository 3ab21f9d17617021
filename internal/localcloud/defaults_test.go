package localcloud

import "testing"

// TestCredentialsNotFromEnvironment: the environment may hold a user's
// real AWS keys; the local cloud must not adopt (and print, and accept)
// them as its own.
func TestCredentialsNotFromEnvironment(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAREALUSERKEY00000")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "real-secret-of-the-user")
	cfg := withDefaults(Config{})
	if cfg.AccessKey != DefaultKey || cfg.SecretKey != DefaultKey {
		t.Errorf("credentials %q/%q, want %s/%s", cfg.AccessKey, cfg.SecretKey, DefaultKey, DefaultKey)
	}
	cfg = withDefaults(Config{AccessKey: "given", SecretKey: "given-secret"})
	if cfg.AccessKey != "given" || cfg.SecretKey != "given-secret" {
		t.Errorf("given credentials replaced: %q/%q", cfg.AccessKey, cfg.SecretKey)
	}
}
