package fetch

import (
	"fmt"
	"strconv"

	"github.com/hlsflow/hlsflow/internal/lambdaspec"
	"github.com/hlsflow/hlsflow/internal/netpolicy"
)

// ConfigFromEnv reads the fetch function's settings as its Lambda
// environment gives them (internal/lambdaspec names them).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{UploadsBucket: getenv(lambdaspec.UploadsBucket), MediaBucket: getenv(lambdaspec.MediaBucket)}
	if cfg.UploadsBucket == "" || cfg.MediaBucket == "" {
		return Config{}, fmt.Errorf("%s and %s are required", lambdaspec.UploadsBucket, lambdaspec.MediaBucket)
	}
	allow, err := netpolicy.ParseAllow(getenv(lambdaspec.FetchAllow))
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", lambdaspec.FetchAllow, err)
	}
	cfg.Fetch.Allow = allow
	if v := getenv(lambdaspec.MaxUploadBytes); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return Config{}, fmt.Errorf("%s %q: want a positive number of bytes", lambdaspec.MaxUploadBytes, v)
		}
		cfg.Fetch.MaxBytes = n
	}
	return cfg, nil
}
