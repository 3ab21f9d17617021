package cli

import (
	"fmt"

	"github.com/hlsflow/hlsflow/internal/lambdaspec"
	"github.com/hlsflow/hlsflow/internal/media"
)

// codecsEnv is getenv with --codecs' choice as VIDEO_CODECS, which the
// transcoder reads (in-process or from its zip); "" keeps getenv's.
func codecsEnv(getenv func(string) string, codecs string) (func(string) string, error) {
	if codecs == "" {
		return getenv, nil
	}
	if _, err := media.ParseCodecList(codecs); err != nil {
		return nil, fmt.Errorf("%w: --codecs: %v", errUsage, err)
	}
	return func(k string) string {
		if k == lambdaspec.VideoCodecs {
			return codecs
		}
		return getenv(k)
	}, nil
}
