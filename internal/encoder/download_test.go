package encoder

import (
	"slices"
	"strings"
	"testing"
)

// The download is a remux: copy, never encode; only local MPEG-TS read;
// moov first; one input per rendition given.
func TestDownloadArgs(t *testing.T) {
	for _, tt := range []struct {
		name, video, audio string
		maps               []string
	}{
		{"video and audio", "/w/720p.ts", "/w/audio.ts", []string{"0:v:0", "1:a:0"}},
		{"video only", "/w/720p.ts", "", []string{"0:v:0"}},
		{"audio only", "", "/w/audio.ts", []string{"0:a:0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := DownloadArgs(tt.video, tt.audio, "/w/download.mp4")
			var maps, inputs []string
			for i, s := range a {
				switch s {
				case "-map":
					maps = append(maps, a[i+1])
				case "-i":
					inputs = append(inputs, a[i+1])
					if a[i-2] != "-f" || a[i-1] != "mpegts" || a[i-6] != "-protocol_whitelist" || a[i-5] != "file" {
						t.Errorf("input %s not locked to local MPEG-TS: %q", a[i+1], a[max(0, i-6):i])
					}
				case "-c:v", "-c:a", "libx264", "aac", "-filter_complex", "-vf":
					t.Errorf("a remux has %s: %q", s, a)
				}
			}
			if !slices.Equal(maps, tt.maps) || len(inputs) != len(tt.maps) {
				t.Errorf("maps %q inputs %q, want maps %q", maps, inputs, tt.maps)
			}
			if j := strings.Join(a, " "); !strings.Contains(j, "-c copy") || !strings.Contains(j, "-movflags +faststart") ||
				!strings.HasSuffix(j, "-f mp4 -y /w/download.mp4") {
				t.Errorf("args %q", j)
			}
		})
	}
	if a := DownloadArgs("", "", "/w/d.mp4"); a != nil {
		t.Errorf("nothing to remux: %q", a)
	}
}
