package media

import (
	"context"
	"fmt"
)

// Probe inspects input with ffprobe and refuses, wrapping ErrUnsupported,
// anything that is not a plain audio/video file within lim.
func Probe(ctx context.Context, ffprobe, input string, lim Limits) (*Source, error) {
	return nil, fmt.Errorf("probe %s: not implemented", input)
}
