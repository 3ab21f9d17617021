package api

import (
	"strings"
	"testing"
)

func TestConfigFromEnv(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	cfg, err := ConfigFromEnv(env(map[string]string{"MAX_UPLOAD_BYTES": "1048576", "PUBLIC_LIBRARY": "true",
		"MEDIA_BUCKET": "m", "RTMP_URL": "rtmp://x/live", "SRT_URL": "srt://x:8890"}))
	if err != nil || cfg.MaxUploadSize != 1<<20 || !cfg.PublicLibrary || cfg.SignedPlayback ||
		cfg.MediaBucket != "m" || cfg.UploadsBucket != "uploads" || cfg.RTMPURL != "rtmp://x/live" || cfg.SRTURL != "srt://x:8890" {
		t.Errorf("= %+v, %v", cfg, err)
	}
	for _, bad := range []string{"lots", "-1", "0", "1e9"} {
		if _, err := ConfigFromEnv(env(map[string]string{"MAX_UPLOAD_BYTES": bad})); err == nil || !strings.Contains(err.Error(), "MAX_UPLOAD_BYTES") {
			t.Errorf("MAX_UPLOAD_BYTES=%s: %v, want an error naming it", bad, err)
		}
	}
}
