package media

import (
	"context"
	"errors"
	"time"
)

// Progress is one -progress report of ffmpeg.
type Progress struct {
	OutTime time.Duration
	Speed   float64
	Done    bool
}

// Run runs bin with args until it exits or ctx is done.
func Run(ctx context.Context, bin string, args []string, onProgress func(Progress)) error {
	return errors.New("run: not implemented")
}
