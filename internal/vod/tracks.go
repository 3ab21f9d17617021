package vod

import (
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
)

// addMoreAudio offers the ladder's further audio tracks beside its first
// in hl, with the language and label of each, at their measured rates.
func addMoreAudio(hl *hls.Ladder, l media.Ladder, rates map[string]hls.Rate) {
	if len(l.MoreAudio) == 0 {
		return
	}
	hl.Tracks = map[string]hls.TrackInfo{l.Audio.Name: {Language: l.Audio.Language, Label: l.Audio.Label}}
	for _, a := range l.MoreAudio {
		r := rates[a.Name]
		hl.MoreAudio = append(hl.MoreAudio, hls.Rendition{Name: a.Name, Codecs: a.Codecs(), Channels: a.Channels,
			Bandwidth: r.Peak, AverageBandwidth: r.Average})
		hl.Tracks[a.Name] = hls.TrackInfo{Language: a.Language, Label: a.Label}
	}
}
