package catalog

import (
	"path"
	"strings"
	"time"
)

// Replacement tells, in status.json, of a newer upload under the same key
// while the video made from the older one still plays. The Status fields
// around it (state, source, renditions, playback, poster) stay those of
// what plays, so readers that know nothing of replacements keep their
// meaning. It is never "ready": a ready replacement becomes the video, and
// the field goes away.
type Replacement struct {
	State    State   `json:"state"` // StateProcessing or StateFailed
	Progress float64 `json:"progress"`
	Error    string  `json:"error,omitempty"` // why it failed; the older video still plays
	// Source and Revision name the newer upload, as Status.Source does
	// (size and ETag only; Source.ETag is what `hlsflow upload --wait`
	// compares); Revision is in its file names.
	Source   Upload    `json:"source"`
	Revision string    `json:"revision"`
	Started  time.Time `json:"started"`
}

// NewReplacement starts the replacement of the video that plays by upload
// src.
func NewReplacement(src Upload) *Replacement {
	return &Replacement{State: StateProcessing, Source: src, Revision: src.Revision(), Started: time.Now().UTC()}
}

// RevisionOf returns the upload revision in the name of a video's output
// key (seg_REV_NNNNN.ts or .m4s, init_REV.mp4, index_REV.m3u8, poster-REV.jpg, download-REV.mp4, storyboard-REV.vtt, storyboard-REV-N.jpg), or "" for the
// names that every revision shares (master.m3u8, status.json, index.m3u8)
// and for anything else. It reads the names media.SegmentName,
// media.PlaylistName and PosterKey write.
func RevisionOf(key string) string {
	base := path.Base(key)
	var rev string
	switch {
	case strings.HasPrefix(base, "seg_") && (strings.HasSuffix(base, ".ts") || strings.HasSuffix(base, ".m4s")):
		r, n, ok := strings.Cut(strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(base, "seg_"), ".ts"), ".m4s"), "_")
		if !ok || n == "" || strings.Trim(n, "0123456789") != "" {
			return ""
		}
		rev = r
	case strings.HasPrefix(base, "init_") && strings.HasSuffix(base, ".mp4"): // media.InitName
		rev = strings.TrimSuffix(strings.TrimPrefix(base, "init_"), ".mp4")
	case strings.HasPrefix(base, "index_") && strings.HasSuffix(base, ".m3u8"):
		rev = strings.TrimSuffix(strings.TrimPrefix(base, "index_"), ".m3u8")
	case strings.HasPrefix(base, "poster-") && strings.HasSuffix(base, ".jpg"):
		rev = strings.TrimSuffix(strings.TrimPrefix(base, "poster-"), ".jpg")
	case strings.HasPrefix(base, "cap_") && strings.HasSuffix(base, ".vtt"):
		rev, _, _ = strings.Cut(strings.TrimPrefix(base, "cap_"), "_") // cap_REV_HASH.vtt: CaptionKey
	case strings.HasPrefix(base, "download-") && strings.HasSuffix(base, ".mp4"):
		rev = strings.TrimSuffix(strings.TrimPrefix(base, "download-"), ".mp4")
	case strings.HasPrefix(base, "storyboard-") && strings.HasSuffix(base, ".vtt"):
		rev = strings.TrimSuffix(strings.TrimPrefix(base, "storyboard-"), ".vtt")
	case strings.HasPrefix(base, "storyboard-") && strings.HasSuffix(base, ".jpg"):
		r, n, ok := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(base, "storyboard-"), ".jpg"), "-")
		if !ok || n == "" || strings.Trim(n, "0123456789") != "" {
			return ""
		}
		rev = r
	}
	if rev == "" || strings.Trim(rev, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		return ""
	}
	return rev
}
