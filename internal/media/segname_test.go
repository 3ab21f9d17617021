package media

import "testing"

func TestSegmentName(t *testing.T) {
	for _, tc := range []struct {
		rev  string
		n    int
		want string
	}{
		{"", 0, "seg_00000.ts"},
		{"", 123, "seg_00123.ts"},
		{"3fa9c2d1", 7, "seg_3fa9c2d1_00007.ts"},
		{"3fa9c2d1", 123456, "seg_3fa9c2d1_123456.ts"},
	} {
		if got := SegmentName(tc.rev, tc.n); got != tc.want {
			t.Errorf("SegmentName(%q, %d) = %q, want %q", tc.rev, tc.n, got, tc.want)
		}
	}
}

func TestValidRevision(t *testing.T) {
	for rev, want := range map[string]bool{
		"": true, "3fa9c2d1": true, "abc123xyz": true,
		"3FA9": false, "a/b": false, "..": false, "%05d": false, "a b": false, "a_b": false,
		"0123456789abcdef0123456789abcdef": true, "0123456789abcdef0123456789abcdef0": false,
	} {
		if got := ValidRevision(rev); got != want {
			t.Errorf("ValidRevision(%q) = %v, want %v", rev, got, want)
		}
	}
}

func TestPlaylistName(t *testing.T) {
	if got := PlaylistName(""); got != "index.m3u8" {
		t.Errorf("PlaylistName(\"\") = %q", got)
	}
	if got := PlaylistName("3fa9c2d1"); got != "index_3fa9c2d1.m3u8" {
		t.Errorf("PlaylistName(3fa9c2d1) = %q", got)
	}
}
