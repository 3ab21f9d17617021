package catalog

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/media"
)

// RevisionOf reads back the revision from every name the pipeline writes
// with one, and none from the names all revisions share.
func TestRevisionOf(t *testing.T) {
	var st Status
	st.Source.Size, st.Source.ETag = 10, "abc"
	rev := st.Source.Revision()
	for _, tt := range []struct {
		key, want string
	}{
		{Prefix("v") + "720p/" + media.SegmentName(rev, 0), rev},
		{Prefix("v") + "audio/" + media.SegmentName(rev, 12345), rev},
		{Prefix("v") + "720p/" + media.PlaylistName(rev), rev},
		{Prefix("v") + "720p/" + fmt.Sprintf(media.CMAFSegmentPattern(rev), 7), rev},
		{Prefix("v") + "720p/" + media.InitName(rev), rev},
		{Prefix("v") + "720p/" + media.InitName(""), ""},
		{Prefix("v") + "720p/" + fmt.Sprintf(media.CMAFSegmentPattern(""), 7), ""},
		{Prefix("v") + "720p/init_AB.mp4", ""},
		{Prefix("v") + "720p/seg_" + rev + "_x.m4s", ""},
		{PosterKey("v", st.Source), rev},
		{DownloadKey("v", st.Source), rev},
		{StoryboardKey("v", st.Source), rev},
		{StoryboardSheetKey("v", st.Source, 12), rev},
		{Prefix("v") + "storyboard-" + rev + "-x.jpg", ""},
		{Prefix("v") + "storyboard-" + rev + ".jpg", ""},
		{Prefix("v") + "download.mp4", ""},
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
	old := Status{ID: "v", State: StateReady, Progress: 1, Playback: MasterKey("v")}
	old.Source.Size, old.Source.ETag = 4, "1"
	b, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "replacement") {
		t.Errorf("status without a replacement has the key: %s", b)
	}
	with := old
	next := old.Source
	next.Size, next.ETag = 5, "2"
	with.Replacement = NewReplacement(next)
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
