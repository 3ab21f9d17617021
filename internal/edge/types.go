package edge

import (
	"mime"

	"github.com/hlsflow/hlsflow/internal/store"
)

// playerTypes are the media types the edge serves as stored: what HLS
// players, <img> and the page read, none of which a browser runs as a
// document or a script. HTML, XML, SVG, JavaScript and the rest are not
// here: anyone who can write to the bucket could otherwise publish a page
// on the edge's origin, next to the page that keeps the API token. The
// DASH manifest is XML that browsers would render, so like every media
// response it carries the sandboxing Content-Security-Policy (media.go),
// under which no script of it runs.
var playerTypes = map[string]bool{
	"application/vnd.apple.mpegurl": true,
	"application/x-mpegurl":         true,
	"audio/mpegurl":                 true,
	"audio/x-mpegurl":               true,
	"application/dash+xml":          true,
	"video/mp2t":                    true,
	"video/mp4":                     true,
	"video/iso.segment":             true,
	"audio/mp4":                     true,
	"application/mp4":               true,
	"audio/aac":                     true,
	"audio/mpeg":                    true,
	"image/jpeg":                    true,
	"image/png":                     true,
	"image/webp":                    true,
	"image/avif":                    true,
	"application/json":              true,
	"text/vtt":                      true,
}

// downloadType is what any other object is served as, with
// Content-Disposition: attachment.
const downloadType = "application/octet-stream"

// servedType is the Content-Type the edge gives the object at key stored
// with ctype, and whether it is to be downloaded rather than shown. An
// object stored without a type, or as generic binary, is judged by its
// extension, as players want the HLS types.
func servedType(key, ctype string) (string, bool) {
	base, _, err := mime.ParseMediaType(ctype)
	if err != nil || base == "binary/octet-stream" || base == downloadType {
		ctype = store.ContentType(key)
		base = ctype
	}
	if playerTypes[base] {
		return ctype, false
	}
	return downloadType, true
}
