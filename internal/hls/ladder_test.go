package hls

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// Further audio tracks join the default in the audio group with their
// labels and languages, a variant's BANDWIDTH covers the most demanding
// track, and subtitles are offered with every variant; a master read back
// keeps them, and SetSubtitles(nil) takes them away.
func TestLadderTracksAndSubtitles(t *testing.T) {
	l := Ladder{Playlist: "index.m3u8",
		Video:     []Rendition{{Name: "720p", Width: 1280, Height: 720, Codecs: "avc1.64001f", Bandwidth: 3_000_000}},
		Audio:     &Rendition{Name: "audio", Codecs: "mp4a.40.2", Channels: 2, Bandwidth: 130_000},
		MoreAudio: []Rendition{{Name: "audio2", Codecs: "mp4a.40.2", Channels: 2, Bandwidth: 150_000}},
		Tracks:    map[string]TrackInfo{"audio": {Language: "en", Label: "English"}, "audio2": {Language: "fr", Label: "Commentaire"}},
		Subtitles: []Subtitles{{Language: "es", Name: "Español", URI: "subs/a/index.m3u8"}},
	}
	b, err := l.Master().Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"`,
		`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="Commentaire",LANGUAGE="fr",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="2",URI="audio2/index.m3u8"`,
		`#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Español",LANGUAGE="es",DEFAULT=NO,AUTOSELECT=YES,URI="subs/a/index.m3u8"`,
		`#EXT-X-STREAM-INF:BANDWIDTH=3150000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="aac",SUBTITLES="subs"`,
	} {
		if !strings.Contains(string(b), want+"\n") {
			t.Errorf("master lacks\n%s\n%s", want, b)
		}
	}
	m, err := ParseMaster(b)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := m.Encode()
	if string(again) != string(b) {
		t.Errorf("read back:\n%s\nwant\n%s", again, b)
	}
	m.SetSubtitles(nil)
	if out, _ := m.Encode(); strings.Contains(string(out), "SUBTITLES") {
		t.Errorf("subtitles left:\n%s", out)
	}
	if _, err := SubtitlesPlaylist("a.vtt", 0); err == nil {
		t.Error("a subtitles playlist of no duration")
	}
}
