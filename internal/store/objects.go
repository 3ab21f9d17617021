package store

import (
	"path"
	"strings"
)

// Cache-Control policies. Segments never change once written; a VOD
// playlist only changes if the video is re-processed, which rewrites it
// whole; status documents change while a job runs.
const (
	CacheImmutable   = "public, max-age=31536000, immutable"
	CacheVODPlaylist = "public, max-age=86400"
	CacheNoCache     = "no-cache"
)

// ContentType returns the MIME type players and CDNs expect for an HLS
// output file, judged by its extension.
func ContentType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".m3u8":
		return "application/vnd.apple.mpegurl"
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
	case ".m3u8", ".jpg", ".jpeg": // a poster is remade when the video is
		return CacheVODPlaylist
	case ".json":
		return CacheNoCache
	default:
		return CacheImmutable
	}
}
