package cli

import (
	"fmt"
	"os/exec"

	"github.com/hlsflow/hlsflow/internal/media"
)

// checkTools makes `hlsflow up` refuse to start without ffmpeg and ffprobe,
// in one line that says how to get them: otherwise it would start and
// fail every upload, each with its own error.
func checkTools() error {
	for _, t := range []struct{ path, env string }{
		{media.FFmpegPath(), "FFMPEG_PATH"},
		{media.FFprobePath(), "FFPROBE_PATH"},
	} {
		if _, err := exec.LookPath(t.path); err != nil {
			return fmt.Errorf("%s not found (%v): install ffmpeg 5.1 or newer (`sudo apt-get install ffmpeg`; `make up` does it for you) or set %s", t.path, err, t.env)
		}
	}
	return nil
}
