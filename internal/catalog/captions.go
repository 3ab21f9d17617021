package catalog

// Caption is one subtitles rendition of a video as status.json tells it.
type Caption struct {
	Language string `json:"language"` // BCP 47
	Name     string `json:"name"`
	URI      string `json:"uri"` // its WebVTT file, a key in the media bucket
}

// CaptionsMetaPrefix holds the captions of each video as sent (checked
// WebVTT), one record per caption under CaptionsMetaPrefix + id + "/":
// never served. What players load is made from them for the revision
// that plays.
const CaptionsMetaPrefix = "captions-meta/"

// CaptionKey is the key of caption slot's WebVTT file made for upload
// revision rev, hash naming its content (cached for good like segments).
func CaptionKey(id, slot, rev, hash string) string {
	return Prefix(id) + "subs/" + slot + "/cap_" + rev + "_" + hash + ".vtt"
}
