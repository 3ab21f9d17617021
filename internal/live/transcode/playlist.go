package transcode

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/hls"
)

type listed struct {
	uri      string
	index    int
	duration time.Duration
}

// readPlaylist reads ffmpeg's own media playlist. ffmpeg writes it to a
// temporary name and renames it, so a read sees a whole playlist; its
// modification time is when the newest segment was finished.
func readPlaylist(path string) ([]listed, time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	// Stat the open file: it is the version read even if ffmpeg renames a
	// newer one into place meanwhile.
	st, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, time.Time{}, err
	}
	pl, err := hls.ParseMedia(b)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("parse %s: %w", path, err)
	}
	out := make([]listed, 0, len(pl.Segments))
	for _, s := range pl.Segments {
		var n int
		if _, err := fmt.Sscanf(strings.TrimSuffix(s.URI, ".ts"), "seg_%d", &n); err != nil {
			continue
		}
		out = append(out, listed{uri: s.URI, index: n, duration: s.Duration})
	}
	return out, st.ModTime(), nil
}
