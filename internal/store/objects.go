package store

import (
	"path"
	"strings"
)

// Cache-Control policies. Segments and posters never change once written
// (their names carry the upload's revision); a VOD playlist keeps its URL
// when a new upload under the same key is processed, so caches may keep it
// only briefly, and a replaced video plays everywhere within that time;
// status documents change while a job runs.
const (
	CacheImmutable   = "public, max-age=31536000, immutable"
	CacheVODPlaylist = "public, max-age=10"
	CacheNoCache     = "no-cache"
)

// ContentType returns the MIME type players and CDNs expect for an HLS
// output file, judged by its extension.
func ContentType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".m3u8":
		return "application/vnd.apple.mpegurl"
	case ".mpd":
		return "application/dash+xml"
	case ".ts":
		return "video/mp2t"
	case ".m4s":
		return "video/iso.segment"
	case ".mp4":
		return "video/mp4"
	case ".aac":
		return "audio/aac"
	case ".json":
		return "application/json"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".vtt":
		return "text/vtt"
	default:
		return "application/octet-stream"
	}
}

// CacheControlVOD returns the Cache-Control for a finished on-demand output.
func CacheControlVOD(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".m3u8", ".mpd":
		return CacheVODPlaylist
	case ".json":
		return CacheNoCache
	default:
		return CacheImmutable
	}
}
