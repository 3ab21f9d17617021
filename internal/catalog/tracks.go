package catalog

import "github.com/hlsflow/hlsflow/internal/hls"

// AudioTrack is one audio rendition of a video as status.json tells it:
// what a track picker shows.
type AudioTrack struct {
	Language string `json:"language,omitempty"` // BCP 47, when the source said
	Name     string `json:"name"`
	Default  bool   `json:"default"`
}

// AudioTracks lists the audio renditions a master offers players, in its
// order (the default first); none when the audio is in the variants.
func AudioTracks(m *hls.MasterPlaylist) []AudioTrack {
	var ts []AudioTrack
	for _, x := range m.Media {
		if x.Type == hls.MediaAudio {
			ts = append(ts, AudioTrack{Language: x.Language, Name: x.Name, Default: x.Default})
		}
	}
	return ts
}
