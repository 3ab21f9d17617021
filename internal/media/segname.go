package media

import (
	"fmt"
	"strings"
)

// Segment and media playlist names carry the revision of the upload they
// were made from (see EncodeOptions.Revision). Segments are served as
// immutable, so CDNs and browsers keep them for a year: if a new upload
// under the same key reused the old names, players would mix the old
// video's segments into the new one. Only the master playlist keeps its
// URL; it is cached briefly and leads to one revision's files.

// SegmentPattern is ffmpeg's -hls_segment_filename pattern for rev:
// seg_NNNNN.ts without a revision, seg_REV_NNNNN.ts with one.
func SegmentPattern(rev string) string {
	if rev == "" {
		return "seg_%05d.ts"
	}
	return "seg_" + rev + "_%05d.ts"
}

// SegmentName is the file name of segment n of revision rev.
func SegmentName(rev string, n int) string {
	return fmt.Sprintf(SegmentPattern(rev), n)
}

// ValidRevision reports whether rev may go into a file name and an ffmpeg
// pattern: empty, or 1 to 32 lower-case letters and digits.
func ValidRevision(rev string) bool {
	return len(rev) <= 32 && strings.Trim(rev, "abcdefghijklmnopqrstuvwxyz0123456789") == ""
}

// PlaylistName is the file name of a rendition's media playlist in the
// media bucket for revision rev: index.m3u8, or index_REV.m3u8.
func PlaylistName(rev string) string {
	if rev == "" {
		return "index.m3u8"
	}
	return "index_" + rev + ".m3u8"
}
