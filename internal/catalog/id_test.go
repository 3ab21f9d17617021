package catalog

import (
	"path"
	"strings"
	"testing"
)

func TestVideoID(t *testing.T) {
	tests := []struct {
		name, key, wantPrefix string
	}{
		{"plain", "clip.mp4", "clip-"},
		{"spaces and parens", "uploads/My Video (1).mp4", "my-video-1-"},
		{"non-ascii only", "видео.mp4", "video-"},
		{"mixed", "été 2024/Café-Noir.MOV", "caf-noir-"},
		{"traversal", "../../etc/passwd", "passwd-"},
		{"no extension", "raw", "raw-"},
		{"dot file", ".hidden", "hidden-"},
		{"long", strings.Repeat("a", 300) + ".mp4", strings.Repeat("a", maxSlug) + "-"},
		{"backslashes", `C:\Users\x\clip one.mp4`, "clip-one-"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := VideoID(tt.key)
			if !strings.HasPrefix(id, tt.wantPrefix) {
				t.Errorf("VideoID(%q) = %q, want prefix %q", tt.key, id, tt.wantPrefix)
			}
			if !ValidID(id) {
				t.Errorf("VideoID(%q) = %q is not a valid id", tt.key, id)
			}
			if VideoID(tt.key) != id {
				t.Errorf("VideoID(%q) not stable", tt.key)
			}
			if other, ok := seen[id]; ok {
				t.Errorf("keys %q and %q share id %q", other, tt.key, id)
			}
			seen[id] = tt.key
		})
	}
}

func TestVideoIDDistinguishesKeysWithSameSlug(t *testing.T) {
	a, b := VideoID("a/clip.mp4"), VideoID("b/clip.mp4")
	if a == b {
		t.Fatalf("different keys gave the same id %q", a)
	}
}

func TestValidID(t *testing.T) {
	for _, tt := range []struct {
		id   string
		want bool
	}{
		{"clip-0123456789ab", true},
		{"..", false},
		{"a/b", false},
		{"", false},
		{"-lead", false},
		{"Upper", false},
		{"a--b", false},
		{"%2e%2e", false},
	} {
		if got := ValidID(tt.id); got != tt.want {
			t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestSourceRevision(t *testing.T) {
	a := Source{Bucket: "uploads", Key: "talk.mp4", Upload: Upload{Size: 1000, ETag: "9b2cf535f27731c974343645a3985328"}}
	rev := a.Revision()
	if len(rev) != 8 || strings.Trim(rev, "0123456789abcdef") != "" {
		t.Fatalf("revision %q, want 8 hex digits", rev)
	}
	if a.Revision() != rev {
		t.Error("revision of the same upload changed")
	}
	// Where the upload lives does not matter, its content does.
	moved := a
	moved.Bucket, moved.Key = "other", "other.mp4"
	if moved.Revision() != rev {
		t.Error("revision depends on the key, not only on the upload's content")
	}
	for _, other := range []Source{
		{Bucket: "uploads", Key: "talk.mp4", Upload: Upload{Size: 1000, ETag: "0c2cf535f27731c974343645a3985328"}},
		{Bucket: "uploads", Key: "talk.mp4", Upload: Upload{Size: 1001, ETag: a.ETag}},
		{Bucket: "uploads", Key: "talk.mp4", Upload: Upload{Size: 1000, ETag: "9b2cf535f27731c974343645a3985328-2"}},
	} {
		if other.Revision() == rev {
			t.Errorf("%+v has the same revision as %+v", other, a)
		}
	}
	if k := PosterKey("talk", a.Upload); k != "vod/talk/poster-"+rev+".jpg" {
		t.Errorf("poster key %q", k)
	}
	if k := DownloadKey("talk", a.Upload); k != "vod/talk/download-"+rev+".mp4" {
		t.Errorf("download key %q", k)
	}
}

// TestLayout pins the media bucket's keys that players, the CDN and the
// API rely on.
func TestLayout(t *testing.T) {
	for got, want := range map[string]string{
		Prefix("clip-0123456789ab"):                     "vod/clip-0123456789ab/",
		MasterKey("clip-0123456789ab"):                  "vod/clip-0123456789ab/master.m3u8",
		StatusKey("clip-0123456789ab"):                  "vod/clip-0123456789ab/status.json",
		LivePrefix("desk"):                              "live/desk/",
		LiveMasterKey("desk"):                           "live/desk/master.m3u8",
		RenditionPrefix("desk-20250101-120000", "720p"): "vod/desk-20250101-120000/720p/",
		LiveRenditionPrefix("desk", "720p"):             "live/desk/720p/",
	} {
		if got != want {
			t.Errorf("key %q, want %q", got, want)
		}
	}
	// A live playlist names the recording's segments relative to itself.
	seg := RenditionPrefix("desk-20250101-120000", "720p") + "seg_00000.ts"
	if got := path.Join(LiveRenditionPrefix("desk", "720p"), FromLiveRendition(seg)); got != seg {
		t.Errorf("a live playlist's segment URI resolves to %q, want %q", got, seg)
	}
}
