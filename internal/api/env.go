package api

import (
	"github.com/hlsflow/hlsflow/internal/envconf"
	"github.com/hlsflow/hlsflow/internal/netpolicy"
)

// ConfigFromEnv reads the settings the Lambda environment gives (getenv is
// os.Getenv there; README.md has the table). The clients and
// secrets (Store, TokenSource, Keys) are the caller's to add; New applies
// the defaults.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	e := envconf.New(getenv)
	cfg := Config{
		UploadsBucket: e.String("UPLOADS_BUCKET", "uploads"),
		MediaBucket:   e.String("MEDIA_BUCKET", "media"),
		PublicURL:     getenv("PUBLIC_URL"),
		RTMPURL:       getenv("RTMP_URL"),
		SRTURL:        getenv("SRT_URL"),
		WHIPURL:       getenv("WHIP_URL"),
		Token:         getenv("API_TOKEN"),
		// Set by the stack from its publicLibrary and signedPlayback
		// parameters (infra/api.go).
		PublicLibrary:  getenv("PUBLIC_LIBRARY") == "true",
		SignedPlayback: getenv("SIGNED_PLAYBACK") == "true",
		MaxUploadSize:  int64(e.Int("MAX_UPLOAD_BYTES", 0, 1)),
	}
	allow, err := netpolicy.ParseAllow(getenv("RESTREAM_ALLOW_NETS"))
	e.Check("RESTREAM_ALLOW_NETS", err)
	cfg.RestreamAllow = allow
	if err := e.Err(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}
