package catalog

// ClipOf tells, in a clip's status.json, what it was cut from: a video's
// id, or a live stream's name with Live set, and the span it covers there
// (seconds from the start of the video, or of the stream's DVR window
// as it was when the clip was made). A clip's start and end are those of
// whole segments, which is what it plays.
type ClipOf struct {
	ID    string  `json:"id"`
	Live  bool    `json:"live,omitempty"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}
