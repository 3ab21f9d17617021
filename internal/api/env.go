package api

import (
	"fmt"
	"strconv"

	"github.com/hlsflow/hlsflow/internal/live/restream"
)

// ConfigFromEnv reads the settings the Lambda environment gives (getenv is
// os.Getenv there; README.md has the table). The clients and
// secrets (Store, TokenSource, Keys) are the caller's to add; New applies
// the defaults.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		UploadsBucket: getenv("UPLOADS_BUCKET"),
		MediaBucket:   getenv("MEDIA_BUCKET"),
		PublicURL:     getenv("PUBLIC_URL"),
		RTMPURL:       getenv("RTMP_URL"),
		SRTURL:        getenv("SRT_URL"),
		WHIPURL:       getenv("WHIP_URL"),
		Token:         getenv("API_TOKEN"),
		// Set by the stack from its publicLibrary and signedPlayback
		// parameters (infra/api.go).
		PublicLibrary:  getenv("PUBLIC_LIBRARY") == "true",
		SignedPlayback: getenv("SIGNED_PLAYBACK") == "true",
	}
	if cfg.UploadsBucket == "" {
		cfg.UploadsBucket = "uploads"
	}
	if cfg.MediaBucket == "" {
		cfg.MediaBucket = "media"
	}
	allow, err := restream.ParseAllow(getenv("RESTREAM_ALLOW_NETS"))
	if err != nil {
		return Config{}, fmt.Errorf("RESTREAM_ALLOW_NETS: %w", err)
	}
	cfg.RestreamAllow = allow
	if v := getenv("MAX_UPLOAD_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return Config{}, fmt.Errorf("MAX_UPLOAD_BYTES %q: want a positive number of bytes", v)
		}
		cfg.MaxUploadSize = n
	}
	return cfg, nil
}
