// Package catalog holds the contracts others build on: the video id derived
// from an upload key, the bucket layout of a video's outputs, and the
// status.json document that tells a video's state.
package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// maxSlug bounds the readable part of an id so ids stay short in URLs.
const maxSlug = 40

// VideoID derives the id of the video uploaded at key. It is stable (the
// same key always gives the same id), distinct for distinct keys, and safe
// as a URL path segment whatever the key holds:
//
//	slug(base name without extension) + "-" + first 12 hex of sha256(key)
//
// The slug keeps ASCII letters and digits, lowercased, with every other run
// of characters folded to one "-", cut to 40 characters. A key with no such
// characters (say, "видео.mp4") gets the slug "video". So
// "uploads/My Video (1).mp4" becomes "my-video-1-" followed by 12 hex digits.
func VideoID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return slug(key) + "-" + hex.EncodeToString(sum[:])[:12]
}

func slug(key string) string {
	base := path.Base(strings.ReplaceAll(key, "\\", "/"))
	if ext := path.Ext(base); ext != base {
		base = strings.TrimSuffix(base, ext)
	}
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(base) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			if b.Len() >= maxSlug {
				break
			}
			continue
		}
		dash = true
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		return "video"
	}
	return s
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,127}$`)

// ValidID reports whether id has the shape of a video or stream id, so an id
// taken from a URL can be used in a key without escaping the vod/ prefix.
func ValidID(id string) bool {
	return idPattern.MatchString(id) && !strings.Contains(id, "--")
}

// Prefix is where a video's outputs live in the media bucket.
func Prefix(id string) string { return "vod/" + id + "/" }

// StatusKey is the key of a video's status.json in the media bucket.
func StatusKey(id string) string { return Prefix(id) + "status.json" }

// MasterKey is the key of a video's master playlist in the media bucket.
func MasterKey(id string) string { return Prefix(id) + "master.m3u8" }

// DASHKey is the key of a CMAF video's MPEG-DASH manifest, next to its
// master and over the same segments.
func DASHKey(id string) string { return Prefix(id) + "manifest.mpd" }

// LiveRoot is where live streams are in the media bucket: one folder per
// stream name, holding its master and a sliding-window playlist per rung
// whose segments are the recording's, under Prefix(recording id).
const LiveRoot = "live/"

// LivePrefix is where live stream name's playlists are in the media bucket.
func LivePrefix(name string) string { return LiveRoot + name + "/" }

// LiveMasterKey is the key of live stream name's master playlist.
func LiveMasterKey(name string) string { return LivePrefix(name) + "master.m3u8" }

// StreamMetaPrefix holds the API's stream records in the media bucket
// ({name}.json, names only), and each stream's restream destinations and
// their states: never served.
const StreamMetaPrefix = "streams-meta/"

// RestreamKey is where stream name's restream destinations (with their
// keys) are kept; not a stream record, as a name holds no dot.
func RestreamKey(name string) string { return StreamMetaPrefix + name + ".restream.json" }

// RestreamStateKey is where the ingest reports stream name's restream
// destinations' states (keys masked).
func RestreamStateKey(name string) string { return StreamMetaPrefix + name + ".restream-state.json" }

// LiveOriginKey is where the ingest task holding low-latency stream name
// says where it serves its playlists and parts, for the other tasks.
func LiveOriginKey(name string) string { return StreamMetaPrefix + name + ".origin.json" }

// RenditionPrefix is where rendition rend of video (or recording) id has
// its segments and playlist.
func RenditionPrefix(id, rend string) string { return Prefix(id) + rend + "/" }

// LiveRenditionPrefix is where live stream name's rendition rend has its
// sliding-window playlist; the segments it names are the recording's.
func LiveRenditionPrefix(name, rend string) string { return LivePrefix(name) + rend + "/" }

// FromLiveRendition is the URI of key relative to a playlist under
// LiveRenditionPrefix, three folders below the bucket's root.
func FromLiveRendition(key string) string { return "../../../" + key }

// DownloadKey is the key of the MP4 download made from upload u; like
// the poster's, its name changes with the upload.
func DownloadKey(id string, u Upload) string {
	return Prefix(id) + "download-" + u.Revision() + ".mp4"
}

// StoryboardKey is the key of the WebVTT storyboard made from upload u,
// whose cues name regions of the sheets at StoryboardSheetKey (beside it).
func StoryboardKey(id string, u Upload) string {
	return Prefix(id) + "storyboard-" + u.Revision() + ".vtt"
}

// StoryboardSheetKey is the key of sheet n of the storyboard made from
// upload u.
func StoryboardSheetKey(id string, u Upload, n int) string {
	return Prefix(id) + "storyboard-" + u.Revision() + "-" + strconv.Itoa(n) + ".jpg"
}

// PosterKey is the key of the poster made from upload u; its name
// changes with the upload (Upload.Revision), so it can be cached for good.
func PosterKey(id string, u Upload) string {
	return Prefix(id) + "poster-" + u.Revision() + ".jpg"
}
