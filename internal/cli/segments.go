package cli

import (
	"fmt"

	"github.com/hlsflow/hlsflow/internal/lambdaspec"
	"github.com/hlsflow/hlsflow/internal/media"
)

// segmentsEnv is getenv with --segments' choice as SEGMENT_FORMAT, which
// the transcoder reads (in-process or from its zip); "" keeps getenv's.
func segmentsEnv(getenv func(string) string, segments string) (func(string) string, error) {
	if segments == "" {
		return getenv, nil
	}
	if _, err := media.ParseSegmentFormat(segments); err != nil {
		return nil, fmt.Errorf("%w: --segments is %q; give ts or cmaf", errUsage, segments)
	}
	return func(k string) string {
		if k == lambdaspec.SegmentFormat {
			return segments
		}
		return getenv(k)
	}, nil
}
