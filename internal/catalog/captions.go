package catalog

// Caption is one subtitles rendition of a video as status.json tells it.
type Caption struct {
	Language string `json:"language"` // BCP 47
	Name     string `json:"name"`
	URI      string `json:"uri"` // its WebVTT file, a key in the media bucket
}
