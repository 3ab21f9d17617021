package catalog

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/media"
)

// RevisionOf reads back the revision from every name the pipeline writes
// with one, and none from the names all revisions share.
func TestRevisionOf(t *testing.T) {
	src := Source{Bucket: "uploads", Key: "a.mp4", Size: 10, ETag: "abc"}
	rev := src.Revision()
	for _, tt := range []struct {
		key, want string
	}{
		{Prefix("v") + "720p/" + media.SegmentName(rev, 0), rev},
		{Prefix("v") + "audio/" + media.SegmentName(rev, 12345), rev},
		{Prefix("v") + "720p/" + media.PlaylistName(rev), rev},
		{PosterKey("v", src), rev},
		{Prefix("v") + "720p/" + media.PlaylistName(""), ""},
		{Prefix("v") + "720p/" + media.SegmentName("", 3), ""},
		{MasterKey("v"), ""},
		{StatusKey("v"), ""},
		{Prefix("v") + "720p/seg_" + rev + "_x.ts", ""},
		{Prefix("v") + "720p/index_.m3u8", ""},
		{Prefix("v") + "720p/index_AB.m3u8", ""},
		{Prefix("v") + "poster-../x.jpg", ""},
	} {
		if got := RevisionOf(tt.key); got != tt.want {
			t.Errorf("RevisionOf(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

// A status without a replacement reads as before (no "replacement" key);
// with one, the fields around it still describe what plays.
func TestReplacementIsAdditive(t *testing.T) {
	old := Status{ID: "v", State: StateReady, Progress: 1, Source: Source{Key: "a.mp4", ETag: "1"}, Playback: MasterKey("v")}
	b, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "replacement") {
		t.Errorf("status without a replacement has the key: %s", b)
	}
	with := old
	with.Replacement = NewReplacement(Source{Key: "a.mp4", ETag: "2", Size: 5})
	b, err = json.Marshal(with)
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	r, _ := generic["replacement"].(map[string]any)
	if generic["state"] != "ready" || generic["playback"] != MasterKey("v") || r["state"] != "processing" ||
		r["revision"] != with.Replacement.Source.Revision() {
		t.Errorf("status with a replacement: %s", b)
	}
}
