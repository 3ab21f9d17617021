package hls

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestLadderMasterGolden builds the master of the ladders VOD and live
// publish and compares it with testdata/ladder_*.m3u8, followed by the
// renditions that have a playlist of their own.
func TestLadderMasterGolden(t *testing.T) {
	audio := Rendition{Name: "audio", Codecs: "mp4a.40.2", Channels: 2, Bandwidth: 140_000, AverageBandwidth: 131_000}
	r720 := Rendition{Name: "720p", Width: 1280, Height: 720, FrameRate: 25, Codecs: "avc1.64001f", Bandwidth: 3_300_000, AverageBandwidth: 2_950_000}
	r360 := Rendition{Name: "360p", Width: 640, Height: 360, FrameRate: 29.97002997, Codecs: "avc1.4d401e", Bandwidth: 900_000}
	tests := []struct {
		name   string
		ladder Ladder
	}{
		{"vod", Ladder{Video: []Rendition{r720, r360}, Audio: &audio, Playlist: "index_3fa9c2d1.m3u8"}},
		{"vod_audio_only", Ladder{Audio: &audio, Playlist: "index_3fa9c2d1.m3u8"}},
		{"live_muxed_audio", Ladder{Video: []Rendition{r720, r360}, Audio: &audio, MuxedAudio: true, Playlist: "index.m3u8"}},
		{"live_radio", Ladder{Audio: &audio, MuxedAudio: true, Playlist: "index.m3u8"}},
		{"live_no_audio", Ladder{Video: []Rendition{r360}, MuxedAudio: true, Playlist: "index.m3u8"}},
		{"empty", Ladder{Playlist: "index.m3u8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.ladder.Master().Encode()
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range tt.ladder.Renditions() {
				got = fmt.Appendf(got, "# rendition %+v\n", r)
			}
			path := filepath.Join("testdata", "ladder_"+tt.name+".m3u8")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("master differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
			}
			if _, err := ParseMaster(got); err != nil && len(tt.ladder.Renditions()) > 0 {
				t.Errorf("the master does not parse back: %v", err)
			}
		})
	}
}
