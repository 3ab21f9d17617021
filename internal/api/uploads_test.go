package api

import (
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
)

func TestSafeName(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "clip.mp4", "clip.mp4"},
		{"spaces and parens", "My Clip (1).mp4", "My-Clip-1.mp4"},
		{"non-ascii stem", "видео.mp4", "video.mp4"},
		{"mixed", "été 2024.MOV", "t-2024.MOV"},
		{"path", "../../etc/passwd", "passwd"},
		{"windows path", `C:\\Users\\x\\clip one.mkv`, "clip-one.mkv"},
		{"dot file", ".hidden", "video.hidden"},
		{"no name", "", "video"},
		{"only dots", "...", "video"},
		{"long", strings.Repeat("a", 300) + ".mp4", strings.Repeat("a", 96) + ".mp4"},
		{"long extension dropped", "a." + strings.Repeat("x", 20), "a"},
		{"query-like", "a?b=c&d.mp4", "a-b-c-d.mp4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := safeName(tt.in)
			if got != tt.want {
				t.Errorf("safeName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if len(got) > 100 {
				t.Errorf("safeName(%q) is %d bytes", tt.in, len(got))
			}
		})
	}
}

func TestUploadKey(t *testing.T) {
	now := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	a, err := uploadKey(now, "clip.mp4")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := uploadKey(now, "clip.mp4")
	if a == b || catalog.VideoID(a) == catalog.VideoID(b) {
		t.Errorf("two uploads of clip.mp4 at the same time collide: %q, %q", a, b)
	}
	if !strings.HasPrefix(a, "20261126T060000Z-") || !strings.HasSuffix(a, "/clip.mp4") {
		t.Errorf("key %q", a)
	}
	if id := catalog.VideoID(a); !strings.HasPrefix(id, "clip-") || !catalog.ValidID(id) {
		t.Errorf("id %q", id)
	}
}
